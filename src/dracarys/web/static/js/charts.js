// Charts on top of the vendored TradingView Lightweight Charts (static/vendor/): one dark
// theme, sized to their container, times in UTC seconds as the API sends them.

import {
  AreaSeries,
  CandlestickSeries,
  LineSeries,
  createChart,
  createSeriesMarkers,
} from "../vendor/lightweight-charts/lightweight-charts.standalone.production.mjs";

export { AreaSeries, CandlestickSeries, LineSeries, createSeriesMarkers };

/**
 * @param {HTMLElement} container
 * @param {object} [options]  extra chart options
 */
export function makeChart(container, options = {}) {
  return createChart(container, {
    autoSize: true,
    layout: { background: { color: "#161d26" }, textColor: "#c9d1d9" },
    grid: { vertLines: { color: "#222c38" }, horzLines: { color: "#222c38" } },
    rightPriceScale: { borderColor: "#2a3543" },
    timeScale: { borderColor: "#2a3543", timeVisible: true, secondsVisible: false },
    crosshair: { mode: 0 },
    ...options,
  });
}

export const UP = "#26a69a";
export const DOWN = "#ef5350";
export const ACCENT = "#f0883e";

/** An equity line and, below it, the drawdown area (negative percent). */
export function equityCharts(equityBox, drawdownBox) {
  const equityChart = makeChart(equityBox);
  const equity = equityChart.addSeries(LineSeries, { color: ACCENT, lineWidth: 2 });
  const drawdownChart = makeChart(drawdownBox);
  const drawdown = drawdownChart.addSeries(AreaSeries, {
    lineColor: DOWN,
    topColor: "rgba(239,83,80,0.05)",
    bottomColor: "rgba(239,83,80,0.4)",
    invertFilledArea: true,
    priceFormat: { type: "custom", formatter: (v) => `${v.toFixed(2)}%` },
  });
  // Scrolling one scrolls the other, so a drawdown lines up with its equity.
  equityChart.timeScale().subscribeVisibleLogicalRangeChange((range) => {
    if (range) drawdownChart.timeScale().setVisibleLogicalRange(range);
  });
  return { equityChart, equity, drawdownChart, drawdown };
}
