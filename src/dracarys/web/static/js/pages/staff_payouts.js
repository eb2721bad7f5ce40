// Payouts to settle (admins): each held for review or stuck in flight is resolved as
// completed or failed with a note after checking M-Pesa; each bank withdrawal gets the
// bank's reference once the transfer is sent.

import { api } from "../api.js";
import { byId, clearFormError, el, flash, formValues, money, showFormError, signedInShell, when } from "../ui.js";

const API = "/api/v1/admin/payouts";
const STATUS = {
  needs_review: "Held for review",
  awaiting_bank_transfer: "Bank transfer to send",
  sending: "Sending to M-Pesa, no answer",
  sent: "Sent to M-Pesa, no result",
  queued: "Queued",
};

function field(id, label, control, hint) {
  return el("div", { class: "field" },
    el("label", { for: id }, label),
    control,
    hint ? el("p", { class: "hint", id: `${id}-hint` }, hint) : null,
    el("p", { class: "field-error", id: `${id}-error` }));
}

function form(payout, kind) {
  const prefix = `${kind}-${payout.id}`;
  const children = kind === "bank"
    ? [field(`${prefix}-bank_reference`, "Bank's reference for the transfer",
      el("input", { id: `${prefix}-bank_reference`, name: "bank_reference", autocomplete: "off", "aria-describedby": `${prefix}-bank_reference-error` }))]
    : [
      el("fieldset", {},
        el("legend", {}, "What M-Pesa says happened"),
        el("label", { class: "check" }, el("input", { type: "radio", name: "outcome", value: "completed", checked: true }), " Completed: the member was paid"),
        el("label", { class: "check" }, el("input", { type: "radio", name: "outcome", value: "failed" }), " Failed: the money goes back to the wallet")),
      field(`${prefix}-note`, "Note", el("textarea", { id: `${prefix}-note`, name: "note", rows: 2, maxlength: 1000, "aria-describedby": `${prefix}-note-error` })),
    ];
  const node = el("form", { novalidate: true, dataset: { kind } }, ...children,
    el("p", { class: "form-error", role: "alert" }),
    el("button", { type: "submit", class: "primary" }, kind === "bank" ? "Record the bank transfer" : "Resolve the payout"));
  node.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFormError(node);
    const values = formValues(node);
    try {
      const done = kind === "bank"
        ? await api(`${API}/${payout.id}/bank-transfer`, { method: "POST", body: { bank_reference: values.bank_reference } })
        : await api(`${API}/${payout.id}/review`, { method: "POST", body: { outcome: node.querySelector('input[name="outcome"]:checked')?.value, note: values.note } });
      flash(`Payout of ${money(done.amount_minor, done.currency)} is now ${done.status}.`, "ok");
      await load();
    } catch (error) {
      showFormError(node, error);
    }
  });
  return node;
}

function payoutItem(p) {
  return el("li", { dataset: { payout: p.id } },
    el("strong", {}, `${money(p.amount_minor, p.currency)} by ${p.method === "bank" ? "bank transfer" : "M-Pesa"}`),
    el("span", { class: "badge" }, STATUS[p.status] || p.status),
    el("p", { class: "hint" }, `Member ${p.user_id} · requested ${when(p.created_at)} · ${p.attempts} attempt${p.attempts === 1 ? "" : "s"}`),
    p.review_reason ? el("p", {}, `Held because: ${p.review_reason}`) : null,
    p.stuck_reason ? el("p", {}, `Stuck: ${p.stuck_reason} (in flight since ${when(p.in_flight_since)})`) : null,
    form(p, p.status === "awaiting_bank_transfer" ? "bank" : "review"));
}

async function load() {
  const payouts = await api(`${API}/queue`);
  byId("payouts-status").textContent = payouts.length
    ? `${payouts.length} payout${payouts.length === 1 ? "" : "s"} to settle.`
    : "No payout is waiting for an admin.";
  byId("payouts").replaceChildren(...payouts.map(payoutItem));
}

async function main() {
  await signedInShell();
  await load();
}

main().catch((error) => {
  if (error instanceof Error && /not signed in|may not use/.test(error.message)) return;
  byId("payouts-status").textContent = `Could not load the payouts: ${error instanceof Error ? error.message : error}`;
});
