// The staff home: the queues a reviewer or an admin works through.

import { ApiError, api } from "../api.js";
import { byId, el, flash, signedInShell, when } from "../ui.js";

const me = await signedInShell();

try {
  const waiting = (await api("/api/v1/kyc/reviews")).length;
  byId("kyc-queue").textContent = waiting
    ? `${waiting} KYC document${waiting === 1 ? "" : "s"} waiting for review.`
    : "No KYC document is waiting for review.";
} catch (error) {
  if (error instanceof ApiError && error.problem.extra?.two_factor_required) {
    byId("kyc-queue").replaceChildren(
      "Staff queues open once you sign in with two-factor authentication. ",
      el("a", { href: "/account#two-factor" }, "Set up two-factor authentication"),
      ", then sign out and in again with your authenticator code.",
    );
  } else {
    byId("kyc-queue").textContent = "The KYC queue could not be loaded.";
    flash(error instanceof Error ? error.message : String(error));
  }
}

const check = byId("audit-check");
check.hidden = me.role !== "admin";
check.addEventListener("click", async () => {
  try {
    const result = await api("/api/v1/admin/audit/verify");
    byId("audit-status").textContent = result.ok
      ? `The chain is unbroken (${result.rows_checked} entries checked).`
      : `The chain is broken: ${result.problems.join("; ")}`;
  } catch (error) {
    flash(error instanceof Error ? error.message : String(error));
  }
});

// ---- merch fulfilment (admins) -----------------------------------------------------------

const NEXT = { ordered: ["packed", "cancelled"], packed: ["shipped", "cancelled"], shipped: ["delivered"] };
const ACTION = { packed: "Mark packed", shipped: "Mark shipped", delivered: "Mark delivered", cancelled: "Cancel and refund" };

function orderItem(order) {
  const id = `tracking-${order.redemption_id}`;
  const tracking = el("input", { id, name: "tracking", autocomplete: "off", placeholder: "e.g. DHL 1234567890" });
  const actions = (NEXT[order.status] || []).map((status) => el("button", {
    type: "button", class: status === "cancelled" ? "" : "primary",
    onclick: () => move(order, status, tracking.value.trim()),
  }, ACTION[status]));
  const shipTo = order.ship_to
    ? [order.ship_to.name, ...order.ship_to.lines, order.ship_to.country].filter(Boolean).join(", ")
    : "No address on the member's profile";
  return el("li", { dataset: { order: order.redemption_id } },
    el("strong", {}, `${order.item_name} · ${order.status}`),
    el("span", { class: "hint" }, ` · ordered ${when(order.created_at)}`),
    el("p", {}, `Ship to: ${shipTo}`),
    order.tracking ? el("p", { class: "hint" }, `Tracking ${order.tracking}`) : null,
    order.status === "packed" ? el("div", { class: "field" }, el("label", { for: id }, "Tracking for shipping"), tracking) : null,
    el("div", { class: "row" }, ...actions));
}

async function loadMerchOrders() {
  const orders = await api("/api/v1/admin/points/merch/orders");
  const list = byId("merch-orders");
  list.replaceChildren(...orders.map(orderItem));
  if (!orders.length) list.append(el("li", { class: "hint" }, "No merch order is waiting."));
}

async function move(order, status, tracking) {
  byId("merch-error").textContent = "";
  try {
    await api(`/api/v1/admin/points/merch/orders/${order.redemption_id}/status`, {
      method: "POST", body: { status, ...(status === "shipped" && tracking ? { tracking } : {}) },
    });
    await loadMerchOrders();
  } catch (error) {
    byId("merch-error").textContent = error instanceof Error ? error.message : String(error);
  }
}

if (me.role === "admin") {
  byId("money").hidden = false;
  byId("promo").hidden = false;
  byId("merch").hidden = false;
  loadMerchOrders().catch((error) => {
    if (error instanceof ApiError && error.problem.extra?.two_factor_required) {
      byId("merch-orders").replaceChildren(
        el("li", { class: "hint" }, "Opens once you sign in with two-factor authentication."));
      return;
    }
    byId("merch-orders").replaceChildren(el("li", { class: "hint" }, "The merch queue could not be loaded."));
    flash(error instanceof Error ? error.message : String(error));
  });
}
