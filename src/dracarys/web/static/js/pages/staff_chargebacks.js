// Chargebacks (admins): each card deposit a cardholder disputed with their bank, with the
// deposit it hit, what is held in the wallet while open and what a lost one left unrecovered.

import { api } from "../api.js";
import { byId, el, fillTable, money, signedInShell, when } from "../ui.js";

const STATUS = { open: "Open", won: "Won", lost: "Lost" };

async function main() {
  await signedInShell();
  const chargebacks = await api("/api/v1/admin/chargebacks");
  byId("chargebacks-status").textContent = chargebacks.length
    ? `${chargebacks.length} chargeback${chargebacks.length === 1 ? "" : "s"}, ${chargebacks.filter((c) => c.status === "open").length} open.`
    : "No chargeback so far.";
  fillTable(byId("chargebacks"), chargebacks.map((c) => el("tr", { dataset: { chargeback: c.id } },
    el("td", {}, when(c.created_at)),
    el("td", {}, STATUS[c.status] || c.status),
    el("td", { class: "num" }, money(c.amount_minor, c.currency)),
    el("td", {}, el("code", {}, `card deposit ${c.deposit_id}`)),
    el("td", {}, el("code", {}, c.user_id)),
    el("td", {}, c.reason),
    el("td", { class: "num" }, money(c.held_minor, c.currency)),
    el("td", { class: "num" }, money(c.unrecovered_minor, c.currency)))),
  "No chargebacks.");
}

main().catch((error) => {
  if (error instanceof Error && /not signed in|may not use/.test(error.message)) return;
  byId("chargebacks-status").textContent = `Could not load the chargebacks: ${error instanceof Error ? error.message : error}`;
});
