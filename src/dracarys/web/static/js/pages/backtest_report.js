// One backtest's report: status and progress (polled while it runs), metrics, equity and
// drawdown charts, trades, and the sweep heatmap — all exactly as GET /api/v1/backtests/{id}
// returns them.

import { ApiError, api } from "../api.js";
import { equityCharts } from "../charts.js";
import { DASH, byId, el, fillTable, flash, num, pct, signedInShell, when } from "../ui.js";

const METRIC_LABELS = [
  ["final_equity", "Final equity", (v) => num(v, 2)],
  ["total_return_pct", "Total return", pct],
  ["cagr_pct", "CAGR", pct],
  ["sharpe", "Sharpe", (v) => num(v, 3)],
  ["sortino", "Sortino", (v) => num(v, 3)],
  ["calmar", "Calmar", (v) => num(v, 3)],
  ["max_drawdown_pct", "Max drawdown", pct],
  ["max_drawdown_bars", "Drawdown length (bars)", (v) => num(v, 0)],
  ["annual_volatility_pct", "Volatility (annual)", pct],
  ["trades", "Trades", (v) => num(v, 0)],
  ["win_rate_pct", "Win rate", pct],
  ["profit_factor", "Profit factor", (v) => num(v, 3)],
  ["expectancy", "Expectancy", (v) => num(v, 2)],
  ["sqn", "SQN", (v) => num(v, 2)],
  ["exposure_pct", "Exposure", pct],
];

const backtestId = byId("report").dataset.backtestId;
let charts = null;

function renderStatus(b) {
  const status = byId("status");
  status.textContent = b.status;
  status.className = `badge ${b.status === "succeeded" ? "ok" : b.status === "failed" ? "bad" : "warn"}`;
  const req = b.request;
  const params = Object.entries(req.params || {}).map(([k, v]) => `${k}=${v}`).join(", ");
  byId("summary").textContent =
    `${req.template || "custom spec"}${params ? ` (${params})` : ""} on ${req.dataset}` +
    ` · submitted ${when(b.created_at)}${b.finished_at ? ` · finished ${when(b.finished_at)}` : ""}`;
  const progress = /** @type {HTMLProgressElement} */ (byId("progress"));
  progress.max = b.progress_total;
  progress.value = b.progress_done;
  byId("progress-text").textContent =
    `${b.progress_done} of ${b.progress_total} ${b.kind === "sweep" ? "combinations" : "runs"} done`;
  byId("error").textContent = b.error || "";
}

function renderMetrics(metrics) {
  byId("metrics").replaceChildren(...METRIC_LABELS.map(([key, label, fmt]) =>
    el("div", { dataset: { metric: key } }, el("dt", {}, label),
      el("dd", {}, metrics && key in metrics ? fmt(metrics[key]) : DASH))));
}

function renderCharts(points) {
  if (!points || !points.length) return;
  charts ??= equityCharts(byId("equity-chart"), byId("drawdown-chart"));
  charts.equity.setData(points.map((p) => ({ time: p.time, value: p.equity })));
  charts.drawdown.setData(points.map((p) => ({ time: p.time, value: p.drawdown_pct })));
  charts.equityChart.timeScale().fitContent();
  charts.drawdownChart.timeScale().fitContent();
}

function renderTrades(trades, count) {
  byId("trade-count").textContent = count === null ? "" : String(count);
  fillTable(byId("trade-rows"), (trades || []).map((t) =>
    el("tr", {},
      el("td", {}, t.direction),
      el("td", {}, when(t.entry_time)),
      el("td", { class: "num" }, num(t.entry_price, 4)),
      el("td", {}, t.exit_reason === "open" ? "open" : when(t.exit_time)),
      el("td", { class: "num" }, num(t.exit_price, 4)),
      el("td", { class: "num" }, num(t.units, 4)),
      el("td", { class: `num ${t.pnl >= 0 ? "up" : "down"}` }, num(t.pnl, 2)),
      el("td", { class: "num" }, pct(t.return_pct)),
      el("td", {}, t.exit_reason))), "No trades.");
}

/** Heatmap of the ranking metric over one or two swept parameters. */
function renderSweep(sweep) {
  if (!sweep) return;
  byId("sweep-section").hidden = false;
  byId("equity-section").classList.replace("span-12", "span-8");
  const [xName, yName] = sweep.parameters;
  const metric = sweep.rank_by;
  byId("sweep-caption").textContent =
    `${metric} for each combination (${sweep.results.length}); best first in the ranking: ` +
    sweep.parameters.map((p) => `${p}=${sweep.results[0][p]}`).join(", ");
  const xs = [...new Set(sweep.results.map((r) => r[xName]))].sort((a, b) => a - b);
  const ys = yName ? [...new Set(sweep.results.map((r) => r[yName]))].sort((a, b) => a - b) : [null];
  const cell = new Map(sweep.results.map((r) => [`${r[xName]}|${yName ? r[yName] : null}`, r[metric]]));
  const values = sweep.results.map((r) => r[metric]).filter((v) => v !== null);
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const colour = (v) => {
    if (v === null || v === undefined) return "#444";
    const t = hi > lo ? (v - lo) / (hi - lo) : 0.5;
    return `hsl(${Math.round(t * 120)}, 65%, 55%)`;
  };
  const table = byId("heatmap");
  const head = el("tr", {}, el("th", { scope: "col" }, yName ? `${yName} \\ ${xName}` : xName),
    ...xs.map((x) => el("th", { scope: "col" }, String(x))));
  const rows = ys.map((y) => el("tr", {}, el("th", { scope: "row" }, y === null ? metric : String(y)),
    ...xs.map((x) => {
      const v = cell.get(`${x}|${y}`);
      return el("td", { style: `background:${colour(v)}`, title: `${xName}=${x}${yName ? `, ${yName}=${y}` : ""}: ${metric} ${num(v, 3)}` }, num(v, 2));
    })));
  table.replaceChildren(el("thead", {}, head), el("tbody", {}, ...rows));
}

async function poll() {
  let backtest;
  try {
    backtest = await api(`/api/v1/backtests/${backtestId}`);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      flash("This backtest does not exist or is not shared with you.");
      return;
    }
    flash(`Could not load the backtest: ${error.message}. Retrying…`);
    setTimeout(poll, 3000);
    return;
  }
  flash("");
  renderStatus(backtest);
  renderMetrics(backtest.metrics);
  if (backtest.status === "succeeded" || backtest.status === "failed") {
    renderCharts(backtest.equity);
    renderTrades(backtest.trades, backtest.trade_count);
    renderSweep(backtest.sweep);
    document.body.dataset.reportReady = backtest.status;
    return;
  }
  setTimeout(poll, 1000);
}

async function main() {
  await signedInShell();
  renderMetrics(null);
  await poll();
}

main();
