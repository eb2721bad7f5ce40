// Points: balance, tier progress, history with reasons, badges and leaderboards, awards a
// rule refused with an appeal for each, the member's appeals and redemptions, read from
// /api/v1/points/* (the points service publishes no stream, so the page reloads on demand).
// Each badge can be shared (share.js).

import { api } from "../api.js";
import { ApiError } from "../api.js";
import { shareButton } from "../share.js";
import { byId, el, fillTable, flash, money, num, signedInShell, when } from "../ui.js";

/** Why an award was refused, in words (the API's reason codes). */
const DENIAL_REASONS = {
  capped: "the rule's limit for the period was already reached",
  frozen: "earning was paused on your account pending a review",
  frozen_velocity: "points came in unusually fast, so earning was paused for a review",
  kyc_required: "this award needs a verified identity first",
};
const APPEAL_STATUS = { open: "waiting for a reviewer", granted: "granted", rejected: "not granted" };
const REDEMPTION_STATUS = {
  held: "held until the hold ends", released: "on its way to your wallet",
  credited: "in your wallet", fulfilled: "done",
};
const words = (value) => String(value).replaceAll("_", " ");

let me = null;
let cursor = null;

async function loadBalance() {
  const [balance, streak] = await Promise.all([
    api("/api/v1/points/balance"),
    api("/api/v1/points/streak"),
  ]);
  byId("balance").textContent = num(balance.balance, 0);
  byId("pending").textContent = num(balance.pending, 0);
  byId("tier").textContent = balance.tier;
  byId("streak").textContent = num(streak.current_days, 0);
  const progress = /** @type {HTMLProgressElement} */ (byId("tier-progress"));
  progress.value = balance.progress_pct;
  byId("tier-text").textContent = balance.next_tier
    ? `${num(balance.points_to_next_tier, 0)} points to ${balance.next_tier} (${balance.progress_pct}%), ` +
      `${num(balance.earned_in_window, 0)} earned in the current window`
    : `Top tier reached; ${num(balance.earned_in_window, 0)} earned in the current window`;
  byId("frozen").textContent = balance.earning_frozen
    ? "Earning is paused on this account pending a review." : "";
}

function historyRow(entry) {
  return el("tr", {},
    el("td", {}, when(entry.created_at)),
    el("td", {}, entry.reason, entry.related_entity ? el("span", { class: "hint" }, ` · ${entry.related_entity}`) : null),
    el("td", {}, entry.category),
    el("td", { class: `num ${entry.delta >= 0 ? "up" : "down"}` }, `${entry.delta > 0 ? "+" : ""}${num(entry.delta, 0)}`),
    el("td", { class: "num" }, num(entry.balance_after, 0)));
}

async function loadHistory(append = false) {
  const query = new URLSearchParams({ limit: "50" });
  if (append && cursor) query.set("cursor", cursor);
  const page = await api(`/api/v1/points/history?${query}`);
  cursor = page.next_cursor;
  const body = byId("history-rows");
  if (append) body.append(...page.items.map(historyRow));
  else fillTable(body, page.items.map(historyRow), "No points yet.");
  byId("more").hidden = !cursor;
}

async function loadBadges() {
  const badges = await api("/api/v1/points/badges");
  const list = byId("badges");
  list.replaceChildren(...badges.map((b) =>
    el("li", { dataset: { badge: b.badge } }, el("strong", {}, words(b.badge)),
      el("span", { class: "hint" }, ` · earned ${when(b.earned_at)} `),
      shareButton("badge", b.badge, `your “${words(b.badge)}” badge`))));
  if (!badges.length) list.append(el("li", { class: "hint" }, "No badges yet."));
}

/** @type {Map<string, Promise<string>>} */
const names = new Map();
function memberName(userId) {
  if (!names.has(userId)) {
    names.set(userId, api(`/api/v1/users/${userId}`).then((u) => u.name || "Member", () => "Member"));
  }
  return names.get(userId);
}

async function loadLeaderboard(period) {
  for (const button of document.querySelectorAll("[data-period]")) {
    button.setAttribute("aria-pressed", String(button.getAttribute("data-period") === period));
  }
  const board = await api(`/api/v1/points/leaderboards/${period}?limit=20`);
  const who = await Promise.all(board.rows.map((row) =>
    (row.user_id === me.id ? Promise.resolve("You") : memberName(row.user_id))));
  fillTable(byId("leaderboard-rows"), board.rows.map((row, k) =>
    el("tr", row.user_id === me.id ? { class: "up" } : {},
      el("td", { class: "num" }, num(row.rank, 0)),
      el("td", {}, who[k]),
      el("td", { class: "num" }, num(row.points, 0)))), "Nobody has earned points in this period yet.");
}

/** An inline form under a refused award: a few words, then the appeal is filed. */
function appealForm(denial, appealed) {
  if (appealed) return el("p", { class: "hint" }, "Appealed: see Your appeals.");
  const id = `appeal-${denial.id}`;
  const form = el("form", { class: "appeal-form", novalidate: true, hidden: true },
    el("label", { for: id }, "Why should these points be given?"),
    el("textarea", { id, name: "message", rows: "3", maxlength: "2000", "aria-describedby": `${id}-error` }),
    el("p", { class: "field-error", id: `${id}-error`, role: "alert" }),
    el("button", { type: "submit", class: "primary" }, "Send the appeal"));
  const open = el("button", { type: "button" }, `Appeal: ${num(denial.points, 0)} points`);
  open.addEventListener("click", () => {
    form.hidden = false;
    open.hidden = true;
    /** @type {HTMLTextAreaElement} */ (form.querySelector("textarea")).focus();
  });
  const box = /** @type {HTMLTextAreaElement} */ (form.querySelector("textarea"));
  const error = /** @type {HTMLElement} */ (form.querySelector(".field-error"));
  box.addEventListener("input", () => { error.textContent = ""; box.removeAttribute("aria-invalid"); });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const message = box.value.trim();
    if (message.length < 5) {
      error.textContent = "Say in a few words why (at least 5 characters).";
      box.setAttribute("aria-invalid", "true");
      box.focus();
      return;
    }
    try {
      await api("/api/v1/points/appeals", { method: "POST", body: { denial_id: denial.id, message } });
      await loadAppeals();
    } catch (failure) {
      error.textContent = failure instanceof ApiError && failure.field === "message"
        ? failure.errors[0].message : failure.message;
    }
  });
  return el("div", {}, open, form);
}

let appealedDenials = new Set();

async function loadDenials() {
  const denials = await api("/api/v1/points/denials");
  const list = byId("denials");
  list.replaceChildren(...denials.map((d) => el("li", { dataset: { denialId: d.id } },
    el("strong", {}, `${num(d.points, 0)} points not given`),
    el("span", { class: "hint" }, ` · ${when(d.created_at)}${d.rule_code ? ` · ${words(d.rule_code)}` : ""}`),
    el("p", {}, `Because ${DENIAL_REASONS[d.reason] || words(d.reason)}.`),
    appealForm(d, appealedDenials.has(d.id)))));
  if (!denials.length) list.append(el("li", { class: "hint" }, "Every award so far was given."));
}

async function loadAppeals() {
  const appeals = await api("/api/v1/points/appeals");
  appealedDenials = new Set(appeals.map((a) => a.denial_id).filter(Boolean));
  const list = byId("appeals");
  list.replaceChildren(...appeals.map((a) => el("li", { dataset: { appealId: a.id } },
    el("strong", {}, APPEAL_STATUS[a.status] || a.status),
    el("span", { class: "hint" }, ` · filed ${when(a.created_at)}`),
    el("p", {}, a.message),
    a.status === "granted" && a.granted_points ? el("p", {}, `${num(a.granted_points, 0)} points given.`) : null,
    a.resolution_note ? el("p", { class: "hint" }, `Reviewer: ${a.resolution_note}`) : null)));
  if (!appeals.length) list.append(el("li", { class: "hint" }, "No appeals."));
  await loadDenials();
}

/** The member's redemptions, listed, and the courses they may still unlock (one read). */
async function loadRedemptions() {
  const redemptions = await api("/api/v1/points/redemptions?limit=100");
  const list = byId("redemptions");
  list.replaceChildren(...redemptions.map((r) => el("li", {},
    el("strong", {}, `${num(r.points, 0)} points → ${words(r.target)}`),
    el("span", { class: "hint" }, ` · ${when(r.created_at)} · ${money(r.value_minor, r.currency)}`),
    el("p", {}, REDEMPTION_STATUS[r.status] || words(r.status),
      r.discount_code ? ` · code ${r.discount_code}${r.target === "mentor_credit" ? " (pays for mentor sessions only)" : ""}` : "",
      r.status === "held" && r.release_at ? ` (until ${when(r.release_at)})` : ""))));
  if (!redemptions.length) list.append(el("li", { class: "hint" }, "No redemptions yet."));
  await showUnlockable(redemptions);
}

const ORDER_STATUS = {
  ordered: "ordered: being prepared", packed: "packed", shipped: "shipped",
  delivered: "delivered", cancelled: "cancelled, points returned",
};

function confirmRedeem(item, button) {
  const box = el("div", { class: "row", role: "group", "aria-label": `Confirm ${item.name}` },
    el("span", {}, `Spend ${num(item.points, 0)} points on ${item.name}?`));
  const yes = el("button", { type: "button", class: "primary" }, "Confirm");
  const no = el("button", { type: "button" }, "Cancel");
  box.append(yes, no);
  button.hidden = true;
  button.after(box);
  yes.focus();
  const close = () => { box.remove(); button.hidden = false; button.focus(); };
  no.addEventListener("click", close);
  yes.addEventListener("click", async () => {
    byId("merch-error").textContent = "";
    yes.setAttribute("disabled", "");
    try {
      await api("/api/v1/wallet/convert-points", {
        method: "POST",
        body: { points: item.points, target: "merch", target_ref: item.code },
        headers: { "Idempotency-Key": crypto.randomUUID() },
      });
      close();
      await Promise.all([loadBalance(), loadMerch(), loadRedemptions(), loadHistory()]);
      byId("merch-error").textContent = "";
      flash(`Ordered: ${item.name}. Follow it under Your orders.`, "info");
    } catch (failure) {
      yes.removeAttribute("disabled");
      byId("merch-error").textContent = failure.message;
    }
  });
}

async function loadMerch() {
  const [items, orders] = await Promise.all([
    api("/api/v1/points/merch"), api("/api/v1/points/merch/orders"),
  ]);
  const list = byId("merch-items");
  list.replaceChildren(...items.map((item) => {
    const button = el("button", { type: "button" }, `Redeem ${num(item.points, 0)} points`);
    button.setAttribute("aria-label", `Redeem ${num(item.points, 0)} points for ${item.name}`);
    button.addEventListener("click", () => confirmRedeem(item, button));
    return el("li", { class: "card", dataset: { merch: item.code } },
      el("h3", {}, item.name),
      item.description ? el("p", {}, item.description) : null,
      el("p", { class: "hint" }, item.stock === null ? "In stock" : `${num(item.stock, 0)} left`),
      button);
  }));
  if (!items.length) list.append(el("li", { class: "hint" }, "No merch to redeem right now."));
  const mine = byId("merch-orders");
  mine.replaceChildren(...orders.map((o) => el("li", { dataset: { order: o.redemption_id } },
    el("strong", {}, o.item_name),
    el("span", { class: "hint" }, ` · ${num(o.points, 0)} points · ordered ${when(o.created_at)}`),
    el("p", {}, ORDER_STATUS[o.status] || o.status, o.tracking ? ` · tracking ${o.tracking}` : ""))));
  if (!orders.length) mine.append(el("li", { class: "hint" }, "No orders yet."));
}

/** Paid courses priced in the currency points are worth money in, at their points cost;
 * those `redemptions` unlocked already say so. */
async function showUnlockable(redemptions) {
  const [policy, programs] = await Promise.all([
    api("/api/v1/wallet/convert-points/policy"),
    api("/api/v1/programs"),
  ]);
  const unlocked = new Set(redemptions.filter((r) => r.target === "course_unlock").map((r) => r.target_ref));
  const courses = programs.filter((p) => p.published && !p.onboarding && p.price_minor > 0 &&
    p.currency === policy.currency && p.owner_id !== me.id);
  const list = byId("unlockable");
  list.replaceChildren(...courses.map((program) => {
    const cost = Math.ceil(program.price_minor / policy.minor_units_per_point);
    const item = el("li", { dataset: { programId: program.id } },
      el("strong", {}, program.title),
      el("span", { class: "hint" }, ` · ${money(program.price_minor, program.currency)} · ${num(cost, 0)} points`));
    if (unlocked.has(program.id)) {
      item.append(el("p", {}, "Unlocked: ", el("a", { href: `/courses/${program.id}` }, "join a cohort without paying")));
      return item;
    }
    const button = el("button", { type: "button" }, `Unlock for ${num(cost, 0)} points`);
    button.setAttribute("aria-label", `Unlock ${program.title} for ${num(cost, 0)} points`);
    button.addEventListener("click", async () => {
      byId("unlock-error").textContent = "";
      button.setAttribute("disabled", "");
      try {
        await api("/api/v1/wallet/convert-points", {
          method: "POST",
          body: { points: cost, target: "course_unlock", target_ref: program.id },
          headers: { "Idempotency-Key": crypto.randomUUID() },
        });
        await Promise.all([loadBalance(), loadRedemptions(), loadHistory()]);
      } catch (failure) {
        button.removeAttribute("disabled");
        byId("unlock-error").textContent = `${program.title}: ${failure.message}`;
      }
    });
    item.append(button);
    return item;
  }));
  if (!courses.length) list.append(el("li", { class: "hint" }, "No paid course to unlock right now."));
}

async function loadAll() {
  try {
    await Promise.all([
      loadBalance(), loadHistory(), loadBadges(), loadLeaderboard("weekly"), loadAppeals(),
      loadRedemptions(), loadMerch(),
    ]);
    flash("");
  } catch (error) {
    flash(`Could not load points: ${error.message}`);
  }
}

async function main() {
  me = await signedInShell();
  byId("refresh").addEventListener("click", loadAll);
  byId("more").addEventListener("click", () => loadHistory(true));
  for (const button of document.querySelectorAll("[data-period]")) {
    button.addEventListener("click", () => loadLeaderboard(button.getAttribute("data-period")));
  }
  await loadAll();
}

main();
