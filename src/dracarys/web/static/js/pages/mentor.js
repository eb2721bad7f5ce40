// Mentor console: broadcast a signal (append-only; a correction names the one it
// corrects), the verified track record, the feed plan (its monthly price typed in major
// units of its currency), and each signal with the orders
// the platform's signal book placed for it (entry and exit fills as the server recorded
// them). The mentor's own `signals:{id}` stream adds new signals live.

import { api } from "../api.js";
import { fieldProblem, renamedFields, toMajorText, toMinor } from "../amounts.js";
import { trackRecordStats } from "../signals.js";
import { LiveStream } from "../stream.js";
import {
  DASH, bindConnectionBadge, byId, clearFormError, el, fillTable, flash, formValues, money,
  num, showFormError, signedInShell, when,
} from "../ui.js";

const stream = new LiveStream();
window.__stream = stream;
bindConnectionBadge(stream);

let me = null;
/** @type {Map<string, any>} */
const signals = new Map();
/** @type {Map<string, any[]>} signal id → signal-book orders */
let bookOrders = new Map();
/** @type {Map<string, any>} signal id → how the signal book closed it */
let outcomes = new Map();
/** The signal book's currency, as the server reports it. */
let bookCurrency = "USD";

function describe(signal) {
  const parts = [`${signal.side} ${signal.symbol} ${signal.order_type}`];
  if (signal.entry_price !== null) parts.push(`@ ${num(signal.entry_price, 4)}`);
  if (signal.stop_loss !== null) parts.push(`SL ${num(signal.stop_loss, 4)}`);
  if (signal.take_profit !== null) parts.push(`TP ${num(signal.take_profit, 4)}`);
  return parts.join(" ");
}

function renderSignals() {
  const ordered = [...signals.values()].sort((a, b) => b.chain_seq - a.chain_seq);
  fillTable(byId("signal-rows"), ordered.map((s) => {
    const orders = bookOrders.get(s.id) || [];
    const entry = orders.find((o) => o.role === "entry");
    const exit = orders.find((o) => o.role !== "entry" && o.status === "filled");
    const outcome = outcomes.get(s.id);
    return el("tr", { dataset: { signalId: s.id } },
      el("td", {}, String(s.chain_seq)),
      el("td", {}, when(s.created_at)),
      el("td", {}, describe(s), s.corrects_id ? el("span", { class: "badge warn" }, " correction") : null),
      el("td", {}, entry ? entry.status.replace("_", " ") : "not yet on the book"),
      el("td", { class: "num" }, entry && entry.avg_fill_price !== null ? num(entry.avg_fill_price, 4) : DASH),
      el("td", {}, exit ? exit.role.replace("_", "-") : DASH),
      el("td", { class: "num" }, exit && exit.avg_fill_price !== null ? num(exit.avg_fill_price, 4) : DASH),
      el("td", { class: "num" }, outcome && outcome.pnl_minor !== null ? money(outcome.pnl_minor, bookCurrency) : DASH),
      el("td", { class: "num" }, outcome && outcome.r_multiple !== null ? num(outcome.r_multiple, 2) : DASH));
  }), "No signals yet.");
  const corrects = /** @type {HTMLSelectElement} */ (byId("sig-corrects_id"));
  const current = corrects.value;
  corrects.replaceChildren(el("option", { value: "" }, "— a new signal —"),
    ...ordered.map((s) => el("option", { value: s.id }, `#${s.chain_seq} ${describe(s)}`)));
  corrects.value = current;
}

async function loadBook() {
  const portfolios = await api("/api/v1/trading/portfolios");
  const book = portfolios.find((p) => p.kind === "signal_book");
  if (book) bookCurrency = book.currency;
  bookOrders = new Map();
  if (!book) return;
  const channel = `portfolio:${book.id}`;
  if (!stream.channels.has(channel)) {
    // The signal book's order and fill frames say when to re-read its orders.
    stream.subscribe(channel, { onMessage: scheduleRefresh, onResync: scheduleRefresh });
  }
  const orders = await api(`/api/v1/trading/portfolios/${book.id}/orders?limit=500`);
  for (const order of orders) {
    if (!order.signal_id) continue;
    if (!bookOrders.has(order.signal_id)) bookOrders.set(order.signal_id, []);
    bookOrders.get(order.signal_id).push(order);
  }
}

async function loadRecord() {
  const [record, verification, closed] = await Promise.all([
    api(`/api/v1/trading/mentors/${me.id}/track-record`),
    api(`/api/v1/trading/mentors/${me.id}/signals/verification`),
    api(`/api/v1/trading/mentors/${me.id}/signal-outcomes`),
  ]);
  outcomes = new Map(closed.map((o) => [o.signal_id, o]));
  byId("track-record").replaceChildren(trackRecordStats(record, verification),
    el("p", { class: "hint" }, record.label));
}

let refreshTimer = 0;
function scheduleRefresh() {
  if (refreshTimer) return;
  refreshTimer = window.setTimeout(async () => {
    refreshTimer = 0;
    try {
      await Promise.all([loadBook(), loadRecord()]);
      renderSignals();
    } catch (error) {
      flash(`Could not refresh: ${error.message}`);
    }
  }, 2000);
}

function addSignal(signal) {
  if (signals.has(signal.id)) return;
  signals.set(signal.id, signal);
  renderSignals();
  scheduleRefresh();
}

const signalForm = /** @type {HTMLFormElement} */ (byId("signal-form"));
signalForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearFormError(signalForm);
  const v = formValues(signalForm);
  const body = {
    symbol: String(v.symbol).toUpperCase(), side: v.side, order_type: v.order_type,
    rationale: v.rationale, size_hint_pct: Number(v.size_hint_pct),
  };
  for (const key of ["entry_price", "stop_loss", "take_profit"]) if (v[key]) body[key] = Number(v[key]);
  if (v.expires_at) body.expires_at = new Date(String(v.expires_at)).toISOString();
  if (v.corrects_id) body.corrects_id = v.corrects_id;
  const button = signalForm.querySelector("button[type=submit]");
  button?.setAttribute("disabled", "");
  try {
    const signal = await api("/api/v1/trading/signals", { method: "POST", body });
    addSignal(signal);
    byId("broadcast-status").textContent = `Signal #${signal.chain_seq} broadcast to your subscribers.`;
    signalForm.reset();
  } catch (error) {
    showFormError(signalForm, error);
  } finally {
    button?.removeAttribute("disabled");
  }
});

const planForm = /** @type {HTMLFormElement} */ (byId("plan-form"));
planForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearFormError(planForm);
  const v = formValues(planForm);
  const currency = String(v.currency);
  let priceMinor = 0;
  try {
    priceMinor = toMinor(String(v.monthly_price || "0"), currency);
  } catch (error) {
    showFormError(planForm, fieldProblem("monthly_price", /** @type {Error} */ (error).message));
    return;
  }
  try {
    const plan = await api("/api/v1/trading/feed-plan", {
      method: "PUT",
      body: { monthly_price_minor: priceMinor, currency },
    });
    showPlan(plan);
    flash(`Feed plan saved: ${plan.monthly_price_minor ? `${money(plan.monthly_price_minor, plan.currency)} a month` : "free"}.`, "info");
  } catch (error) {
    showFormError(planForm, renamedFields(error, { monthly_price_minor: "monthly_price" }));
  }
});

/** The saved plan in the form, its price in major units. */
function showPlan(plan) {
  const currency = plan.currency.trim();
  /** @type {HTMLSelectElement} */ (byId("plan-currency")).value = currency;
  /** @type {HTMLInputElement} */ (byId("plan-price")).value = toMajorText(plan.monthly_price_minor, currency);
}

// What the mentor types before the saved plan arrives is kept, not overwritten.
planForm.addEventListener("input", () => { planForm.dataset.edited = "true"; });

async function loadPlan() {
  if (me.role !== "mentor") return;
  const plan = await api(`/api/v1/trading/mentors/${me.id}/feed-plan`);
  if (!planForm.dataset.edited) showPlan(plan);
  planForm.dataset.loaded = "true";
}

async function main() {
  me = await signedInShell();
  if (me.role !== "mentor") {
    byId("role-note").textContent =
      "Broadcasting needs a mentor account; apply to become a mentor from your profile.";
    for (const button of document.querySelectorAll("form button")) button.setAttribute("disabled", "");
  }
  stream.start();
  /** @type {any[] | null} */
  let buffer = [];
  await stream.subscribe(`signals:${me.id}`, {
    onMessage: (frame) => (buffer ? buffer.push(frame) : addSignal(frame)),
    onResync: () => loadSignals(),
  });
  try {
    await Promise.all([loadSignals(), loadBook(), loadRecord(), loadSubscribers(), loadPlan()]);
  } catch (error) {
    flash(`Could not load the console: ${error.message}`);
  } finally {
    const pending = buffer;
    buffer = null;
    for (const frame of pending) addSignal(frame);
  }
  renderSignals();
}

async function loadSubscribers() {
  const subscribers = await api("/api/v1/trading/feed-plan/subscribers");
  fillTable(byId("subscriber-rows"), subscribers.map((s) => el("tr", {},
    el("td", {}, s.name || s.subscriber_id),
    el("td", {}, when(s.started_at)),
    el("td", { class: "num" }, money(s.monthly_price_minor, s.currency)),
    el("td", {}, s.billing_status),
    el("td", {}, s.mirroring ? "on" : "off"))), "No subscribers yet.");
}

async function loadSignals() {
  const page = await api(`/api/v1/trading/mentors/${me.id}/signals?limit=500`);
  for (const signal of page.signals) signals.set(signal.id, signal);
  renderSignals();
}

main();
