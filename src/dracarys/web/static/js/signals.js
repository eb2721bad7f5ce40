// Rendering of mentor signals and verified track records, shared by the signal feed and
// the mentor console. Every figure is a field of the API's Signal or TrackRecord.

import { el, num, pct, when } from "./ui.js";

/** @param {any} signal  a Signal (REST) or `signal` frame (stream) */
export function signalItem(signal, mentorName = "") {
  const levels = [
    signal.entry_price !== null ? `entry ${num(signal.entry_price, 4)}` : "at market",
    signal.stop_loss !== null ? `stop ${num(signal.stop_loss, 4)}` : null,
    signal.take_profit !== null ? `target ${num(signal.take_profit, 4)}` : null,
    `size ${num(signal.size_hint_pct, 2)}% of equity`,
  ].filter(Boolean).join(" · ");
  return el("li", { dataset: { signalId: signal.id }, "aria-label": `${signal.side} ${signal.symbol} signal` },
    el("div", {},
      el("strong", { class: signal.side === "buy" ? "up" : "down" }, `${signal.side.toUpperCase()} ${signal.symbol}`),
      " ", el("span", { class: "badge" }, signal.order_type),
      signal.corrects_id ? el("span", { class: "badge warn" }, "correction") : null,
      mentorName ? el("span", { class: "hint" }, ` · ${mentorName}`) : null,
      el("span", { class: "hint" }, ` · #${signal.chain_seq} · ${when(signal.created_at)}`)),
    el("div", {}, levels),
    el("p", {}, signal.rationale),
    signal.expires_at ? el("p", { class: "hint" }, `Expires ${when(signal.expires_at)}`) : null,
    el("p", { class: "hint" }, signal.label || "Education, not investment advice."));
}

/** @param {any} record a TrackRecord */
export function trackRecordStats(record, verification = null) {
  const stat = (label, value) => el("div", {}, el("dt", {}, label), el("dd", {}, value));
  return el("dl", { class: "stats" },
    stat("Signals", num(record.signals, 0)),
    stat("Closed", num(record.closed, 0)),
    stat("Win rate", pct(record.win_rate_pct)),
    stat("Avg R", num(record.average_r_multiple, 2)),
    stat("Sharpe", num(record.sharpe, 2)),
    stat("Max drawdown", pct(record.max_drawdown_pct)),
    stat("Fill latency", record.average_fill_latency_ms === null ? "—" : `${num(record.average_fill_latency_ms, 0)} ms`),
    stat("Slippage", record.average_slippage_bps === null ? "—" : `${num(record.average_slippage_bps, 2)} bps`),
    // Signals sent in as TradingView alerts: from the alert to the committed broadcast.
    record.alert_signals
      ? stat("Alert to broadcast", `${num(record.median_alert_latency_ms, 0)} ms median, ${num(record.p95_alert_latency_ms, 0)} ms p95`)
      : null,
    verification ? stat("Signal chain", verification.valid ? "verified" : `broken at #${verification.first_broken_seq}`) : null);
}
