// Market data: upload an OHLCV file for an instrument and bar size (the server checks
// every bar and names the row and column of the first bad cell), and the datasets the
// user may backtest on: their own and the shared ones.

import { ApiError, api, uploadFile } from "../api.js";
import { byId, clearFormError, el, fillTable, showFormError, signedInShell, when } from "../ui.js";

const form = /** @type {HTMLFormElement} */ (byId("upload-form"));
const LABELS = { "1m": "1 minute", "5m": "5 minutes", "15m": "15 minutes", "30m": "30 minutes",
  "1h": "1 hour", "4h": "4 hours", "1d": "1 day" };
/** @type {any} */
let me = null;

async function loadDatasets() {
  const datasets = await api("/api/v1/market-data/datasets");
  fillTable(byId("dataset-rows"), datasets.map((d) =>
    el("tr", { dataset: { datasetId: d.id } },
      el("td", {}, d.name),
      el("td", {}, d.symbol),
      el("td", {}, LABELS[d.timeframe] || d.timeframe),
      el("td", { class: "num" }, d.bar_count.toLocaleString("en-US")),
      el("td", {}, when(d.first_bar_at)),
      el("td", {}, when(d.last_bar_at)),
      el("td", {}, me && d.owner_id === me.id
        ? (d.visibility === "shared" ? "You (shared)" : "Only you")
        : "Shared"))), "No datasets yet: upload one.");
}

async function loadInstruments() {
  const instruments = await api("/api/v1/trading/instruments");
  byId("symbol").replaceChildren(...instruments.map((i) =>
    el("option", { value: i.symbol }, `${i.symbol} — ${i.name || i.asset_class}`)));
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearFormError(form);
  const input = /** @type {HTMLInputElement} */ (byId("file"));
  const file = input.files && input.files[0];
  if (!file) {
    showFormError(form, new ApiError(422, {
      detail: "choose a file", errors: [{ field: "file", message: "choose a CSV or Parquet file" }],
    }));
    return;
  }
  const data = new FormData(form);
  const status = byId("upload-status");
  status.textContent = `Checking ${file.name}…`;
  try {
    const dataset = await uploadFile("/api/v1/market-data/datasets", file, {
      fields: {
        symbol: String(data.get("symbol") || ""),
        timeframe: String(data.get("timeframe") || "1d"),
        name: String(data.get("name") || ""),
        visibility: String(data.get("visibility") || "private"),
      },
      tooLarge: "This file is larger than the upload limit.",
    });
    status.textContent = `Uploaded ${dataset.name}: ${dataset.bar_count.toLocaleString("en-US")} bars of ${dataset.symbol}.`;
    form.reset();
    await loadDatasets();
  } catch (error) {
    status.textContent = "";
    showFormError(form, error);
  }
});

async function main() {
  me = await signedInShell();
  await Promise.all([loadInstruments(), loadDatasets()]);
  document.body.dataset.ready = "true";
}

main();
