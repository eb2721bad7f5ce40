// Your broker: link an Alpaca account (the server checks the keys with Alpaca, then keeps
// them sealed; they never come back), opt in or out of sending mirrored signals to it,
// and what went there: the routed orders with their fills (read again every few seconds
// while opted in) and the positions the broker holds.

import { api } from "../api.js";
import {
  DASH, byId, clearFormError, el, fill, fillTable, flash, formValues, num, showFormError,
  signedInShell, when,
} from "../ui.js";

const form = /** @type {HTMLFormElement} */ (byId("link-form"));
const optIn = /** @type {HTMLInputElement} */ (byId("opt-in"));
const OPEN = new Set(["pending", "sent", "partially_filled"]);
const BADGE = { filled: "ok", partially_filled: "warn", sent: "warn", pending: "warn", rejected: "bad", cancelled: "bad", expired: "bad" };
const STATUS_TEXT = {
  pending: "sending", sent: "at the broker", partially_filled: "partly filled", filled: "filled",
  cancelled: "cancelled", expired: "expired", rejected: "rejected",
};
let refreshTimer = 0;
let optedIn = false;

function showStatus(status) {
  const wasOptedIn = optedIn;
  optedIn = Boolean(status.linked && status.opted_in);
  if (optedIn && !wasOptedIn) loadOrders().catch(() => {});
  const state = byId("broker-state");
  const linked = byId("linked");
  form.hidden = true;
  linked.hidden = true;
  if (!status.available) {
    state.textContent = "Sending orders to a broker is not enabled on this platform: your mirrored signals stay on paper.";
    return;
  }
  if (!status.linked && status.kyc_level < status.required_kyc_level) {
    fill(state, `Sending orders to your own broker needs identity verification (KYC level ${status.required_kyc_level}); you are at level ${status.kyc_level}. `,
      el("a", { href: "/kyc" }, "Verify your identity"), ".");
    return;
  }
  if (!status.linked) {
    state.textContent = "No account linked: your mirrored signals stay on paper.";
    form.hidden = false;
    return;
  }
  state.textContent = `Linked: Alpaca account ${status.account_number} (key ending …${status.key_hint}). `
    + (status.opted_in
      ? "Your mirrored signals go to this account."
      : "Your mirrored signals stay on paper until you opt in.");
  optIn.checked = status.opted_in;
  linked.hidden = false;
}

const ROLE_TEXT = { stop_loss: "stop-loss", take_profit: "take-profit" };

// "buy 5 DEMO", with the symbol the broker knows it by when that differs, and which exit
// a bracket leg is.
function orderText(o) {
  const there = o.broker_symbol && o.broker_symbol !== o.symbol ? ` (${o.broker_symbol} at the broker)` : "";
  const leg = ROLE_TEXT[o.role] ? `${ROLE_TEXT[o.role]}: ` : "";
  return `${leg}${o.side} ${num(o.qty, 8)} ${o.symbol}${there}`;
}

async function loadOrders() {
  const orders = await api("/api/v1/trading/broker/orders?limit=50");
  fillTable(byId("routed-rows"), orders.map((o) => el("tr", { dataset: { orderId: o.order_id, status: o.status } },
    el("td", {}, when(o.sent_at || o.created_at)),
    el("td", {}, orderText(o)),
    el("td", {}, el("span", { class: `badge ${BADGE[o.status] || ""}` }, STATUS_TEXT[o.status] || o.status)),
    el("td", { class: "num" }, num(o.filled_qty, 8)),
    el("td", { class: "num" }, o.avg_fill_price === null ? DASH : num(o.avg_fill_price, 6)),
    el("td", {}, o.status_reason || (o.broker_order_id ? `Broker order ${o.broker_order_id}` : "Waiting to be sent.")))),
  "Nothing sent to your broker yet.");
  // Copies are routed off the mentor's request path and fill at the broker: while one is
  // open the list is read again every 2 s, and every 5 s while new ones may arrive.
  window.clearTimeout(refreshTimer);
  const open = orders.some((o) => OPEN.has(o.status));
  if (open || optedIn) {
    refreshTimer = window.setTimeout(() => loadOrders().catch(() => {}), open ? 2000 : 5000);
  }
}

async function loadPositions(status) {
  const rows = byId("position-rows");
  if (!status.linked) {
    fillTable(rows, [], "Link an account to see its positions.");
    return;
  }
  try {
    const positions = await api("/api/v1/trading/broker/positions");
    fillTable(rows, positions.map((p) => el("tr", {},
      el("td", {}, p.symbol),
      el("td", { class: "num" }, num(p.qty, 8)),
      el("td", { class: "num" }, num(p.avg_entry_price, 6)),
      el("td", { class: "num" }, p.market_value === null ? DASH : num(p.market_value, 2)))),
    "No positions at your broker.");
  } catch (error) {
    fillTable(rows, [], `Could not ask your broker: ${error.message}`);
  }
}

async function reload() {
  const status = await api("/api/v1/trading/broker/");
  showStatus(status);
  await Promise.all([loadOrders(), loadPositions(status)]);
  return status;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearFormError(form);
  const button = byId("link-submit");
  button.setAttribute("disabled", "");
  byId("broker-status").textContent = "Checking the keys with Alpaca…";
  try {
    const status = await api("/api/v1/trading/broker/link", { method: "PUT", body: formValues(form) });
    form.reset();
    showStatus(status);
    await loadPositions(status);
    byId("broker-status").textContent = `Alpaca account ${status.account_number} linked. Opt in to send your mirrored signals to it.`;
  } catch (error) {
    byId("broker-status").textContent = "";
    showFormError(form, error);
  } finally {
    button.removeAttribute("disabled");
  }
});

optIn.addEventListener("change", async () => {
  try {
    const status = await api("/api/v1/trading/broker/opt-in", { method: "PUT", body: { opted_in: optIn.checked } });
    showStatus(status);
    byId("broker-status").textContent = status.opted_in
      ? "Opted in: your next mirrored signals go to your broker."
      : "Opted out: your next mirrored signals stay on paper.";
  } catch (error) {
    optIn.checked = !optIn.checked;
    flash(`Could not change this: ${error.message}`);
  }
});

byId("unlink").addEventListener("click", async () => {
  try {
    const status = await api("/api/v1/trading/broker/link", { method: "DELETE" });
    showStatus(status);
    await loadPositions(status);
    byId("broker-status").textContent = "Account unlinked: its keys are forgotten and nothing more is sent.";
  } catch (error) {
    flash(`Could not unlink: ${error.message}`);
  }
});

byId("orders-refresh").addEventListener("click", () =>
  loadOrders().catch((error) => flash(`Could not load the orders: ${error.message}`)));
byId("positions-refresh").addEventListener("click", () =>
  api("/api/v1/trading/broker/").then(loadPositions).catch((error) => flash(`Could not load the positions: ${error.message}`)));

async function main() {
  await signedInShell();
  try {
    await reload();
  } catch (error) {
    flash(`Could not load your broker link: ${error.message}`);
  }
  document.body.dataset.ready = "true";
}

main();
