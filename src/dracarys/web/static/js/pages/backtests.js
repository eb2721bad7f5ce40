// Backtests: pick a template, set its parameters (and optionally a sweep, or several
// symbols sharing one cash balance), run; list of
// the caller's runs, with the progress of those still running (re-read every 2 s while
// any is). The report lives on /backtests/{id} (backtest_report.js).

import { ApiError, api } from "../api.js";
import {
  DASH, byId, clearFormError, el, fillTable, formValues, pct, showFormError, signedInShell, when,
} from "../ui.js";

const METRICS = ["sharpe", "sortino", "total_return_pct", "cagr_pct", "calmar",
  "max_drawdown_pct", "win_rate_pct", "profit_factor", "expectancy", "sqn"];

const form = /** @type {HTMLFormElement} */ (byId("backtest-form"));
const templateSelect = /** @type {HTMLSelectElement} */ (byId("template"));
/** @type {{name: string, defaults: Record<string, number>}[]} */
let templates = [];

function renderParams() {
  const template = templates.find((t) => t.name === templateSelect.value);
  const fields = Object.entries(template ? template.defaults : {}).map(([name, value]) =>
    el("div", { class: "field" },
      el("label", { for: `param-${name}` }, name),
      el("input", {
        id: `param-${name}`, name: `params.${name}`, type: "number", step: "any", value,
        "aria-describedby": `param-${name}-error`,
      }),
      el("p", { class: "field-error", id: `param-${name}-error` })));
  byId("param-fields").replaceChildren(...fields);
  const names = Object.keys(template ? template.defaults : {});
  const rows = [0, 1].map((k) =>
    el("div", { class: "row" },
      el("div", { class: "field" },
        el("label", { for: `sweep-${k}-name` }, `Swept parameter ${k + 1}`),
        el("select", {
          id: `sweep-${k}-name`, name: `sweep.${k}.name`, "aria-describedby": `sweep-${k}-name-error`,
        },
          el("option", { value: "" }, "none"),
          ...names.map((n) => el("option", { value: n }, n))),
        el("p", { class: "field-error", id: `sweep-${k}-name-error` })),
      ...["start", "stop", "step"].map((part) =>
        el("div", { class: "field" },
          el("label", { for: `sweep-${k}-${part}` }, part),
          el("input", {
            id: `sweep-${k}-${part}`, name: `sweep.${k}.${part}`, type: "number", step: "any",
            "aria-describedby": `sweep-${k}-${part}-error`,
          }),
          el("p", { class: "field-error", id: `sweep-${k}-${part}-error` })))));
  byId("sweep-fields").replaceChildren(...rows);
}

function requestBody() {
  const values = formValues(form);
  const params = {};
  const sweep = {};
  for (const [key, value] of Object.entries(values)) {
    if (key.startsWith("params.") && value !== "") params[key.slice(7)] = Number(value);
  }
  for (const k of [0, 1]) {
    const name = values[`sweep.${k}.name`];
    if (!name) continue;
    sweep[name] = {
      start: Number(values[`sweep.${k}.start`]),
      stop: Number(values[`sweep.${k}.stop`]),
      step: Number(values[`sweep.${k}.step`]),
    };
    delete params[name];
  }
  const body = {
    template: values.template,
    params,
    // An uploaded dataset is offered as `upload:{id}` beside the bundled samples.
    ...(String(values.dataset).startsWith("upload:")
      ? { dataset_id: String(values.dataset).slice(7) }
      : { dataset: values.dataset }),
    allow_short: values.allow_short,
    rank_by: values.rank_by,
    execution: {
      initial_cash: Number(values.initial_cash),
      commission_bps: Number(values.commission_bps || 0),
      slippage_bps: Number(values.slippage_bps || 0),
      fill: values.fill,
    },
  };
  if (Object.keys(sweep).length) body.sweep = sweep;
  const datasets = [...form.querySelectorAll("input[name='dataset-choice']:checked")]
    .map((box) => /** @type {HTMLInputElement} */ (box).value);
  if (datasets.length) {
    body.datasets = datasets;
    body.portfolio = { rebalance_every: Number(values["portfolio.rebalance_every"] || 0) };
  }
  return body;
}

/** What a run is doing, in words: a running sweep says how many combinations are done. */
function progressOf(b) {
  if (b.status !== "running") return b.status;
  return b.kind === "sweep" ? `running · ${b.progress_done} of ${b.progress_total}` : "running";
}

let listTimer = 0;

async function loadList() {
  window.clearTimeout(listTimer);
  let rows;
  try {
    rows = await api("/api/v1/backtests?limit=50");
  } catch (error) {
    // Unreachable: the page says so already; try again when the list is next due.
    if (!(error instanceof ApiError && error.unreachable)) throw error;
    listTimer = window.setTimeout(loadList, 2000);
    return;
  }
  fillTable(byId("backtest-rows"), rows.map((b) =>
    el("tr", { dataset: { backtestId: b.id, status: b.status } },
      el("td", {}, el("a", { href: `/backtests/${b.id}` }, when(b.created_at))),
      el("td", {}, b.template || "custom spec"),
      el("td", {}, b.kind),
      el("td", {}, el("span", { class: `badge ${b.status === "succeeded" ? "ok" : b.status === "failed" ? "bad" : "warn"}` }, progressOf(b))),
      el("td", { class: "num" }, b.total_return_pct === null ? DASH : pct(b.total_return_pct)))),
  "No backtests yet: run one with the form.");
  if (rows.some((b) => b.status === "queued" || b.status === "running")) {
    listTimer = window.setTimeout(loadList, 2000);
  }
}

/**
 * The server names a swept range by its parameter (`sweep.fast.step`); the form's rows
 * are numbered (`sweep.0.step`): point each error at the row sweeping that parameter.
 */
function onFormFields(error) {
  if (!(error instanceof ApiError)) return error;
  for (const item of error.errors) {
    // `datasets[1]`: the ticked boxes are one group with one message.
    if (/^datasets(\[\d+\])?$/.test(item.field)) item.field = "datasets";
    const match = /^sweep\.([^.]+)(\.(start|stop|step))?$/.exec(item.field);
    if (!match) continue;
    const row = [0, 1].find((k) =>
      /** @type {HTMLSelectElement} */ (byId(`sweep-${k}-name`)).value === match[1]);
    if (row !== undefined) item.field = `sweep.${row}.${match[3] || "name"}`;
  }
  return error;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearFormError(form);
  const button = form.querySelector("button[type=submit]");
  button?.setAttribute("disabled", "");
  try {
    const created = await api("/api/v1/backtests", { method: "POST", body: requestBody() });
    location.assign(`/backtests/${created.id}`);
  } catch (error) {
    showFormError(form, onFormFields(error));
    button?.removeAttribute("disabled");
  }
});

async function main() {
  await signedInShell();
  templates = await api("/api/v1/backtests/templates");
  templateSelect.replaceChildren(...templates.map((t) => el("option", { value: t.name }, t.name)));
  byId("rank_by").replaceChildren(...METRICS.map((m) => el("option", { value: m }, m)));
  templateSelect.addEventListener("change", renderParams);
  renderParams();
  await Promise.all([loadList(), loadDatasets()]);
}

/** The uploaded datasets the user may use (their own and the shared ones). */
async function loadDatasets() {
  const datasets = await api("/api/v1/market-data/datasets");
  if (!datasets.length) return;
  byId("dataset").append(el("optgroup", { label: "Uploaded market data" },
    ...datasets.map((d) => el("option", { value: `upload:${d.id}` },
      `${d.name} (${d.symbol}, ${d.timeframe}, ${d.bar_count.toLocaleString("en-US")} bars)`))));
}

main();
