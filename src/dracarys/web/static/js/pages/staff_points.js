// Points review (reviewers and admins): the economy's health over the last 30 days; frozen
// accounts (unfreeze), fraud flags and open appeals (grant or reject); the earning rules
// with every version and, for admins, a form for a rule's next version and one for events.

import { api } from "../api.js";
import { byId, clearFormError, el, fillTable, flash, formValues, showFormError, signedInShell, when } from "../ui.js";

const POINTS = "/api/v1/points";
const points = (n) => `${Number(n).toLocaleString("en-US")} points`;

async function loadEconomy() {
  const e = await api(`${POINTS}/economy?days=30`);
  const fact = (label, value) => el("div", {}, el("dt", {}, label), el("dd", {}, value));
  byId("economy").replaceChildren(
    fact("Issued", points(e.issued)),
    fact("Redeemed", points(e.redeemed)),
    fact("Expired", points(e.expired)),
    fact("Taken back", points(e.clawed_back)),
    fact("Outstanding now", points(e.outstanding)),
    fact("Pending (money-tied)", points(e.pending)),
    fact("Members holding points", e.holders.toLocaleString("en-US")));
  byId("economy-status").textContent = e.issued
    ? `For every 100 points issued, ${Math.round((e.redeemed / e.issued) * 100)} were redeemed.`
    : "No points were issued in the last 30 days.";
}

async function unfreeze(userId) {
  try {
    await api(`${POINTS}/accounts/${userId}/unfreeze`, { method: "POST" });
    flash("Earning unfrozen.", "ok");
    await loadQueue();
  } catch (error) {
    flash(error instanceof Error ? error.message : String(error));
  }
}

function field(id, label, control) {
  return el("div", { class: "field" }, el("label", { for: id }, label), control,
    el("p", { class: "field-error", id: `${id}-error` }));
}

function appealForm(appeal) {
  const prefix = `appeal-${appeal.id}`;
  const node = el("form", { novalidate: true },
    el("fieldset", {},
      el("legend", {}, "Decision"),
      el("label", { class: "check" }, el("input", { type: "radio", name: "decision", value: "grant", checked: true }), " Grant"),
      el("label", { class: "check" }, el("input", { type: "radio", name: "decision", value: "reject" }), " Reject")),
    field(`${prefix}-points`, "Points to give (when granting, if the appeal names none)",
      el("input", { id: `${prefix}-points`, name: "points", inputmode: "numeric", autocomplete: "off", "aria-describedby": `${prefix}-points-error` })),
    field(`${prefix}-note`, "Note to the member",
      el("textarea", { id: `${prefix}-note`, name: "note", rows: 2, maxlength: 2000, "aria-describedby": `${prefix}-note-error` })),
    el("label", { class: "check" }, el("input", { type: "checkbox", name: "unfreeze" }), " Also unfreeze their earning"),
    el("p", { class: "form-error", role: "alert" }),
    el("button", { type: "submit", class: "primary" }, "Record the decision"));
  node.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFormError(node);
    const v = formValues(node);
    try {
      const decided = await api(`${POINTS}/appeals/${appeal.id}/decision`, {
        method: "POST",
        body: { decision: node.querySelector('input[name="decision"]:checked')?.value, note: v.note, unfreeze: v.unfreeze, ...(v.points ? { points: Number(v.points) } : {}) },
      });
      flash(decided.status === "granted" || decided.granted_points
        ? `Appeal granted${decided.granted_points ? `: ${points(decided.granted_points)}` : ""}.`
        : `Appeal ${decided.status}.`, "ok");
      await loadQueue();
    } catch (error) {
      showFormError(node, error);
    }
  });
  return node;
}

async function loadQueue() {
  const queue = await api(`${POINTS}/review-queue`);
  fillTable(byId("frozen"), queue.frozen_accounts.map((f) => el("tr", { dataset: { frozen: f.user_id } },
    el("td", {}, el("code", {}, f.user_id)),
    el("td", {}, when(f.frozen_at)),
    el("td", {}, f.reason || "—"),
    el("td", {}, el("button", { type: "button", onclick: () => unfreeze(f.user_id) }, "Unfreeze earning")))),
  "No account is frozen.");
  fillTable(byId("flags"), queue.fraud_flags.map((f) => el("tr", {},
    el("td", {}, when(f.created_at)),
    el("td", {}, f.kind === "ip" ? "One IP address" : f.kind === "device" ? "One device" : f.kind),
    el("td", {}, el("code", {}, f.subject)),
    el("td", {}, f.user_ids.map((id) => el("code", {}, id)).reduce((list, node) => [...list, list.length ? ", " : "", node], [])))),
  "No open fraud flag.");
  byId("appeals-status").textContent = queue.open_appeals.length
    ? `${queue.open_appeals.length} open appeal${queue.open_appeals.length === 1 ? "" : "s"}.`
    : "No appeal is waiting.";
  byId("appeals").replaceChildren(...queue.open_appeals.map((a) => el("li", { dataset: { appeal: a.id } },
    el("strong", {}, `Member ${a.user_id}`),
    el("p", { class: "hint" }, `Appealed ${when(a.created_at)}`),
    el("p", {}, a.message),
    appealForm(a))));
}

async function loadRules() {
  const versions = await api(`${POINTS}/rule-versions`);
  const byCode = new Map();
  for (const rule of versions) byCode.set(rule.code, [...(byCode.get(rule.code) || []), rule]);
  fillTable(byId("rules"), [...byCode.values()].map(([current, ...earlier]) => el("tr", { dataset: { rule: current.code } },
    el("td", {}, current.title, el("br"), el("code", {}, current.code)),
    el("td", { class: "num" }, String(current.version)),
    el("td", { class: "num" }, current.kind === "fixed" ? String(current.points) : `${current.points} per unit`),
    el("td", { class: "num" }, current.daily_limit ?? "—"),
    el("td", { class: "num" }, current.monthly_limit ?? "—"),
    el("td", {}, current.active ? "Active" : "Switched off"),
    el("td", {}, earlier.length
      ? el("details", {}, el("summary", {}, `${earlier.length} earlier`),
        el("ul", {}, ...earlier.map((r) => el("li", {},
          `v${r.version}: ${r.points} points, caps ${r.daily_limit ?? "—"}/${r.monthly_limit ?? "—"}, ${r.active ? "active" : "off"}`))))
      : "None"))),
  "No rules.");
  const select = /** @type {HTMLSelectElement} */ (byId("rule-code"));
  const chosen = select.value;
  select.replaceChildren(...[...byCode.values()].map(([r]) => el("option", { value: r.code }, `${r.title} (${r.code})`)));
  if (chosen) select.value = chosen;
}

async function loadEvents() {
  const page = await api(`${POINTS}/rules`, { auth: false });
  const list = byId("events");
  list.replaceChildren(...page.events.map((e) => el("li", {},
    el("strong", {}, `${e.name}: ×${e.multiplier_pct / 100}`),
    el("p", { class: "hint" }, `${when(e.starts_at)} to ${when(e.ends_at)} · ${e.rule_codes.join(", ")}`))));
  if (!page.events.length) list.append(el("li", { class: "hint" }, "No event is running or planned."));
}

function wireRuleForm() {
  const form = /** @type {HTMLFormElement} */ (byId("rule-form"));
  form.hidden = false;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFormError(form);
    const v = formValues(form);
    const body = {};
    for (const name of ["points", "daily_limit", "monthly_limit"]) if (v[name] !== "") body[name] = Number(v[name]);
    if (v.active) body.active = v.active === "true";
    try {
      const rule = await api(`${POINTS}/rules/${encodeURIComponent(String(v.code))}/versions`, { method: "POST", body });
      flash(`${rule.title} is now at version ${rule.version}.`, "ok");
      await loadRules();
    } catch (error) {
      showFormError(form, error);
    }
  });
}

function wireEventForm() {
  const form = /** @type {HTMLFormElement} */ (byId("event-form"));
  form.hidden = false;
  const instant = (value) => (value ? new Date(String(value)).toISOString() : value);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFormError(form);
    const v = formValues(form);
    try {
      await api(`${POINTS}/events`, {
        method: "POST",
        body: {
          name: v.name,
          rule_codes: String(v.rule_codes).split(",").map((c) => c.trim()).filter(Boolean),
          multiplier_pct: Number(v.multiplier_pct),
          starts_at: instant(v.starts_at),
          ends_at: instant(v.ends_at),
        },
      });
      flash("Event created.", "ok");
      form.reset();
      await loadEvents();
    } catch (error) {
      showFormError(form, error);
    }
  });
}

async function main() {
  const me = await signedInShell();
  if (me.role === "admin") {
    wireRuleForm();
    wireEventForm();
  }
  await Promise.all([loadEconomy(), loadQueue(), loadRules(), loadEvents()]);
}

main().catch((error) => {
  if (error instanceof Error && /not signed in|may not use/.test(error.message)) return;
  flash(`Could not load the points review: ${error instanceof Error ? error.message : error}`);
});
