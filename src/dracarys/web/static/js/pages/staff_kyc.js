// KYC reviews (staff): the queue oldest first with each member's current level; a
// document opens in the viewer (fetched with the session's token, shown from a blob URL:
// images inline, PDFs in an <object>), then is approved or rejected with a reason. A
// document the verification vendor (Smile ID) handed over carries its result and why it
// could not decide alone, shown in the queue and beside the document.

import { ApiError, accessToken, api } from "../api.js";
import { byId, clearFormError, el, fillTable, flash, showFormError, signedInShell, when } from "../ui.js";

const DOCUMENT_NAMES = { government_id: "Government ID", proof_of_address: "Proof of address" };
/** @type {Map<string, {name: string, kyc_level: number}>} */
const members = new Map();
let selected = /** @type {any} */ (null);
let shownUrl = /** @type {string | null} */ (null);

async function member(userId, fresh = false) {
  if (fresh || !members.has(userId)) members.set(userId, await api(`/api/v1/users/${userId}`));
  return /** @type {{name: string, kyc_level: number}} */ (members.get(userId));
}

const levelText = (level) => `level ${level} of 3`;

/** What the vendor said, in one line ("" when no vendor saw the document). */
function vendorLine(check) {
  if (!check) return "";
  const said = check.result_text ? `“${check.result_text}”` : "no result";
  return `${check.vendor}: ${said}${check.result_code ? ` (code ${check.result_code})` : ""}`;
}

function vendorCell(check) {
  if (!check) return el("span", { class: "hint" }, "Not checked automatically");
  return el("span", { class: "vendor-result" },
    el("span", { class: "badge warn" }, "Sent to review"), " ", vendorLine(check));
}

async function loadQueue() {
  const documents = await api("/api/v1/kyc/reviews");
  await Promise.all([...new Set(documents.map((d) => d.user_id))].map((id) => member(id)));
  byId("queue-status").textContent = documents.length
    ? `${documents.length} document${documents.length === 1 ? "" : "s"} waiting.`
    : "No document is waiting for review.";
  fillTable(byId("queue"), documents.map((d) => {
    const who = members.get(d.user_id);
    const kind = DOCUMENT_NAMES[d.doc_type] || d.doc_type;
    return el("tr", { dataset: { document: d.id } },
      el("td", {}, when(d.uploaded_at)),
      el("td", {}, el("a", { href: `/staff/users/${d.user_id}` }, who?.name || d.user_id)),
      el("td", {}, kind),
      el("td", {}, who ? levelText(who.kyc_level) : ""),
      el("td", {}, vendorCell(d.vendor_check)),
      el("td", {}, el("button", { type: "button", onclick: () => open(d) }, `Open the ${kind.toLowerCase()}`)));
  }), "No document is waiting for review.");
  return documents;
}

/** The file, fetched with the session's token (the endpoint needs it: a plain link would not). */
async function fileUrl(documentId) {
  const token = await accessToken();
  const response = await fetch(`/api/v1/kyc/documents/${documentId}/file`, {
    headers: token ? { Authorization: `Bearer ${token}` } : {},
  });
  if (!response.ok) throw new Error("The document could not be loaded. Try opening it again.");
  return URL.createObjectURL(await response.blob());
}

async function open(document_) {
  selected = document_;
  const who = await member(document_.user_id);
  const kind = DOCUMENT_NAMES[document_.doc_type] || document_.doc_type;
  const form = /** @type {HTMLFormElement} */ (byId("decision-form"));
  clearFormError(form);
  form.reset();
  byId("viewer").hidden = false;
  byId("viewer-heading").textContent = `${kind} of ${who.name}`;
  byId("viewer-level").textContent =
    `${who.name} is at ${levelText(who.kyc_level)}. Uploaded ${when(document_.uploaded_at)}.`;
  const vendor = byId("viewer-vendor");
  const check = document_.vendor_check;
  vendor.hidden = !check;
  vendor.replaceChildren(...(check ? [
    el("h3", {}, `Automatic check by ${check.vendor}`),
    el("p", {}, check.referral || "The automatic check handed this document to the reviewers."),
    check.resulted_at ? el("p", { class: "hint" }, `Handed over ${when(check.resulted_at)}.`) : null,
  ] : []));
  const holder = byId("viewer-file");
  holder.replaceChildren(el("p", {}, "Loading the document…"));
  if (shownUrl) URL.revokeObjectURL(shownUrl);
  shownUrl = await fileUrl(document_.id);
  const label = `${kind} uploaded by ${who.name}`;
  holder.replaceChildren(document_.content_type === "application/pdf"
    ? el("object", { data: shownUrl, type: "application/pdf", title: label, class: "document-pdf" },
      el("p", {}, el("a", { href: shownUrl, download: `${document_.doc_type}.pdf` }, `Download the ${kind.toLowerCase()}`)))
    : el("img", { src: shownUrl, alt: label, class: "document-image" }));
  byId("viewer-heading").scrollIntoView({ block: "start" });
}

async function decide(event) {
  event.preventDefault();
  const form = /** @type {HTMLFormElement} */ (event.currentTarget);
  if (!selected) return;
  const verdict = /** @type {HTMLButtonElement | null} */ (event.submitter)?.value === "reject" ? "reject" : "approve";
  const reason = /** @type {HTMLTextAreaElement} */ (byId("decision-reason")).value.trim();
  clearFormError(form);
  try {
    await api(`/api/v1/kyc/documents/${selected.id}/${verdict}`, {
      method: "POST",
      body: reason ? { reason } : {},
    });
  } catch (error) {
    showFormError(form, error);
    return;
  }
  const who = await member(selected.user_id, true);
  const kind = DOCUMENT_NAMES[selected.doc_type] || selected.doc_type;
  flash(verdict === "approve"
    ? `${kind} of ${who.name} approved. ${who.name} is now at ${levelText(who.kyc_level)}.`
    : `${kind} of ${who.name} rejected. ${who.name} is told why and can upload another.`, "ok");
  selected = null;
  byId("viewer").hidden = true;
  if (shownUrl) URL.revokeObjectURL(shownUrl);
  shownUrl = null;
  await loadQueue();
}

async function main() {
  await signedInShell();
  byId("decision-form").addEventListener("submit", (event) => decide(event).catch((error) => flash(String(error))));
  await loadQueue();
}

main().catch((error) => {
  if (error instanceof Error && /not signed in|may not use/.test(error.message)) return;
  byId("queue-status").textContent = error instanceof ApiError && error.problem.extra?.two_factor_required
    ? "The queue opens once you sign in with two-factor authentication."
    : `Could not load the queue: ${error instanceof Error ? error.message : error}`;
});
