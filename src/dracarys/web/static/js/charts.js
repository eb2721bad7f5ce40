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

// The price scales of paired charts are given one width, so that equal time ranges sit
// at equal x positions (an equity of "10,000.00" is wider than a drawdown of "-2.5%").
const PAIRED_SCALE_WIDTH = 88;

/**
 * An equity line and, below it, the drawdown area (negative percent), on one time axis:
 * both series hold the same times (a time only one of them has is whitespace in the
 * other), so their logical ranges are the same bars; scrolling or zooming one scrolls the
 * other, and the crosshair on one shows the same moment on the other.
 * @param {HTMLElement} equityBox
 * @param {HTMLElement} drawdownBox
 */
export function equityCharts(equityBox, drawdownBox) {
  const paired = {
    rightPriceScale: { borderColor: "#2a3543", minimumWidth: PAIRED_SCALE_WIDTH },
    // A whole run (600 points) fits even a phone's 250 px of plot.
    timeScale: {
      borderColor: "#2a3543", timeVisible: true, secondsVisible: false, minBarSpacing: 0.1,
    },
  };
  const equityChart = makeChart(equityBox, paired);
  const equity = equityChart.addSeries(LineSeries, { color: ACCENT, lineWidth: 2 });
  const drawdownChart = makeChart(drawdownBox, paired);
  const drawdown = drawdownChart.addSeries(AreaSeries, {
    lineColor: DOWN,
    topColor: "rgba(239,83,80,0.05)",
    bottomColor: "rgba(239,83,80,0.4)",
    invertFilledArea: true,
    priceFormat: { type: "custom", formatter: (v) => `${v.toFixed(2)}%` },
  });
  /** @type {Map<number, number>[]} value by time, per chart */
  const values = [new Map(), new Map()];
  const pairs = [[equityChart, equity], [drawdownChart, drawdown]];
  let following = false;
  for (const [index, [chart]] of pairs.entries()) {
    const [otherChart, otherSeries] = pairs[1 - index];
    chart.timeScale().subscribeVisibleLogicalRangeChange((range) => {
      if (!range || following) return;
      following = true;
      otherChart.timeScale().setVisibleLogicalRange(range);
      following = false;
    });
    chart.subscribeCrosshairMove((param) => {
      if (following) return;
      following = true;
      const value = param.time === undefined ? undefined : values[1 - index].get(Number(param.time));
      if (value === undefined) otherChart.clearCrosshairPosition();
      else otherChart.setCrosshairPosition(value, param.time, otherSeries);
      following = false;
    });
  }

  /**
   * Draw both curves on the union of their times.
   * @param {{time: number, value: number}[]} equityPoints  ascending, one per time
   * @param {{time: number, value: number}[]} drawdownPoints  ascending, one per time
   */
  function setData(equityPoints, drawdownPoints) {
    values[0] = new Map(equityPoints.map((p) => [p.time, p.value]));
    values[1] = new Map(drawdownPoints.map((p) => [p.time, p.value]));
    const times = [...new Set([...values[0].keys(), ...values[1].keys()])].sort((a, b) => a - b);
    const on = (byTime) => times.map((time) =>
      byTime.has(time) ? { time, value: byTime.get(time) } : { time });
    equity.setData(on(values[0]));
    drawdown.setData(on(values[1]));
  }

  return { equityChart, equity, drawdownChart, drawdown, setData };
}

/**
 * Show all of the data now and again whenever the charts are resized to their boxes (a
 * column appearing beside them, a phone turned): fitted while its box was still being laid
 * out, a chart keeps its bar spacing and shows only the end of the data. Charts on one
 * time axis are passed together: the fit waits until each has taken its new width, since
 * a resize of the follower would otherwise hand its un-fitted range back to the leader.
 * @param {...import("../vendor/lightweight-charts/lightweight-charts.standalone.production.mjs").IChartApi} charts
 */
export function fitWhenSized(...charts) {
  const leader = charts[0].timeScale();
  let pending = 0;
  const fitSoon = () => {
    if (pending) cancelAnimationFrame(pending);
    pending = requestAnimationFrame(() => {
      pending = 0;
      leader.fitContent();
    });
  };
  for (const chart of charts) {
    let width = chart.timeScale().width();
    chart.timeScale().subscribeSizeChange((newWidth) => {
      if (newWidth === width) return;
      width = newWidth;
      fitSoon();
    });
  }
  leader.fitContent();
}
