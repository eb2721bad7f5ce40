// Paper trading: the feed's candles with fill markers, equity and drawdown, open orders,
// positions, fills and an order ticket. State comes from the REST snapshot of the
// portfolio and then from `portfolio:{id}` frames (orders, fills, equity marks) and
// `market:{symbol}` bars. The portfolio channel is subscribed BEFORE the snapshot is
// read and its frames are buffered until the snapshot is in, then applied by id (fills,
// orders) or bar sequence (equity), so nothing falls between the two and nothing counts
// twice. After a reconnect the stream resumes after the last sequence number shown.

import { minorDigits } from "../amounts.js";
import { ApiError, api } from "../api.js";
import {
  CandlestickSeries, DOWN, UP, createSeriesMarkers, equityCharts, fitWhenSized, makeChart,
} from "../charts.js";
import { LiveStream } from "../stream.js";
import {
  DASH, bindConnectionBadge, byId, clearFormError, el, fillTable, flash, formValues, money, num,
  pct, showFormError, signedInShell, when,
} from "../ui.js";

const OPEN = new Set(["waiting_parent", "working", "triggered"]);
const stream = new LiveStream();
// Exposed for end-to-end tests and for debugging from the console.
window.__stream = stream;
bindConnectionBadge(stream);

/** Everything on screen, as the server sent it. */
const state = {
  /** @type {any} */ portfolio: null,
  /** @type {Map<string, any>} */ orders: new Map(),
  /** @type {Map<string, any>} */ fills: new Map(),
  /** @type {Map<number, {time: number, equity_minor: number}>} */ equity: new Map(),
  /** @type {any} */ performance: null,
  /** @type {any[] | null} frames that arrived while the snapshot loaded */ buffer: null,
  symbol: "DEMO",
  /** @type {Map<string, any>} the instruments registry, by symbol */ instruments: new Map(),
  lastBarTime: 0,
  /** @type {string | null} the order placed last from the ticket */ lastOrderId: null,
};

const seconds = (iso) => Math.floor(new Date(iso).getTime() / 1000);
/** Minor units in the open portfolio's currency as major units (yen have none, dinars three). */
const major = (minor) => minor / 10 ** minorDigits(state.portfolio ? state.portfolio.currency : "USD");

// --- charts ------------------------------------------------------------------------

const priceChart = makeChart(byId("price-chart"));
const candles = priceChart.addSeries(CandlestickSeries, {
  upColor: UP, downColor: DOWN, borderVisible: false, wickUpColor: UP, wickDownColor: DOWN,
});
const fillMarkers = createSeriesMarkers(candles, []);
const curves = equityCharts(byId("equity-chart"), byId("drawdown-chart"));
fitWhenSized(curves.equityChart, curves.drawdownChart);
// Exposed for end-to-end tests (the two charts' shared time axis) and for debugging.
window.__charts = { equity: curves.equityChart, drawdown: curves.drawdownChart };

function drawMarkers() {
  const markers = [...state.fills.values()]
    .filter((f) => f.symbol === state.symbol)
    .map((f) => ({
      time: seconds(f.market_time),
      position: f.side === "buy" ? "belowBar" : "aboveBar",
      color: f.side === "buy" ? UP : DOWN,
      shape: f.side === "buy" ? "arrowUp" : "arrowDown",
      text: `${f.side} ${num(f.qty, 4)} @ ${num(f.price, 4)}`,
    }))
    .sort((a, b) => a.time - b.time);
  fillMarkers.setMarkers(markers);
}

/** Equity from the marks received, drawdown from the server's report, on one time axis. */
function drawCurves() {
  const points = [...state.equity.entries()].sort((a, b) => a[0] - b[0]);
  const equity = [];
  for (const [, p] of points) {
    // One point per chart time: the latest bar sequence wins.
    if (equity.length && equity[equity.length - 1].time >= p.time) equity.pop();
    equity.push({ time: p.time, value: major(p.equity_minor) });
  }
  // Drawdown is drawn only from the server's performance report (never derived here).
  const curve = state.performance ? state.performance.equity_curve : [];
  const drawdown = [];
  for (const p of curve) {
    const time = seconds(p.market_time);
    if (drawdown.length && drawdown[drawdown.length - 1].time >= time) drawdown.pop();
    drawdown.push({ time, value: -p.drawdown_pct });
  }
  curves.setData(equity, drawdown);
}

/** @param {any} bar a `market.bar` frame */
function onBar(bar) {
  const time = seconds(bar.market_time);
  if (time < state.lastBarTime) candles.setData([]); // the feed started over
  state.lastBarTime = time;
  candles.update({ time, open: bar.open, high: bar.high, low: bar.low, close: bar.close });
  byId("last-bar").textContent = `${bar.symbol} ${num(bar.close, 4)} · bar ${bar.seq} · ${when(bar.market_time)}`;
}

// --- tables and figures -----------------------------------------------------------

function renderStats() {
  const p = state.portfolio;
  const perf = state.performance;
  const currency = p ? p.currency : "USD";
  const latest = [...state.equity.entries()].sort((a, b) => b[0] - a[0])[0];
  byId("stat-equity").textContent = latest ? money(latest[1].equity_minor, currency) : DASH;
  byId("stat-cash").textContent = p ? money(p.cash_minor, currency) : DASH;
  byId("stat-return").textContent = perf ? pct(perf.total_return_pct) : DASH;
  byId("stat-drawdown").textContent = perf ? pct(perf.max_drawdown_pct) : DASH;
  byId("stat-sharpe").textContent = perf && perf.sharpe !== null ? num(perf.sharpe, 3) : DASH;
  byId("stat-fills").textContent = perf ? num(perf.fills, 0) : DASH;
  byId("equity-as-of").textContent = latest
    ? `Equity marked at bar ${latest[0]} (${new Date(latest[1].time * 1000).toLocaleString()})`
    : "No equity mark received yet.";
}

function renderOrders() {
  const open = [...state.orders.values()]
    .filter((o) => OPEN.has(o.status))
    .sort((a, b) => a.created_at.localeCompare(b.created_at));
  fillTable(byId("order-rows"), open.map((o) =>
    el("tr", { dataset: { orderId: o.id } },
      el("td", {}, o.symbol),
      el("td", { class: o.side === "buy" ? "up" : "down" }, o.side),
      el("td", {}, o.kind.replace("_", "-")),
      el("td", {}, o.role),
      el("td", { class: "num" }, num(o.qty, 4)),
      el("td", { class: "num" }, num(o.limit_price ?? o.stop_price, 4)),
      el("td", {}, o.status.replace("_", " ")),
      el("td", {}, el("button", {
        type: "button", class: "link-button", "aria-label": `Cancel ${o.side} ${o.kind} order for ${o.qty} ${o.symbol}`,
        onclick: () => cancelOrder(o.id),
      }, "Cancel")))), "No open orders.");
}

function renderFills() {
  const fills = [...state.fills.values()].sort((a, b) =>
    b.bar_seq - a.bar_seq || b.filled_at.localeCompare(a.filled_at));
  fillTable(byId("fill-rows"), fills.slice(0, 100).map((f) =>
    el("tr", { dataset: { fillId: f.id } },
      el("td", {}, when(f.market_time)),
      el("td", {}, f.symbol),
      el("td", { class: f.side === "buy" ? "up" : "down" }, f.side),
      el("td", { class: "num" }, num(f.qty, 4)),
      el("td", { class: "num" }, num(f.price, 4)),
      el("td", { class: "num" }, num(f.slippage_bps, 2)))), "No fills yet.");
}

function renderPositions() {
  const positions = state.performance ? state.performance.open_positions : [];
  const currency = state.portfolio ? state.portfolio.currency : "USD";
  fillTable(byId("position-rows"), positions.map((p) =>
    el("tr", {},
      el("td", {}, p.symbol),
      el("td", { class: "num" }, num(p.qty, 4)),
      el("td", { class: "num" }, num(p.avg_price, 4)),
      el("td", { class: `num ${p.unrealized_pnl_minor >= 0 ? "up" : "down"}` },
        p.unrealized_pnl_minor === null ? DASH : money(p.unrealized_pnl_minor, currency)))),
  "No open positions.");
}

function renderAll() {
  renderStats();
  renderOrders();
  renderFills();
  renderPositions();
  drawMarkers();
  drawCurves();
}

// --- applying frames ----------------------------------------------------------------

function applyFrame(frame) {
  switch (frame.type) {
    case "paper.order": {
      const known = state.orders.get(frame.id);
      if (!known || known.updated_at <= frame.updated_at) state.orders.set(frame.id, frame);
      renderOrders();
      break;
    }
    case "paper.fill":
      if (state.fills.has(frame.id)) break; // already in the snapshot
      state.fills.set(frame.id, frame);
      if (frame.order_id === state.lastOrderId) {
        byId("order-status").textContent =
          `Filled: ${frame.side} ${num(frame.qty, 4)} ${frame.symbol} @ ${num(frame.price, 4)} (${frame.preset}).`;
      }
      renderFills();
      drawMarkers();
      renderStats();
      document.body.dataset.lastFill = frame.id;
      scheduleRefresh();
      break;
    case "paper.equity":
      state.equity.set(frame.bar_seq, { time: seconds(frame.market_time), equity_minor: frame.equity_minor });
      drawCurves();
      renderStats();
      document.body.dataset.lastEquitySeq = String(frame.bar_seq);
      scheduleRefresh();
      break;
    default:
      break;
  }
}

let refreshTimer = 0;
/** Cash, positions, drawdown and ratios come from the server's report: re-read it at most every 2 s. */
function scheduleRefresh() {
  if (refreshTimer) return;
  refreshTimer = window.setTimeout(async () => {
    refreshTimer = 0;
    if (!state.portfolio) return;
    try {
      const id = state.portfolio.id;
      const [portfolio, performance] = await Promise.all([
        api(`/api/v1/trading/portfolios/${id}`),
        api(`/api/v1/trading/portfolios/${id}/performance?points=1000`),
      ]);
      if (!state.portfolio || state.portfolio.id !== id) return;
      state.portfolio = portfolio;
      state.performance = performance;
      renderStats();
      renderPositions();
      drawCurves();
    } catch (error) {
      flash(`Could not refresh the account: ${error.message}`);
    }
  }, 2000);
}

// --- snapshot and subscriptions -------------------------------------------------------

async function loadSnapshot(id) {
  const [portfolio, orders, fills, performance] = await Promise.all([
    api(`/api/v1/trading/portfolios/${id}`),
    api(`/api/v1/trading/portfolios/${id}/orders?open=true&limit=500`),
    api(`/api/v1/trading/portfolios/${id}/fills?limit=1000`),
    api(`/api/v1/trading/portfolios/${id}/performance?points=1000`),
  ]);
  state.portfolio = portfolio;
  state.performance = performance;
  state.orders = new Map(orders.map((o) => [o.id, o]));
  state.fills = new Map(fills.map((f) => [f.id, f]));
  state.equity = new Map(performance.equity_curve.map((p) =>
    [p.bar_seq, { time: seconds(p.market_time), equity_minor: p.equity_minor }]));
}

async function openPortfolio(id) {
  for (const channel of stream.channels.keys()) {
    if (channel.startsWith("portfolio:")) stream.unsubscribe(channel);
  }
  state.buffer = [];
  const onMessage = (frame) => (state.buffer ? state.buffer.push(frame) : applyFrame(frame));
  await stream.subscribe(`portfolio:${id}`, {
    onMessage,
    onResync: () => reload(id), // missed frames are gone: read the state again
    onDenied: (detail) => flash(`Live updates refused: ${detail}`),
  });
  await reload(id);
}

async function reload(id) {
  state.buffer ??= [];
  try {
    await loadSnapshot(id);
  } finally {
    const pending = state.buffer || [];
    state.buffer = null;
    for (const frame of pending) applyFrame(frame);
  }
  renderAll();
  // The drawdown chart follows the equity chart's range (one time axis).
  curves.equityChart.timeScale().fitContent();
  byId("reset-portfolio").hidden = state.portfolio?.kind !== "personal";
  document.body.dataset.portfolioReady = id;
}

const ASSET_CLASSES = { equity: "Equity", fx: "Currency pair", crypto: "Crypto", future: "Future", index: "Index" };
const clock = (minutes) => `${String(Math.floor(minutes / 60)).padStart(2, "0")}:${String(minutes % 60).padStart(2, "0")}`;

/** What the picked instrument is and how it trades, beside the symbol field. */
function describeInstrument(symbol) {
  const info = state.instruments.get(symbol);
  const qty = /** @type {HTMLInputElement} */ (byId("qty"));
  if (!info) {
    byId("symbol-info").textContent = "";
    qty.step = "any";
    return;
  }
  const hours = info.calendar === "always"
    ? "trades 24/7"
    : `trades weekdays ${clock(info.session_opens_min)}–${clock(info.session_closes_min)} ${info.timezone}`;
  byId("symbol-info").textContent =
    `${info.name || info.symbol} · ${ASSET_CLASSES[info.asset_class] || info.asset_class} in ${info.currency}` +
    ` · tick ${num(info.tick_size, 8)} · lot ${num(info.qty_step, 8)} · ${hours}` +
    (info.feed ? "" : " · no live price here (data and backtests only)");
  qty.step = String(info.qty_step);
}

async function loadInstruments() {
  const instruments = await api("/api/v1/trading/instruments");
  state.instruments = new Map(instruments.map((i) => [i.symbol, i]));
  byId("instrument-list").replaceChildren(...instruments.map((i) =>
    el("option", { value: i.symbol }, `${i.symbol} — ${i.name || i.asset_class}`)));
  describeInstrument(state.symbol);
}

function watchSymbol(symbol) {
  for (const channel of stream.channels.keys()) {
    if (channel.startsWith("market:")) stream.unsubscribe(channel);
  }
  state.symbol = symbol;
  document.body.dataset.symbol = symbol;
  describeInstrument(symbol);
  state.lastBarTime = 0;
  candles.setData([]);
  byId("last-bar").textContent = "waiting for the next bar…";
  drawMarkers();
  stream.subscribe(`market:${symbol}`, {
    onMessage: onBar,
    onDenied: (detail) => flash(`No market data for ${symbol}: ${detail}`),
  }, { backfill: 300 });
}

// --- actions -------------------------------------------------------------------------

async function showDisclaimer() {
  const disclaimer = await api("/api/v1/trading/disclaimer");
  byId("disclaimer-body").textContent = disclaimer.body;
  const section = byId("disclaimer");
  section.hidden = false;
  section.dataset.version = String(disclaimer.version);
  byId("acknowledge").focus();
}

byId("acknowledge").addEventListener("click", async () => {
  const section = byId("disclaimer");
  try {
    await api("/api/v1/trading/disclaimer/acknowledgements", {
      method: "POST", body: { version: Number(section.dataset.version) },
    });
    section.hidden = true;
    byId("order-status").textContent = "Disclaimer accepted: you can place the order now.";
    byId("place-order").focus();
  } catch (error) {
    flash(error.message);
  }
});

const orderForm = /** @type {HTMLFormElement} */ (byId("order-form"));

function syncTicket() {
  const kind = /** @type {HTMLSelectElement} */ (byId("kind")).value;
  for (const field of orderForm.querySelectorAll("[data-for]")) {
    /** @type {HTMLElement} */ (field).hidden = !field.getAttribute("data-for").split(" ").includes(kind);
  }
  byId("bracket-fields").hidden = !(/** @type {HTMLInputElement} */ (byId("bracket")).checked);
}

for (const button of orderForm.querySelectorAll("[data-side]")) {
  button.addEventListener("click", () => {
    const side = button.getAttribute("data-side");
    /** @type {HTMLInputElement} */ (byId("side")).value = side;
    for (const other of orderForm.querySelectorAll("[data-side]")) {
      other.setAttribute("aria-pressed", String(other === button));
    }
    byId("place-order").className = side === "buy" ? "buy" : "sell";
  });
}
byId("kind").addEventListener("change", syncTicket);
byId("bracket").addEventListener("change", syncTicket);

function orderBody() {
  const v = formValues(orderForm);
  const body = { symbol: state.symbol, side: v.side, kind: v.kind, qty: Number(v.qty), tif: v.tif };
  if (v.kind === "limit" || v.kind === "stop_limit") body.limit_price = Number(v.limit_price);
  if (v.kind === "stop" || v.kind === "stop_limit") body.stop_price = Number(v.stop_price);
  if (v.bracket) {
    body.bracket = {};
    if (v.stop_loss) body.bracket.stop_loss = Number(v.stop_loss);
    if (v.take_profit) body.bracket.take_profit = Number(v.take_profit);
  }
  return body;
}

orderForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearFormError(orderForm);
  if (!state.portfolio) {
    explainNoPortfolio();
    return;
  }
  const button = byId("place-order");
  button.setAttribute("disabled", "");
  byId("order-status").textContent = "Sending…";
  try {
    const placed = await api(`/api/v1/trading/portfolios/${state.portfolio.id}/orders`, {
      method: "POST", body: orderBody(),
    });
    state.lastOrderId = placed.order.id;
    for (const order of [placed.order, ...placed.legs]) applyFrame({ type: "paper.order", ...order });
    const early = [...state.fills.values()].find((f) => f.order_id === placed.order.id);
    byId("order-status").textContent = early
      ? `Filled: ${early.side} ${num(early.qty, 4)} ${early.symbol} @ ${num(early.price, 4)} (${early.preset}).`
      : `Order ${placed.order.status.replace("_", " ")}: ${placed.order.side} ${placed.order.qty} ${placed.order.symbol}` +
        (placed.order.status_reason ? ` (${placed.order.status_reason})` : "") + ". Fills arrive live.";
  } catch (error) {
    byId("order-status").textContent = "";
    if (error instanceof ApiError && error.problem.extra?.disclaimer_version) await showDisclaimer();
    showFormError(orderForm, error);
  } finally {
    button.removeAttribute("disabled");
  }
});

/** An order goes into a portfolio: say so, with the control that creates one. */
function explainNoPortfolio() {
  const create = el("button", {
    type: "button", class: "link-button", id: "create-portfolio-first",
    onclick: () => {
      /** @type {HTMLSelectElement} */ (byId("portfolio")).value = "";
      newPortfolioForm.hidden = false;
      byId("new-portfolio-name").focus();
    },
  }, "Create a portfolio");
  byId("order-error").replaceChildren(
    "Orders go into a paper portfolio, and you have none open yet. ", create,
    " first, then place the order.");
}

async function cancelOrder(orderId) {
  try {
    const cancelled = await api(`/api/v1/trading/orders/${orderId}/cancel`, { method: "POST" });
    for (const order of cancelled) applyFrame({ type: "paper.order", ...order });
  } catch (error) {
    flash(`Could not cancel: ${error.message}`);
  }
}

const newPortfolioForm = /** @type {HTMLFormElement} */ (byId("new-portfolio-form"));
newPortfolioForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearFormError(newPortfolioForm);
  const v = formValues(newPortfolioForm);
  try {
    const created = await api("/api/v1/trading/portfolios", {
      method: "POST", body: { name: v.name, preset: v.preset },
    });
    await loadPortfolios(created.id);
    byId("order-error").textContent = "";
  } catch (error) {
    showFormError(newPortfolioForm, error);
  }
});

byId("reset-portfolio").addEventListener("click", async () => {
  const portfolio = state.portfolio;
  if (!portfolio) return;
  const sure = window.confirm(
    `Reset “${portfolio.name}”? Open orders are cancelled, positions dropped and the cash set back to the start.`);
  if (!sure) return;
  try {
    await api(`/api/v1/trading/portfolios/${portfolio.id}/reset`, { method: "POST" });
    await reload(portfolio.id);
    flash("Portfolio reset.", "info");
  } catch (error) {
    flash(`Could not reset: ${error.message}`);
  }
});

async function loadPortfolios(selected) {
  const portfolios = await api("/api/v1/trading/portfolios");
  const select = /** @type {HTMLSelectElement} */ (byId("portfolio"));
  select.replaceChildren(...portfolios.map((p) =>
    el("option", { value: p.id }, `${p.name} (${p.kind}, ${p.preset})`)),
  el("option", { value: "" }, "+ New portfolio…"));
  const chosen = selected || (portfolios[0] && portfolios[0].id) || "";
  select.value = chosen;
  newPortfolioForm.hidden = Boolean(chosen);
  if (chosen) await openPortfolio(chosen);
}

async function main() {
  await signedInShell();
  syncTicket();
  const params = new URLSearchParams(location.search);
  const symbolInput = /** @type {HTMLInputElement} */ (byId("symbol"));
  symbolInput.value = (params.get("symbol") || "DEMO").toUpperCase();
  stream.start();
  watchSymbol(symbolInput.value);
  const changeSymbol = () => {
    const symbol = symbolInput.value.trim().toUpperCase();
    if (symbol && symbol !== state.symbol) watchSymbol(symbol);
  };
  symbolInput.addEventListener("change", changeSymbol);
  // The symbol belongs to the order form (its errors show beside it), but Enter in it
  // switches the chart rather than placing an order.
  symbolInput.addEventListener("keydown", (event) => {
    if (event.key !== "Enter") return;
    event.preventDefault();
    changeSymbol();
  });
  byId("portfolio").addEventListener("change", (event) => {
    const id = /** @type {HTMLSelectElement} */ (event.target).value;
    newPortfolioForm.hidden = Boolean(id);
    if (id) openPortfolio(id);
    else byId("new-portfolio-name").focus();
  });
  loadInstruments().catch((error) => flash(`Could not load the instruments: ${error.message}`));
  try {
    await loadPortfolios(params.get("portfolio"));
  } catch (error) {
    flash(`Could not load your portfolios: ${error.message}`);
  }
}

main();
