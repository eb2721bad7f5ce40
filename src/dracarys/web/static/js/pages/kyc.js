// Identity verification (KYC): the caller's level, a card per tier saying what it needs
// and what it unlocks (GET /api/v1/kyc/tiers, with the points rules that need a level from
// GET /api/v1/points/rules), and per document its state and an upload control
// (GET /api/v1/me/kyc, PATCH /api/v1/users/{id}/kyc-upload). The server tells a file's
// type from its bytes; its refusals are shown next to the file input.

import { ApiError, api, uploadFile } from "../api.js";
import {
  byId, clearFormError, el, flash, money, num, showFormError, signedInShell, when,
} from "../ui.js";

const STATUS = {
  missing: { text: "Not uploaded", badge: "" },
  checking: { text: "Being checked", badge: "warn" },
  pending: { text: "Waiting for review", badge: "warn" },
  approved: { text: "Approved", badge: "ok" },
  rejected: { text: "Rejected", badge: "bad" },
};

// Smile ID's names of the government IDs its automatic check reads.
const ID_TYPES = [
  ["NATIONAL_ID", "National ID card"],
  ["PASSPORT", "Passport"],
  ["DRIVERS_LICENSE", "Driving licence"],
  ["ALIEN_CARD", "Alien card"],
];

let me = null;
let tiers = null;
let mine = null;
let gatedRewards = [];

/** "10 MB", "0.2 MB": sizes as the server words them. */
function megabytes(bytes) {
  return `${num(bytes / 1_000_000, 1)} MB`;
}

/** The amounts an unlock is bounded by, one sentence per kind of limit. */
function limitLines(unlock) {
  const byKind = new Map();
  for (const limit of unlock.limits) {
    const amounts = byKind.get(limit.kind) || [];
    amounts.push(money(limit.amount_minor, limit.currency));
    byKind.set(limit.kind, amounts);
  }
  const lines = [];
  if (byKind.has("daily_withdrawal")) {
    lines.push(`Up to ${byKind.get("daily_withdrawal").join(" or ")} a day.`);
  }
  if (byKind.has("authenticator_code_from")) {
    lines.push(`From ${byKind.get("authenticator_code_from").join(" or ")}, your authenticator code is asked for.`);
  }
  if (unlock.hold_days !== null && unlock.hold_days !== undefined) {
    lines.push(`Released after a ${num(unlock.hold_days, 0)}-day hold.`);
  }
  return lines;
}

function unlockItem(unlock) {
  return el("li", { dataset: { capability: unlock.capability } },
    el("strong", {}, unlock.title),
    el("span", {}, ` — ${unlock.detail}`),
    ...limitLines(unlock).map((line) => el("span", { class: "kyc-limit" }, line)));
}

function unlocksList(tier) {
  const items = tier.unlocks.map(unlockItem);
  for (const rule of gatedRewards.filter((r) => r.min_kyc_level === tier.level)) {
    items.push(el("li", {},
      el("strong", {}, `Points: ${rule.title}`),
      el("span", {}, ` — ${num(rule.points, 0)} points. ${rule.description}`)));
  }
  if (!items.length) return el("p", { class: "hint" }, "Nothing on the platform needs this level yet.");
  return el("ul", { class: "kyc-list" }, ...items);
}

function requirementItem(requirement) {
  const mark = requirement.met ? "Done" : "Not yet";
  const item = el("li", { class: requirement.met ? "kyc-met" : "kyc-unmet" },
    el("span", { class: `badge ${requirement.met ? "ok" : ""}` }, mark), " ", requirement.title);
  if (!requirement.met && requirement.kind !== "document") {
    item.append(" · ", el("a", { href: "/account" }, "Verify it on your account page"));
  }
  return item;
}

function documentHistory(slot) {
  if (!slot.earlier.length) return null;
  return el("details", { class: "kyc-earlier" },
    el("summary", {}, `Earlier uploads (${slot.earlier.length})`),
    el("ul", { class: "kyc-list" }, ...slot.earlier.map((doc) => el("li", {},
      `Uploaded ${when(doc.uploaded_at)} · ${STATUS[doc.status]?.text || doc.status}`,
      doc.reason ? ` — ${doc.reason}` : ""))));
}

function idTypeField(slot) {
  const id = `id-type-${slot.doc_type}`;
  return el("div", { class: "field" },
    el("label", { for: id }, "Which ID is it?"),
    el("select", { id, name: "id_type", "aria-describedby": `${id}-error` },
      ...ID_TYPES.map(([value, label]) => el("option", { value }, label))),
    el("p", { class: "field-error", id: `${id}-error`, role: "alert" }));
}

function uploadForm(slot, requirement) {
  const id = `file-${slot.doc_type}`;
  const rules = tiers.documents;
  const again = slot.status === "rejected";
  const form = el("form", { class: "kyc-upload", novalidate: true, dataset: { docType: slot.doc_type } },
    el("input", { type: "hidden", id: `doc-type-${slot.doc_type}`, name: "doc_type", value: slot.doc_type }),
    slot.doc_type === "government_id" ? idTypeField(slot) : null,
    el("div", { class: "field" },
      el("label", { for: id },
        `${slot.title}: ${again ? "a new file" : "file"} (${rules.accepted_type_names}, up to ${megabytes(rules.max_upload_bytes)})`),
      el("input", {
        type: "file", id, name: "file",
        accept: [...rules.accepted_types, ".jpg", ".jpeg", ".png", ".pdf"].join(","),
        "aria-describedby": `${id}-hint ${id}-error`,
      }),
      el("p", { class: "hint", id: `${id}-hint` }, requirement?.hint || ""),
      el("p", { class: "field-error", id: `${id}-error`, role: "alert" })),
    el("p", { class: "form-error", role: "alert" }),
    el("button", { type: "submit", class: "primary" }, again ? `Upload a new ${slot.name}` : `Upload your ${slot.name}`));
  const input = /** @type {HTMLInputElement} */ (form.querySelector("input[type=file]"));
  input.addEventListener("change", () => clearFormError(form));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submitUpload(form, slot, input);
  });
  return form;
}

function documentBlock(slot, requirement) {
  const checking = slot.status === "pending" && slot.automatic_check_under_way;
  const status = STATUS[checking ? "checking" : slot.status] || { text: slot.status, badge: "" };
  const block = el("div", { class: "kyc-document", dataset: { docType: slot.doc_type } },
    el("h4", {}, slot.title, " ",
      el("span", { class: `badge ${status.badge}`, dataset: { status: slot.status } }, status.text)));
  if (slot.latest) {
    block.append(el("p", { class: "hint" }, `Uploaded ${when(slot.latest.uploaded_at)}`));
  }
  if (slot.status === "rejected") {
    block.append(el("p", { class: "kyc-reason" },
      el("strong", {}, "Why it was rejected: "), slot.rejection_reason || "The reviewer gave no reason."));
  }
  if (checking) {
    block.append(el("p", { class: "kyc-checking" },
      "An automatic identity check is under way. It usually takes a few minutes; if it cannot " +
      "decide, a reviewer looks at your document instead. Use “Check again” to see the result."));
  } else if (slot.status === "pending") {
    block.append(el("p", {}, "A reviewer will look at it soon; you can upload it again only if it is rejected."));
  }
  if (slot.may_upload) block.append(uploadForm(slot, requirement));
  const history = documentHistory(slot);
  if (history) block.append(history);
  return block;
}

function tierCard(tier, progress) {
  const reached = progress.reached;
  const headingId = `tier-${tier.level}-heading`;
  const requirementsById = new Map(tier.requirements.map((r) => [r.doc_type || r.kind, r]));
  const card = el("li", {
    class: `card kyc-tier${reached ? " reached" : ""}`,
    "aria-labelledby": headingId,
    dataset: { level: String(tier.level) },
  },
  el("h2", { id: headingId }, `Level ${tier.level} · ${tier.title} `,
    el("span", { class: `badge ${reached ? "ok" : ""}` }, reached ? "Reached" : "Not reached yet")),
  el("p", {}, tier.summary),
  el("h3", {}, "What it needs"),
  el("ul", { class: "kyc-list" }, ...progress.requirements.map(requirementItem)),
  el("h3", {}, "What it unlocks"),
  unlocksList(tier));
  for (const slot of progress.documents) {
    card.append(documentBlock(slot, requirementsById.get(slot.doc_type)));
  }
  return card;
}

function summary(mine) {
  const max = mine.max_level;
  const next = tiers.tiers.find((t) => t.level === mine.kyc_level + 1);
  const reached = tiers.tiers.find((t) => t.level === mine.kyc_level);
  byId("level-summary").textContent = [
    `You are at level ${mine.kyc_level} of ${max}${reached ? ` (${reached.title.toLowerCase()})` : ""}.`,
    next ? `Next: level ${next.level}, ${next.title.toLowerCase()}.` : "Your verification is complete.",
  ].join(" ");
  const progress = /** @type {HTMLProgressElement} */ (byId("level-progress"));
  progress.max = max;
  progress.value = mine.kyc_level;
}

async function load() {
  const [described, progress] = await Promise.all([
    api("/api/v1/kyc/tiers", { auth: false }),
    api("/api/v1/me/kyc"),
  ]);
  tiers = described;
  mine = progress;
  byId("upload-rules").textContent =
    `Documents: ${tiers.documents.accepted_type_names}, up to ${megabytes(tiers.documents.max_upload_bytes)} each. ` +
    "We check what a file is from its contents, not its name. Files are encrypted when stored.";
  summary(mine);
  const progressByLevel = new Map(mine.tiers.map((t) => [t.level, t]));
  byId("tiers").replaceChildren(...tiers.tiers
    .filter((tier) => progressByLevel.has(tier.level))
    .map((tier) => tierCard(tier, progressByLevel.get(tier.level))));
}

/** The points rules that need a KYC level, and the one reaching verification earns. */
async function loadRewards() {
  try {
    const page = await api("/api/v1/points/rules", { auth: false });
    const active = page.rules.filter((rule) => rule.active);
    gatedRewards = active.filter((rule) => rule.min_kyc_level > 0);
    const reward = active.find((rule) => rule.topic === "kyc.approved");
    const line = byId("points-reward");
    if (reward) {
      line.textContent = `Verifying earns points: ${reward.title}, ${num(reward.points, 0)} points. ${reward.description}`;
      line.hidden = false;
    }
  } catch {
    gatedRewards = []; // the page works without the points rules
  }
}

/** One document, sent with its type; a 413 says the limit in words. */
function sendUpload(form, docType, file) {
  const idType = /** @type {HTMLSelectElement | null} */ (form.querySelector("select[name=id_type]"))?.value;
  return uploadFile(`/api/v1/users/${me.id}/kyc-upload`, file, {
    method: "PATCH",
    fields: idType ? { doc_type: docType, id_type: idType } : { doc_type: docType },
    tooLarge: `This file is larger than the ${megabytes(tiers.documents.max_upload_bytes)} limit. Upload a smaller photo or scan.`,
  });
}

async function submitUpload(form, slot, input) {
  clearFormError(form);
  const file = input.files && input.files[0];
  if (!file) {
    const message = `Choose the file of your ${slot.name} first.`;
    showFormError(form, new ApiError(422, { detail: message, errors: [{ field: "file", message }] }));
    return;
  }
  const button = /** @type {HTMLButtonElement} */ (form.querySelector("button[type=submit]"));
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    const uploaded = await sendUpload(form, slot.doc_type, file);
    await load();
    const checking = mine.tiers.flatMap((t) => t.documents)
      .some((d) => d.latest?.id === uploaded.id && d.automatic_check_under_way);
    flash(checking
      ? `Your ${slot.name} was uploaded. An automatic identity check is under way; this page shows its result.`
      : `Your ${slot.name} was uploaded. A reviewer will look at it; this page shows their decision.`, "info");
  } catch (error) {
    showFormError(form, error);
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}

async function main() {
  me = await signedInShell();
  byId("refresh").addEventListener("click", async () => {
    flash("");
    try {
      await load();
    } catch (error) {
      flash(error instanceof Error ? error.message : String(error));
    }
  });
  await loadRewards();
  await load();
}

main().catch((error) => {
  if (error instanceof Error && /not signed in|may not use/.test(error.message)) return;
  flash(`The verification page could not load: ${error instanceof Error ? error.message : String(error)}`);
});
