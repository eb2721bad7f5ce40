// Escrow disputes (admins): each open dispute with both sides — whoever opened it (their
// reason and evidence) and the other party's answer — and the decision: the refund to the
// payer as an amount in major units or as a percentage of the escrow; the rest is released.

import { api } from "../api.js";
import { fieldProblem, renamedFields, toMinor } from "../amounts.js";
import { byId, clearFormError, el, flash, formValues, money, showFormError, signedInShell, when } from "../ui.js";

function side(title, who, text, evidence, at) {
  return el("section", { class: "side", "aria-label": title },
    el("h3", {}, `${title}: ${who}`),
    text ? el("p", {}, text) : el("p", { class: "hint" }, "No answer yet."),
    evidence.length
      ? el("ul", {}, ...evidence.map((item) => el("li", {}, item)))
      : text ? el("p", { class: "hint" }, "No evidence attached.") : null,
    at ? el("p", { class: "hint" }, when(at)) : null);
}

function field(id, label, control, hint) {
  return el("div", { class: "field" },
    el("label", { for: id }, label),
    control,
    hint ? el("p", { class: "hint", id: `${id}-hint` }, hint) : null,
    el("p", { class: "field-error", id: `${id}-error` }));
}

/** The radio button chosen (formValues reads every radio of a group, not the checked one). */
function chosen(form, name) {
  return /** @type {HTMLInputElement | null} */ (form.querySelector(`input[name="${name}"]:checked`))?.value;
}

/** The refund the form asks for, in the API's terms (exactly one of amount and percent). */
function refundOf(form, escrow) {
  const values = formValues(form);
  if (chosen(form, "refund_as") === "percent") {
    const percent = Number(values.refund_percent);
    if (values.refund_percent === "" || !Number.isInteger(percent) || percent < 0 || percent > 100) {
      throw fieldProblem("refund_percent", "Type a whole percentage from 0 to 100.");
    }
    return { refund_percent: percent };
  }
  let minor;
  try {
    minor = toMinor(String(values.refund_amount), escrow.currency);
  } catch (error) {
    throw fieldProblem("refund_amount", error instanceof Error ? error.message : String(error));
  }
  if (minor > escrow.amount_minor) {
    throw fieldProblem("refund_amount", `The refund cannot be more than the ${money(escrow.amount_minor, escrow.currency)} held.`);
  }
  return { refund_minor: minor };
}

function decisionForm(dispute) {
  const { escrow } = dispute;
  const prefix = `resolve-${dispute.id}`;
  const preview = el("p", { class: "hint", id: `${prefix}-preview`, "aria-live": "polite" });
  const node = el("form", { novalidate: true },
    el("fieldset", {},
      el("legend", {}, "Refund to the payer as"),
      el("label", { class: "check" }, el("input", { type: "radio", name: "refund_as", value: "percent", checked: true }), " A percentage of the amount held"),
      el("label", { class: "check" }, el("input", { type: "radio", name: "refund_as", value: "amount" }), ` An amount in ${escrow.currency}`)),
    field(`${prefix}-refund_percent`, "Refund (%)",
      el("input", { id: `${prefix}-refund_percent`, name: "refund_percent", inputmode: "numeric", autocomplete: "off", "aria-describedby": `${prefix}-refund_percent-error` })),
    field(`${prefix}-refund_amount`, `Refund (${escrow.currency})`,
      el("input", { id: `${prefix}-refund_amount`, name: "refund_amount", inputmode: "decimal", autocomplete: "off", "aria-describedby": `${prefix}-refund_amount-hint ${prefix}-refund_amount-error` }),
      "Only when refunding an amount."),
    preview,
    field(`${prefix}-note`, "Why (the parties are told)",
      el("textarea", { id: `${prefix}-note`, name: "note", rows: 2, maxlength: 2000, "aria-describedby": `${prefix}-note-error` })),
    el("p", { class: "form-error", role: "alert" }),
    el("button", { type: "submit", class: "primary" }, "Decide the dispute"));
  const showPreview = () => {
    try {
      const refund = refundOf(node, escrow);
      const minor = refund.refund_minor ?? Math.floor(escrow.amount_minor * refund.refund_percent / 100);
      preview.textContent = `The payer gets ${money(minor, escrow.currency)} back; ${money(escrow.amount_minor - minor, escrow.currency)} is released to the mentor and the platform.`;
    } catch {
      preview.textContent = "";
    }
  };
  node.addEventListener("input", showPreview);
  node.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFormError(node);
    const values = formValues(node);
    try {
      const decided = await api(`/api/v1/admin/disputes/${dispute.id}/resolve`, {
        method: "POST", body: { ...refundOf(node, escrow), note: values.note },
      });
      const result = `Decided: ${money(decided.escrow.refunded_minor, escrow.currency)} refunded to ${dispute.payer_name || "the payer"}, ${money(decided.escrow.released_minor, escrow.currency)} released.`;
      flash(result, "ok");
      byId("decided-card").hidden = false;
      byId("decided").prepend(el("li", { dataset: { decided: dispute.id } }, result, el("p", { class: "hint" }, decided.resolution_note)));
      await load();
    } catch (error) {
      showFormError(node, renamedFields(error, { refund_minor: "refund_amount" }));
    }
  });
  return node;
}

function disputeItem(d) {
  const { escrow } = d;
  const payer = d.payer_name || "the payer";
  const mentor = d.mentor_name || "the mentor";
  const openedByPayer = d.opened_by === escrow.payer_id;
  return el("li", { dataset: { dispute: d.id } },
    el("strong", {}, `${money(escrow.amount_minor, escrow.currency)} held for ${escrow.reference}`),
    el("p", { class: "hint" }, `Paid by ${payer} to ${mentor} · disputed ${when(d.created_at)}`),
    side("Dispute", openedByPayer ? payer : mentor, d.reason, d.evidence, d.created_at),
    side("Answer", openedByPayer ? mentor : payer, d.response, d.response_evidence, d.responded_at),
    decisionForm(d));
}

async function load() {
  const disputes = await api("/api/v1/admin/disputes");
  byId("disputes-status").textContent = disputes.length
    ? `${disputes.length} open dispute${disputes.length === 1 ? "" : "s"}, oldest first.`
    : "No dispute is waiting for a decision.";
  byId("disputes").replaceChildren(...disputes.map(disputeItem));
}

async function main() {
  await signedInShell();
  await load();
}

main().catch((error) => {
  if (error instanceof Error && /not signed in|may not use/.test(error.message)) return;
  byId("disputes-status").textContent = `Could not load the disputes: ${error instanceof Error ? error.message : error}`;
});
