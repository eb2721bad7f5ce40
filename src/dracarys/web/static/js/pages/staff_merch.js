// Merch orders (admins): the orders to fulfil (or the delivered and cancelled ones), each
// moved one step at a time — packed, shipped with the carrier's tracking, delivered — or
// cancelled before it ships, which gives the member their points back.

import { api } from "../api.js";
import { byId, el, flash, signedInShell, when } from "../ui.js";

const API = "/api/v1/admin/points/merch/orders";
const NEXT = { ordered: ["packed", "cancelled"], packed: ["shipped", "cancelled"], shipped: ["delivered"] };
const ACTION = { packed: "Mark packed", shipped: "Mark shipped", delivered: "Mark delivered", cancelled: "Cancel and refund the points" };
const STATUS = { ordered: "Ordered", packed: "Packed", shipped: "Shipped", delivered: "Delivered", cancelled: "Cancelled" };

function orderItem(order) {
  const id = `tracking-${order.redemption_id}`;
  const tracking = el("input", { id, name: "tracking", autocomplete: "off", "aria-describedby": `${id}-hint` });
  const actions = (NEXT[order.status] || []).map((status) => el("button", {
    type: "button", class: status === "cancelled" ? "" : "primary",
    onclick: () => move(order, status, tracking.value.trim()),
  }, ACTION[status]));
  const shipTo = order.ship_to
    ? [order.ship_to.name, ...order.ship_to.lines, order.ship_to.country].filter(Boolean).join(", ")
    : "No address on the member's profile";
  return el("li", { dataset: { order: order.redemption_id } },
    el("strong", {}, `${order.item_name} · ${order.points.toLocaleString("en-US")} points`),
    el("span", { class: "badge" }, STATUS[order.status] || order.status),
    el("p", { class: "hint" }, `Ordered ${when(order.created_at)} · last moved ${when(order.updated_at)}`),
    el("p", {}, `Ship to: ${shipTo}`),
    order.tracking ? el("p", {}, `Tracking: ${order.tracking}`) : null,
    order.status === "packed"
      ? el("div", { class: "field" }, el("label", { for: id }, "Carrier's tracking"), tracking,
        el("p", { class: "hint", id: `${id}-hint` }, "For example DHL 1234567890."))
      : null,
    actions.length ? el("div", { class: "row" }, ...actions) : null);
}

async function load() {
  const show = /** @type {HTMLSelectElement} */ (byId("merch-show")).value;
  const query = show === "open" ? "" : `?status=${show}`;
  const orders = await api(`${API}${query}`);
  byId("merch-download").dataset.download = `${API}.csv${query}`;
  byId("merch-status").textContent = orders.length
    ? `${orders.length} order${orders.length === 1 ? "" : "s"}.`
    : show === "open" ? "No merch order is waiting." : `No ${show} order.`;
  byId("merch-orders").replaceChildren(...orders.map(orderItem));
}

async function move(order, status, tracking) {
  byId("merch-error").textContent = "";
  try {
    const moved = await api(`${API}/${order.redemption_id}/status`, {
      method: "POST", body: { status, ...(status === "shipped" && tracking ? { tracking } : {}) },
    });
    flash(`${moved.item_name}: ${STATUS[moved.status] || moved.status}.`, "ok");
    await load();
  } catch (error) {
    byId("merch-error").textContent = error instanceof Error ? error.message : String(error);
  }
}

async function main() {
  await signedInShell();
  byId("merch-show").addEventListener("change", () => load().catch((error) => flash(String(error))));
  await load();
}

main().catch((error) => {
  if (error instanceof Error && /not signed in|may not use/.test(error.message)) return;
  byId("merch-status").textContent = `Could not load the orders: ${error instanceof Error ? error.message : error}`;
});
