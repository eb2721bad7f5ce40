// The admins' notification texts: every (notification, channel, language) text with its
// active version; one opened in the editor shows the values it may use, a live preview
// filled with the notification's sample values (and what saving would refuse, as
// sentences), saves as a new version, and lists the versions with a way back to each.
// Every text and figure comes from the admin notification templates API.

import { ApiError, api } from "../api.js";
import { byId, clearFormError, el, fill, fillTable, flash, signedInShell, when } from "../ui.js";

await signedInShell();

const BASE = "/api/v1/admin/notification-templates";
const CHANNELS = { in_app: "In-app", email: "E-mail", sms: "SMS" };
const LANGUAGES = { en: "English", sw: "Swahili" };
const form = /** @type {HTMLFormElement} */ (byId("template-form"));
const subject = /** @type {HTMLInputElement} */ (byId("template-subject"));
const body = /** @type {HTMLTextAreaElement} */ (byId("template-body"));
const languageFilter = /** @type {HTMLSelectElement} */ (byId("filter-language"));

/** @type {{kind: string, channel: string, language: string} | null} */
let open = null;
/** @type {any[]} */
let texts = [];
let previewTimer = 0;
let previewRound = 0;

const kindName = (kind) =>
  (kind[0].toUpperCase() + kind.slice(1).replaceAll("_", " ")).replace(/^Kyc /, "KYC ");
const pathOf = (t) => `${BASE}/${t.kind}/${t.channel}/${t.language}`;
const nameOf = (t) => `${kindName(t.kind)} · ${CHANNELS[t.channel]} · ${LANGUAGES[t.language]}`;
const versionName = (v) => (v === 0 ? "Built in (0)" : `Version ${v}`);

function textRow(t) {
  const edit = el("button", { type: "button", "aria-label": `Edit ${nameOf(t)}` }, "Edit");
  edit.addEventListener("click", () => openEditor(t));
  return el("tr", { dataset: { text: `${t.kind}/${t.channel}/${t.language}` } },
    el("td", {}, kindName(t.kind)),
    el("td", {}, CHANNELS[t.channel]),
    el("td", {}, LANGUAGES[t.language]),
    el("td", { dataset: { cell: "version" } }, versionName(t.version)),
    el("td", {}, t.subject ?? "—"),
    el("td", {}, edit));
}

function showTexts() {
  const shown = texts.filter((t) => !languageFilter.value || t.language === languageFilter.value);
  fillTable(byId("text-rows"), shown.map(textRow), "No notification text.");
  byId("texts-status").textContent = `${shown.length} texts.`;
  // The download holds the rows shown: the same language filter, applied by the API.
  const language = languageFilter.value ? `?language=${languageFilter.value}` : "";
  byId("texts-download").dataset.download = `${BASE}.csv${language}`;
}
languageFilter.addEventListener("change", showTexts);

function twoFactorNeeded(error) {
  return error instanceof ApiError && Boolean(error.problem.extra?.two_factor_required);
}

async function loadTexts() {
  byId("texts-error").textContent = "";
  try {
    texts = await api(BASE);
    showTexts();
  } catch (error) {
    if (twoFactorNeeded(error)) {
      byId("texts-status").replaceChildren(
        "Notification texts open once you sign in with two-factor authentication. ",
        el("a", { href: "/account#two-factor" }, "Set up two-factor authentication"), ".");
      return;
    }
    byId("texts-status").textContent = "The notification texts could not be loaded.";
    flash(error instanceof Error ? error.message : String(error));
  }
}

/** Each field's problems, all of them, as sentences beside it. */
function showProblems(problems) {
  clearFormError(form);
  /** @type {Record<string, string[]>} */
  const byField = {};
  for (const { field, message } of problems) (byField[field] ||= []).push(message);
  for (const [field, messages] of Object.entries(byField)) {
    const control = field === "subject" ? subject : body;
    control.setAttribute("aria-invalid", "true");
    byId(`template-${field === "subject" ? "subject" : "body"}-error`).textContent = messages.join(" ");
  }
}

function historyRow(v) {
  const actions = el("td", {});
  if (!v.active) {
    const back = el("button", { type: "button", "aria-label": `Go back to ${versionName(v.version).toLowerCase()}` },
      "Go back to this version");
    back.addEventListener("click", () => revert(v.version));
    actions.append(back);
  } else {
    actions.append(el("span", { class: "badge" }, "In use"));
  }
  const by = v.reverted_from === null || v.reverted_from === undefined
    ? v.author : `${v.author} (back to ${versionName(v.reverted_from).toLowerCase()})`;
  return el("tr", { dataset: { version: String(v.version) } },
    el("td", {}, versionName(v.version)),
    el("td", {}, by),
    el("td", {}, v.created_at ? when(v.created_at) : "—"),
    el("td", {}, v.subject ?? "—"),
    el("td", { class: "pre-wrap" }, v.body),
    actions);
}

function showDetail(detail) {
  byId("editor-heading").textContent = `Edit: ${nameOf(detail)}`;
  const sms = detail.channel === "sms";
  byId("subject-field").hidden = sms;
  byId("subject-label").textContent = detail.channel === "email" ? "Subject" : "Title";
  subject.value = detail.subject ?? "";
  body.value = detail.body;
  const values = detail.variables.map((v) => `$${v}`).join(", ") || "none";
  const required = detail.required.map((v) => `$${v}`).join(", ");
  byId("editor-values").textContent = `Values it can use: ${values}.` +
    (required ? ` Every version must keep ${required}.` : "") +
    ` In use: ${versionName(detail.version).toLowerCase()}.`;
  fillTable(byId("history-rows"), detail.versions.map(historyRow), "No version yet.");
  schedulePreview(0);
}

async function openEditor(t) {
  open = { kind: t.kind, channel: t.channel, language: t.language };
  byId("template-status").textContent = "";
  byId("history-error").textContent = "";
  clearFormError(form);
  const editor = byId("editor");
  editor.hidden = false;
  try {
    showDetail(await api(pathOf(open)));
    editor.focus();
  } catch (error) {
    flash(error instanceof Error ? error.message : String(error));
  }
}

function draft() {
  return open && open.channel === "sms" ? { body: body.value } : { subject: subject.value, body: body.value };
}

function schedulePreview(delayMs = 250) {
  window.clearTimeout(previewTimer);
  previewTimer = window.setTimeout(preview, delayMs);
}

async function preview() {
  if (!open) return;
  const round = ++previewRound;
  try {
    const shown = await api(`${pathOf(open)}/preview`, { method: "POST", body: draft() });
    if (round !== previewRound) return; // a newer keystroke's preview is on its way
    byId("preview-subject").textContent = shown.subject ?? "";
    byId("preview-body").textContent = shown.body;
    fill(byId("preview-problems"), ...shown.problems.map((p) => el("li", {}, p.message)));
  } catch (error) {
    if (round === previewRound) {
      fill(byId("preview-problems"), el("li", {}, error instanceof Error ? error.message : String(error)));
    }
  }
}
subject.addEventListener("input", () => schedulePreview());
body.addEventListener("input", () => schedulePreview());

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!open) return;
  clearFormError(form);
  byId("template-status").textContent = "";
  const button = /** @type {HTMLButtonElement} */ (form.querySelector("button[type=submit]"));
  button.disabled = true;
  try {
    const saved = await api(`${pathOf(open)}/versions`, { method: "POST", body: draft() });
    showDetail(saved);
    byId("template-status").textContent = `Saved as version ${saved.version}: sent from the next notification on.`;
    await loadTexts();
  } catch (error) {
    if (error instanceof ApiError && error.errors.length) showProblems(error.errors);
    else byId("template-error").textContent = error instanceof Error ? error.message : String(error);
  } finally {
    button.disabled = false;
  }
});

async function revert(version) {
  if (!open) return;
  byId("history-error").textContent = "";
  try {
    const saved = await api(`${pathOf(open)}/revert`, { method: "POST", body: { version } });
    showDetail(saved);
    byId("template-status").textContent =
      `Back to ${versionName(version).toLowerCase()}, saved as version ${saved.version}.`;
    await loadTexts();
  } catch (error) {
    byId("history-error").textContent = error instanceof Error ? error.message : String(error);
  }
}

await loadTexts();
