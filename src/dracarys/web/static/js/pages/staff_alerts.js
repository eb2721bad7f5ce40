// Operational alerts (staff): newest first, each with its kind, severity, who or what it
// is about and the details; acknowledged once seen (who and when is kept).

import { api } from "../api.js";
import { byId, el, fillTable, flash, signedInShell, when } from "../ui.js";

const API = "/api/v1/admin/alerts";
const SEVERITY = { critical: "Critical", warning: "Warning" };
const DETAIL_NAMES = {
  chargeback_id: "Dispute",
  deposit_id: "Deposit",
  payout_id: "Payout",
  amount: "Amount",
  held: "Held",
  reason: "Reason",
  device: "Device",
  network: "Network",
  signed_in_at: "Signed in",
  failures: "Failed sign-ins",
  accounts: "Accounts tried",
  window_minutes: "Within (minutes)",
  last_failure_at: "Last failure",
  hour: "Hour",
  points: "Points issued",
  baseline_mean: "Usual for the hour",
  baseline_stddev: "Standard deviation",
  threshold: "Alert above",
  baseline_days: "Days compared",
};

function about(view) {
  const a = view.alert;
  if (view.user_name) return view.user_name;
  if (a.kind === "failed_login_burst") return `Network ${a.subject}`;
  if (a.kind === "points_issuance") return `Hour from ${when(a.subject)}`;
  return a.subject;
}

function details(a) {
  return el("details", {},
    el("summary", {}, a.summary),
    el("dl", {}, ...Object.entries(a.details).flatMap(([key, value]) => [
      el("dt", {}, DETAIL_NAMES[key] || key.replaceAll("_", " ")),
      el("dd", {}, String(value)),
    ])));
}

async function acknowledge(alert) {
  try {
    await api(`${API}/${alert.id}/acknowledge`, { method: "POST" });
    flash("Alert acknowledged.", "ok");
    await loadAlerts();
  } catch (error) {
    flash(error instanceof Error ? error.message : String(error));
  }
}

async function loadAlerts() {
  const only = /** @type {HTMLInputElement} */ (byId("alerts-unacknowledged")).checked;
  const alerts = await api(`${API}?unacknowledged=${only}`);
  byId("alerts-download").dataset.download = `${API}.csv?unacknowledged=${only}`;
  byId("alerts-status").textContent = alerts.length
    ? `${alerts.length} alert${alerts.length === 1 ? "" : "s"}.`
    : only ? "No alert is waiting to be acknowledged." : "No alerts yet.";
  fillTable(byId("alerts"), alerts.map((view) => {
    const a = view.alert;
    return el("tr", { dataset: { alert: a.id } },
      el("td", {}, when(a.raised_at)),
      el("td", {}, view.title),
      el("td", {}, SEVERITY[a.severity] || a.severity),
      el("td", {}, about(view)),
      el("td", {}, details(a)),
      el("td", {}, a.acknowledged_at
        ? `By ${view.acknowledged_by_name}, ${when(a.acknowledged_at)}`
        : el("button", { type: "button", onclick: () => acknowledge(a) }, "Acknowledge")));
  }), "No alerts.");
}

function showLoadError(error) {
  flash(`Could not load: ${error instanceof Error ? error.message : error}`);
}

async function main() {
  await signedInShell();
  byId("alerts-unacknowledged").addEventListener("change", () => loadAlerts().catch(showLoadError));
  await loadAlerts();
}

main().catch((error) => {
  if (error instanceof Error && /not signed in|may not use/.test(error.message)) return;
  byId("alerts-status").textContent = `Could not load the alerts: ${error instanceof Error ? error.message : error}`;
});
