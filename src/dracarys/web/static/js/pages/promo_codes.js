// The admins' promo codes: create one (a percent or a fixed amount off, a validity window,
// limits in all and per member, what it pays for), list every code with its uses and the
// uses remaining, and deactivate one. Every figure comes from the admin promo code API.

import { ApiError, api } from "../api.js";
import { fieldProblem, toMinor } from "../amounts.js";
import {
  byId, clearFormError, el, fillTable, flash, money, showFormError, signedInShell, when,
} from "../ui.js";

await signedInShell();

const form = /** @type {HTMLFormElement} */ (byId("promo-form"));
const kind = /** @type {HTMLSelectElement} */ (byId("promo-kind"));
const KIND_NAMES = {
  session: "sessions", cohort: "cohort seats", signal_feed: "signal feeds", package: "packages",
};
const STATUS = {
  active: "Active", scheduled: "Not started", expired: "Expired", used_up: "Used up",
  deactivated: "Deactivated",
};

function showKindFields() {
  const fixed = kind.value === "fixed";
  byId("percent-field").hidden = fixed;
  byId("amount-field").hidden = !fixed;
  byId("currency-field").hidden = !fixed;
}
kind.addEventListener("change", showKindFields);
showKindFields();

/** "12.5" percent as basis points (1250), exactly; throws a sentence when it is not one. */
function toBps(text) {
  const match = /^(\d{1,3})(?:\.(\d{1,2}))?$/.exec(String(text).trim());
  const bps = match ? Number(match[1]) * 100 + Number((match[2] || "").padEnd(2, "0")) : NaN;
  if (!match || bps < 1 || bps > 10_000) {
    throw new Error("Type a percent between 0.01 and 100, such as 20 or 12.5.");
  }
  return bps;
}

/** A datetime-local value (the admin's local time) as an instant, or null when empty. */
function instant(name) {
  const value = /** @type {HTMLInputElement} */ (form.elements.namedItem(name)).value;
  return value ? new Date(value).toISOString() : null;
}

function count(name) {
  const value = /** @type {HTMLInputElement} */ (form.elements.namedItem(name)).value.trim();
  return value ? Number(value) : null;
}

/** The form as the API's body; a field the page can check itself is refused here. */
function body() {
  const text = (name) => /** @type {HTMLInputElement} */ (form.elements.namedItem(name)).value.trim();
  /** @type {Record<string, unknown>} */
  const data = { code: text("code"), kind: kind.value };
  if (!data.code) throw fieldProblem("code", "Type the code buyers will enter.");
  if (kind.value === "fixed") {
    const currency = text("currency");
    try {
      data.value_minor = toMinor(text("value_minor"), currency);
    } catch (error) {
      throw fieldProblem("value_minor", error instanceof Error ? error.message : String(error));
    }
    data.currency = currency;
  } else {
    try {
      data.percent_bps = toBps(text("percent_bps"));
    } catch (error) {
      throw fieldProblem("percent_bps", error instanceof Error ? error.message : String(error));
    }
  }
  const validFrom = instant("valid_from");
  const expiresAt = instant("expires_at");
  if (validFrom) data.valid_from = validFrom;
  if (expiresAt) data.expires_at = expiresAt;
  for (const name of ["max_uses", "max_uses_per_user"]) {
    const value = count(name);
    if (value === null) continue;
    if (!Number.isInteger(value) || value < 1) throw fieldProblem(name, "Type a whole number of uses, 1 or more, or leave it empty.");
    data[name] = value;
  }
  const kinds = [...form.querySelectorAll("input[name='purchase_kinds']:checked")]
    .map((box) => /** @type {HTMLInputElement} */ (box).value);
  if (kinds.length) data.purchase_kinds = kinds;
  const description = text("description");
  if (description) data.description = description;
  return data;
}

function takesOff(code) {
  return code.kind === "percent"
    ? `${(code.percent_bps / 100).toLocaleString("en-US")}%`
    : money(code.value_minor, code.currency);
}

function validity(code) {
  return code.expires_at ? `${when(code.valid_from)} – ${when(code.expires_at)}` : `from ${when(code.valid_from)}, no end`;
}

function row(code) {
  const status = el("td", {}, STATUS[code.status] || code.status);
  const actions = el("td", {});
  if (code.status !== "deactivated" && code.status !== "expired") {
    const ask = el("button", { type: "button", "aria-label": `Deactivate ${code.code}` }, "Deactivate");
    ask.addEventListener("click", () => {
      const confirm = el("button", { type: "button", class: "primary" }, `Yes, deactivate ${code.code}`);
      const keep = el("button", { type: "button" }, "Keep it");
      confirm.addEventListener("click", () => deactivate(code.code));
      keep.addEventListener("click", () => load());
      actions.replaceChildren(
        el("p", { class: "hint" }, "Checkouts will refuse it from now on; uses already made stand."),
        el("div", { class: "row" }, confirm, keep));
      confirm.focus();
    });
    actions.append(ask);
  }
  return el("tr", { dataset: { code: code.code } },
    el("td", {}, el("strong", {}, code.code), code.description ? el("div", { class: "hint" }, code.description) : null),
    el("td", {}, takesOff(code)),
    el("td", {}, validity(code)),
    el("td", {}, code.purchase_kinds ? code.purchase_kinds.map((k) => KIND_NAMES[k] || k).join(", ") : "everything"),
    el("td", { class: "num", dataset: { cell: "uses" } },
      `${code.uses}${code.max_uses_per_user ? ` (up to ${code.max_uses_per_user} each)` : ""}`),
    el("td", { class: "num", dataset: { cell: "remaining" } }, code.remaining === null ? "no limit" : String(code.remaining)),
    status,
    actions);
}

function twoFactorNeeded(error) {
  return error instanceof ApiError && Boolean(error.problem.extra?.two_factor_required);
}

/** Read the codes again; `done` says what the admin just did, in place of the count. */
async function load(done = "") {
  byId("codes-error").textContent = "";
  try {
    const codes = await api("/api/v1/admin/promo-codes");
    fillTable(byId("code-rows"), codes.map(row), "No promo code yet.");
    byId("codes-status").textContent = done ||
      (codes.length ? `${codes.length} promo code${codes.length === 1 ? "" : "s"}.` : "");
  } catch (error) {
    if (twoFactorNeeded(error)) {
      byId("codes-status").replaceChildren(
        "Promo codes open once you sign in with two-factor authentication. ",
        el("a", { href: "/account#two-factor" }, "Set up two-factor authentication"), ".");
      return;
    }
    byId("codes-status").textContent = "The promo codes could not be loaded.";
    flash(error instanceof Error ? error.message : String(error));
  }
}

async function deactivate(code) {
  let done = "";
  let failed = "";
  try {
    await api(`/api/v1/admin/promo-codes/${encodeURIComponent(code)}/deactivate`, { method: "POST" });
    done = `${code} is deactivated.`;
  } catch (error) {
    failed = error instanceof Error ? error.message : String(error);
  }
  await load(done);
  if (failed) byId("codes-error").textContent = failed;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearFormError(form);
  byId("promo-status").textContent = "";
  const submit = /** @type {HTMLButtonElement} */ (byId("promo-submit"));
  try {
    const data = body();
    submit.disabled = true;
    const created = await api("/api/v1/admin/promo-codes", { method: "POST", body: data });
    byId("promo-status").textContent = `Created ${created.code}: ${takesOff(created)} off.`;
    form.reset();
    showKindFields();
    await load();
  } catch (error) {
    showFormError(form, error);
  } finally {
    submit.disabled = false;
  }
});

await load();
