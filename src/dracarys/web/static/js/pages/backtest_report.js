// One backtest's report: status and its steps (polled while it runs: queued, each batch of
// combinations a sweep has tested, the best combination's run, the report), metrics, equity
// and drawdown charts on one time axis, trades, the sweep heatmap with the best cell
// marked, and for a run over several symbols the table of each one's share — all exactly as GET /api/v1/backtests/{id} returns them.

import { ApiError, api } from "../api.js";
import { equityCharts, fitWhenSized } from "../charts.js";
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
    `${req.template || "custom spec"}${params ? ` (${params})` : ""} on ${symbolsOf(req)}` +
    ` · submitted ${when(b.created_at)}${b.finished_at ? ` · finished ${when(b.finished_at)}` : ""}`;
  const progress = /** @type {HTMLProgressElement} */ (byId("progress"));
  progress.max = b.progress_total;
  progress.value = b.progress_done;
  renderSteps(b);
  byId("error").textContent = b.error || "";
}

/**
 * The run's steps as the server reports them: queued until a worker claims it; a sweep
 * then tests its combinations (the worker writes how many are done as it goes), and runs
 * the best one in full; a single run runs once; then the report is stored.
 */
function renderSteps(b) {
  const sweep = b.kind === "sweep";
  const tested = `${b.progress_done} of ${b.progress_total} combinations tested`;
  const steps = sweep
    ? ["Queued", `Testing combinations (${tested})`, "Running the best combination", "Report ready"]
    : ["Queued", "Running the backtest", "Report ready"];
  let current;
  let text;
  if (b.status === "queued") {
    current = 0;
    text = "Queued: waiting for a worker";
  } else if (b.status === "running") {
    const testing = sweep && b.progress_done < b.progress_total;
    current = !sweep || testing ? 1 : 2;
    text = !sweep ? "Running the backtest" : testing ? tested : `${tested}; running the best one`;
  } else {
    current = b.status === "succeeded" ? steps.length : Math.max(1, stepReached);
    text = b.status === "succeeded" ? (sweep ? tested : "Finished") : "Failed";
  }
  stepReached = Math.max(stepReached, Math.min(current, steps.length - 1));
  byId("steps").replaceChildren(...steps.map((label, k) => {
    const stepState = k < current ? "done" : k > current ? "pending"
      : b.status === "failed" ? "failed" : "current";
    return el("li", {
      dataset: { state: stepState },
      "aria-current": stepState === "current" ? "step" : null,
    }, el("span", { class: "visually-hidden" }, `${STEP_STATES[stepState]}: `), label);
  }));
  byId("progress-text").textContent = text;
}

const STEP_STATES = { done: "Done", current: "In progress", pending: "Not started", failed: "Failed" };
/** The furthest step seen while polling, so a failure is shown at the step it stopped. */
let stepReached = 0;

function renderMetrics(metrics) {
  byId("metrics").replaceChildren(...METRIC_LABELS.map(([key, label, fmt]) =>
    el("div", { dataset: { metric: key } }, el("dt", {}, label),
      el("dd", {}, metrics && key in metrics ? fmt(metrics[key]) : DASH))));
}

function renderCharts(points) {
  if (!points || !points.length) return;
  if (!charts) {
    charts = equityCharts(byId("equity-chart"), byId("drawdown-chart"));
    // Exposed for end-to-end tests (the range shown) and for debugging.
    window.__charts = { equity: charts.equityChart, drawdown: charts.drawdownChart };
    // Fitted again whenever the box's size changes (the page settling, a phone turned),
    // so the chart shows the whole run from its first bar; the drawdown chart follows.
    fitWhenSized(charts.equityChart, charts.drawdownChart);
  }
  charts.setData(
    points.map((p) => ({ time: p.time, value: p.equity })),
    points.map((p) => ({ time: p.time, value: p.drawdown_pct })),
  );
  charts.equityChart.timeScale().fitContent();
}

/** The dataset of a run, or its datasets joined when it ran over several. */
function symbolsOf(req) {
  return req.datasets ? `${req.datasets.join(" + ")} (shared cash)` : req.dataset;
}

/** A portfolio run's table of symbols, exactly as the API stored it. */
function renderAssets(b) {
  if (!b.assets) return;
  byId("assets-section").hidden = false;
  byId("equity-heading").textContent = "Portfolio equity";
  fillTable(byId("asset-rows"), b.assets.map((a) =>
    el("tr", { dataset: { symbol: a.symbol } },
      el("th", { scope: "row" }, a.symbol),
      el("td", { class: `num ${a.contribution >= 0 ? "up" : "down"}` }, num(a.contribution, 2)),
      el("td", { class: "num" }, pct(a.contribution_pct)),
      el("td", { class: "num" }, num(a.round_trips, 0)),
      el("td", { class: "num" }, pct(a.exposure_pct)),
      el("td", { class: "num" }, num(a.fees, 2)),
      el("td", { class: "num" }, num(a.cash_limited_orders, 0)))), "No symbols.");
}

function renderTrades(trades, count, dataset) {
  byId("trade-count").textContent = count === null ? "" : String(count);
  fillTable(byId("trade-rows"), (trades || []).map((t) =>
    el("tr", {},
      el("td", {}, t.symbol || dataset),
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

/**
 * Heatmap of the ranking metric over one or two swept parameters, every column there (the
 * table scrolls sideways inside its box when it is wider than the page), the best
 * combination of the ranking marked.
 */
function renderSweep(sweep) {
  if (!sweep) return;
  byId("sweep-section").hidden = false;
  const [xName, yName] = sweep.parameters;
  const metric = sweep.rank_by;
  const best = sweep.results[0];
  const bestText = sweep.parameters.map((p) => `${p}=${best[p]}`).join(", ");
  byId("sweep-caption").textContent =
    `${metric} for each of the ${sweep.results.length} combinations; ★ marks the best: ${bestText}`;
  const xs = [...new Set(sweep.results.map((r) => r[xName]))].sort((a, b) => a - b);
  const ys = yName ? [...new Set(sweep.results.map((r) => r[yName]))].sort((a, b) => a - b) : [null];
  const cell = new Map(sweep.results.map((r) => [`${r[xName]}|${yName ? r[yName] : null}`, r[metric]]));
  const values = sweep.results.map((r) => r[metric]).filter((v) => v !== null);
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const cellStyle = (v) => {
    // No value (a metric without one): the panel's colours.
    if (v === null || v === undefined) return "background:#2a3543; color:#e6edf3";
    const t = hi > lo ? (v - lo) / (hi - lo) : 0.5;
    // Light enough at every hue for the dark text to keep a 4.5:1 contrast.
    return `background:hsl(${Math.round(t * 120)}, 65%, 60%)`;
  };
  const table = byId("heatmap");
  const head = el("tr", {}, el("th", { scope: "col" }, yName ? `${yName} \\ ${xName}` : xName),
    ...xs.map((x) => el("th", { scope: "col" }, String(x))));
  const rows = ys.map((y) => el("tr", {}, el("th", { scope: "row" }, y === null ? metric : String(y)),
    ...xs.map((x) => {
      const v = cell.get(`${x}|${y}`);
      const isBest = best[xName] === x && (!yName || best[yName] === y);
      const where = `${xName}=${x}${yName ? `, ${yName}=${y}` : ""}`;
      return el("td", {
        style: cellStyle(v),
        class: isBest ? "best" : null,
        title: `${where}: ${metric} ${num(v, 3)}${isBest ? " (best)" : ""}`,
      }, isBest
        ? el("strong", {}, `★ ${num(v, 2)}`, el("span", { class: "visually-hidden" }, " (best)"))
        : num(v, 2));
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
    // The heatmap first: the page takes its final layout before the charts are fitted.
    renderSweep(backtest.sweep);
    renderCharts(backtest.equity);
    renderAssets(backtest);
    renderTrades(backtest.trades, backtest.trade_count, backtest.request.dataset);
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
