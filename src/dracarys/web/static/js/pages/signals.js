// Signal feed: live signals of the mentors the caller follows (`signals:{mentor_id}`
// streams, subscribed before the history is read and merged by signal id), each mentor's
// verified track record and hash-chain check, mirroring into a paper portfolio on/off, and
// following another mentor through the checkout (a paid feed is quoted, then paid only
// on "Confirm and pay"). A signal its book has closed can be shared (share.js).

import { ApiError, api } from "../api.js";
import { renamedFields } from "../amounts.js";
import { openCheckout } from "../checkout.js";
import { shareButton } from "../share.js";
import { signalItem, trackRecordStats } from "../signals.js";
import { LiveStream } from "../stream.js";
import {
  bindConnectionBadge, byId, clearFormError, el, fillTable, flash, formValues, num, pct,
  showFormError, signedInShell, when,
} from "../ui.js";

const stream = new LiveStream();
window.__stream = stream;
bindConnectionBadge(stream);

/** @type {Map<string, any>} signal id → signal */
const signals = new Map();
/** Ids of the signals their book has closed: those can be shared. */
const closed = new Set();
/** @type {Map<string, string>} mentor id → name */
const names = new Map();
let portfolios = [];

async function mentorName(id) {
  if (!names.has(id)) {
    try {
      names.set(id, (await api(`/api/v1/users/${id}`)).name || "Mentor");
    } catch {
      names.set(id, "Mentor");
    }
  }
  return names.get(id);
}

function renderFeed() {
  const list = byId("signal-feed");
  const ordered = [...signals.values()].sort((a, b) => b.created_at.localeCompare(a.created_at));
  list.replaceChildren(...ordered.map((s) => {
    const item = signalItem(s, names.get(s.mentor_id) || "");
    if (closed.has(s.id)) {
      item.append(el("div", { class: "row" }, el("span", { class: "badge" }, "closed"),
        shareButton("signal", s.id, `the closed ${s.side} ${s.symbol} signal`)));
    }
    return item;
  }));
  byId("feed-note").textContent = ordered.length
    ? `${ordered.length} signal${ordered.length === 1 ? "" : "s"}; new ones appear here as mentors publish them.`
    : "No signals yet from the mentors you follow. New ones appear here live.";
}

function addSignal(signal) {
  if (signals.has(signal.id)) return; // history and stream overlap: show it once
  signals.set(signal.id, signal);
  renderFeed();
  document.body.dataset.lastSignal = signal.id;
  scheduleRecordRefresh();
}

let recordTimer = 0;
/** A new signal changes its mentor's track record: re-read the records soon after. */
function scheduleRecordRefresh() {
  if (recordTimer) return;
  recordTimer = window.setTimeout(() => {
    recordTimer = 0;
    loadSubscriptions().catch((error) => flash(`Could not refresh track records: ${error.message}`));
  }, 3000);
}

async function follow(mentorId) {
  /** @type {any[] | null} */
  let buffer = [];
  await stream.subscribe(`signals:${mentorId}`, {
    onMessage: (frame) => (buffer ? buffer.push(frame) : addSignal(frame)),
    onResync: () => loadHistory(mentorId),
    onDenied: (detail) => flash(`Live signals refused: ${detail}`),
  });
  try {
    await loadHistory(mentorId);
  } finally {
    const pending = buffer;
    buffer = null;
    for (const frame of pending) addSignal(frame);
  }
}

async function loadHistory(mentorId) {
  const [page, outcomes] = await Promise.all([
    api(`/api/v1/trading/mentors/${mentorId}/signals?limit=100`),
    api(`/api/v1/trading/mentors/${mentorId}/signal-outcomes`).catch(() => []),
  ]);
  await mentorName(mentorId);
  for (const signal of page.signals) signals.set(signal.id, signal);
  for (const outcome of outcomes) if (outcome.outcome === "closed") closed.add(outcome.signal_id);
  renderFeed();
}

function mirrorControls(sub) {
  const id = `mirror-${sub.id}`;
  const own = portfolios.filter((p) => p.kind === "personal");
  const select = el("select", { id: `${id}-portfolio`, "aria-label": "Portfolio to mirror into" },
    ...own.map((p) => el("option", { value: p.id, selected: p.id === sub.mirror_portfolio_id }, p.name)));
  if (!own.length) select.append(el("option", { value: "" }, "no paper portfolio yet"));
  const box = el("input", { type: "checkbox", id, checked: Boolean(sub.mirror_portfolio_id) });
  box.addEventListener("change", () => setMirroring(sub, box.checked ? select.value : null));
  return el("div", { class: "row" },
    el("label", { class: "check", for: id }, box, "Mirror into"), select);
}

/** Mirroring changes by ending the subscription and starting it again with the new setting. */
async function setMirroring(sub, portfolioId) {
  if (portfolioId === null && !sub.mirror_portfolio_id) return;
  if (portfolioId !== null && !portfolioId) {
    flash("Create a paper portfolio on the Paper trading page first.");
    return;
  }
  const body = portfolioId ? { mirror: { portfolio_id: portfolioId } } : {};
  try {
    await api(`/api/v1/trading/subscriptions/${sub.id}/cancel`, { method: "POST" });
    // Starting again charges nothing while a paid period runs (or for a free feed); when
    // it would charge (a renewal is overdue), the checkout asks first.
    const quote = await api("/api/v1/checkout/quote", {
      method: "POST", body: { kind: "signal_feed", id: sub.mentor_id },
    });
    const started = quote.total_minor === 0
      ? await api(`/api/v1/trading/mentors/${sub.mentor_id}/subscriptions`, {
        method: "POST", body, headers: { "Idempotency-Key": crypto.randomUUID() },
      })
      : await openCheckout({ kind: "signal_feed", id: sub.mentor_id, body });
    if (started) {
      flash(portfolioId ? "Mirroring on: new signals are copied into your portfolio." : "Mirroring off.", "info");
    } else {
      flash("Your subscription ended without a payment: subscribe again to resume this feed.");
    }
  } catch (error) {
    flash(error.message);
  }
  await loadSubscriptions();
}

/** A cancelled paid subscription keeps its feed until the end of the period paid for. */
function paidTimeLeft(sub) {
  return sub.status === "cancelled" && sub.billing_status === "paid"
    && sub.paid_until !== null && new Date(sub.paid_until).getTime() > Date.now();
}

async function loadSubscriptions() {
  const subs = (await api("/api/v1/trading/subscriptions"))
    .filter((s) => s.status === "active" || paidTimeLeft(s));
  const items = await Promise.all(subs.map(async (sub) => {
    const [name, record, verification] = await Promise.all([
      mentorName(sub.mentor_id),
      api(`/api/v1/trading/mentors/${sub.mentor_id}/track-record`).catch(() => null),
      api(`/api/v1/trading/mentors/${sub.mentor_id}/signals/verification`).catch(() => null),
    ]);
    const stats = record ? trackRecordStats(record, verification) : el("p", { class: "hint" }, "Track record unavailable.");
    if (sub.status === "cancelled") {
      return el("li", { dataset: { mentorId: sub.mentor_id, status: "cancelled" } },
        el("strong", {}, name),
        el("span", { class: "hint" }, ` · cancelled, feed until ${when(sub.paid_until)}`),
        stats);
    }
    return el("li", { dataset: { mentorId: sub.mentor_id } },
      el("strong", {}, name),
      el("span", { class: "hint" }, sub.monthly_price_minor ? ` · paid plan (${sub.billing_status})` : " · free feed"),
      stats,
      mirrorControls(sub),
      el("button", { type: "button", class: "link-button", onclick: () => unfollow(sub) }, `Unsubscribe from ${name}`));
  }));
  byId("subscriptions").replaceChildren(...items);
  if (!items.length) byId("subscriptions").append(el("li", { class: "hint" }, "You follow no mentor yet."));
  return subs;
}

async function unfollow(sub) {
  try {
    const cancelled = await api(`/api/v1/trading/subscriptions/${sub.id}/cancel`, { method: "POST" });
    if (!paidTimeLeft(cancelled)) {  // a paid period still running keeps its feed
      stream.unsubscribe(`signals:${sub.mentor_id}`);
      for (const [id, s] of signals) if (s.mentor_id === sub.mentor_id) signals.delete(id);
      renderFeed();
    }
    await loadSubscriptions();
  } catch (error) {
    flash(error.message);
  }
}

async function loadMentorChoices(following) {
  const select = /** @type {HTMLSelectElement} */ (byId("mentor"));
  let mentors = [];
  try {
    mentors = (await api("/api/v1/mentors?limit=100")).mentors;
  } catch {
    mentors = [];
  }
  const choices = mentors.filter((m) => !following.has(m.id));
  select.replaceChildren(...choices.map((m) => el("option", { value: m.id }, `${m.name} — ${m.headline || m.specialties.join(", ")}`)));
  if (!choices.length) select.append(el("option", { value: "" }, "No other mentors listed"));
}

async function showDisclaimer() {
  const disclaimer = await api("/api/v1/trading/disclaimer");
  byId("disclaimer-body").textContent = disclaimer.body;
  byId("disclaimer").hidden = false;
  byId("disclaimer").dataset.version = String(disclaimer.version);
  byId("acknowledge").focus();
}

byId("acknowledge").addEventListener("click", async () => {
  try {
    await api("/api/v1/trading/disclaimer/acknowledgements", {
      method: "POST", body: { version: Number(byId("disclaimer").dataset.version) },
    });
    byId("disclaimer").hidden = true;
    flash("Disclaimer accepted: subscribe again.", "info");
  } catch (error) {
    flash(error.message);
  }
});

const form = /** @type {HTMLFormElement} */ (byId("subscribe-form"));
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearFormError(form);
  const { mentor_id: mentorId } = formValues(form);
  if (!mentorId) return;
  try {
    const subscription = await openCheckout({ kind: "signal_feed", id: String(mentorId) });
    if (subscription) await refresh();
  } catch (error) {
    if (error instanceof ApiError && error.problem.extra?.disclaimer_version) await showDisclaimer();
    showFormError(form, renamedFields(error, { id: "mentor_id" }));
  }
});

async function refresh() {
  const subs = await loadSubscriptions();
  const following = new Set(subs.map((s) => s.mentor_id));
  await Promise.all([...following].filter((id) => !stream.channels.has(`signals:${id}`)).map(follow));
  renderFeed();
  await loadMentorChoices(following);
  document.body.dataset.feedReady = String(following.size);
}

let boardPeriod = "week";
let boardComputedAt = "";

function renderBoard(board) {
  // Frames and the REST answer are whole boards; keep whichever was computed last.
  if (board.period !== boardPeriod || board.computed_at < boardComputedAt) return;
  boardComputedAt = board.computed_at;
  byId("board-caption").textContent = `Computed ${when(board.computed_at)}; updates live.`;
  fillTable(byId("board-rows"), board.entries.map((entry) =>
    el("tr", {},
      el("td", { class: "num" }, num(entry.rank, 0)),
      el("td", {}, entry.name),
      el("td", { class: "num" }, pct(entry.return_pct)),
      el("td", { class: "num" }, num(entry.sharpe, 2)),
      el("td", { class: "num" }, pct(entry.max_drawdown_pct)))), "No mentor has a track record in this period yet.");
}

async function showBoard(period) {
  for (const channel of stream.channels.keys()) {
    if (channel.startsWith("leaderboard:mentors-")) stream.unsubscribe(channel);
  }
  boardPeriod = period;
  boardComputedAt = "";
  for (const button of document.querySelectorAll("[data-period]")) {
    button.setAttribute("aria-pressed", String(button.getAttribute("data-period") === period));
  }
  await stream.subscribe(`leaderboard:mentors-${period}`, { onMessage: renderBoard });
  renderBoard(await api(`/api/v1/trading/leaderboards/mentors?period=${period}&limit=20`));
}

async function main() {
  await signedInShell();
  stream.start();
  for (const button of document.querySelectorAll("[data-period]")) {
    button.addEventListener("click", () => showBoard(button.getAttribute("data-period")));
  }
  showBoard("week").catch((error) => flash(`Could not load the leaderboard: ${error.message}`));
  try {
    portfolios = await api("/api/v1/trading/portfolios");
    await refresh();
  } catch (error) {
    flash(`Could not load your signal feed: ${error.message}`);
  }
}

main();
