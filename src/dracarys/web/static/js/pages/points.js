// Points: balance, tier progress, history with reasons, badges and leaderboards, read from
// /api/v1/points/* (the points service publishes no stream, so the page reloads on demand).

import { api } from "../api.js";
import { byId, el, fillTable, flash, num, signedInShell, when } from "../ui.js";

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
    el("li", {}, el("strong", {}, b.badge.replaceAll("_", " ")), el("span", { class: "hint" }, ` · earned ${when(b.earned_at)}`))));
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

async function loadAll() {
  try {
    await Promise.all([loadBalance(), loadHistory(), loadBadges(), loadLeaderboard("weekly")]);
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
