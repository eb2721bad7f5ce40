// TradingView alerts: the mentor's secret webhook URL (created or rotated here and shown
// only then, since the server keeps just its hash; revoked here), the message template to
// paste into TradingView, and the alerts received with what became of each. A signal
// frame on the mentor's own `signals:{id}` stream (an alert just broadcast) re-reads the
// list.

import { api } from "../api.js";
import { LiveStream } from "../stream.js";
import { DASH, bindConnectionBadge, byId, el, fillTable, flash, num, signedInShell, when } from "../ui.js";

const stream = new LiveStream();
window.__stream = stream;
bindConnectionBadge(stream);

const OUTCOME_BADGE = { broadcast: "ok", duplicate: "warn", refused: "bad" };

function showStatus(status) {
  byId("hook-state").textContent = status.active
    ? `Active since ${when(status.created_at)}: the URL ending in …${status.token_hint}.`
    : "You have no webhook URL yet, so TradingView cannot send you alerts.";
  byId("hook-issue").textContent = status.active ? "Rotate URL" : "Create webhook URL";
  const revoke = byId("hook-revoke");
  if (status.active) revoke.removeAttribute("disabled");
  else revoke.setAttribute("disabled", "");
  byId("alert-template").textContent = status.template;
}

function describe(alert) {
  if (!alert.symbol && !alert.side) return DASH;
  const price = alert.price === null ? "" : ` @ ${num(alert.price, 4)}`;
  return `${alert.side || "?"} ${alert.symbol || "?"}${price}`;
}

function detail(alert) {
  if (alert.outcome === "refused") return alert.reason;
  if (alert.outcome === "duplicate") return "Already broadcast: sent again, not broadcast twice.";
  return "Broadcast to your subscribers.";
}

let latencyRetry = 0;
let latencyRetriesLeft = 5;

async function loadAlerts() {
  const alerts = await api("/api/v1/trading/alerts?limit=50");
  // A broadcast's latency is written just after its signal goes out (it is timed to the
  // commit), so a list read on the signal's frame may be a moment early: read it again.
  window.clearTimeout(latencyRetry);
  if (latencyRetriesLeft > 0 && alerts.some((a) => a.outcome === "broadcast" && a.latency_ms === null)) {
    latencyRetriesLeft -= 1;
    latencyRetry = window.setTimeout(() => loadAlerts().catch(() => {}), 1000);
  }
  fillTable(byId("alert-rows"), alerts.map((a) => el("tr", { dataset: { alertId: a.id, outcome: a.outcome } },
    el("td", {}, when(a.received_at)),
    el("td", {}, describe(a)),
    el("td", {}, el("span", { class: `badge ${OUTCOME_BADGE[a.outcome] || ""}` }, a.outcome)),
    el("td", { class: "num" }, a.latency_ms === null ? DASH : `${num(a.latency_ms, 0)} ms`),
    el("td", {}, detail(a)))), "No alerts received yet.");
}

async function copy(text, what) {
  try {
    await navigator.clipboard.writeText(text);
    flash(`${what} copied.`, "info");
  } catch {
    flash(`Could not copy: select the ${what.toLowerCase()} and copy it yourself.`);
  }
}

byId("hook-issue").addEventListener("click", async () => {
  const button = byId("hook-issue");
  button.setAttribute("disabled", "");
  try {
    const issued = await api("/api/v1/trading/alert-webhook", { method: "POST" });
    showStatus(issued);
    /** @type {HTMLInputElement} */ (byId("hook-url")).value = issued.url;
    byId("hook-new").hidden = false;
    byId("alerts-status").textContent =
      "Your new webhook URL is ready. It is shown only now: copy it into TradingView.";
  } catch (error) {
    flash(`Could not create the webhook URL: ${error.message}`);
  } finally {
    button.removeAttribute("disabled");
  }
});

byId("hook-revoke").addEventListener("click", async () => {
  try {
    showStatus(await api("/api/v1/trading/alert-webhook", { method: "DELETE" }));
    byId("hook-new").hidden = true;
    /** @type {HTMLInputElement} */ (byId("hook-url")).value = "";
    byId("alerts-status").textContent = "Webhook URL revoked: alerts sent to it are refused.";
  } catch (error) {
    flash(`Could not revoke the webhook URL: ${error.message}`);
  }
});

byId("hook-copy").addEventListener("click", () =>
  copy(/** @type {HTMLInputElement} */ (byId("hook-url")).value, "Webhook URL"));
byId("template-copy").addEventListener("click", () =>
  copy(byId("alert-template").textContent || "", "Template"));
byId("recent-refresh").addEventListener("click", () =>
  loadAlerts().catch((error) => flash(`Could not load the alerts: ${error.message}`)));

async function main() {
  const me = await signedInShell();
  stream.start();
  await stream.subscribe(`signals:${me.id}`, { onMessage: loadAlerts, onResync: loadAlerts });
  try {
    const [status] = await Promise.all([api("/api/v1/trading/alert-webhook"), loadAlerts()]);
    showStatus(status);
  } catch (error) {
    flash(`Could not load your alerts: ${error.message}`);
  }
}

main();
