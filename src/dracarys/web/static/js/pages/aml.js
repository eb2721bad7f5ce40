// AML alerts and cases (staff): the alerts the rules raised, newest first, each
// acknowledged once seen; the cases under review (or decided), each opened on its page.

import { api } from "../api.js";
import { byId, el, fillTable, flash, signedInShell, when } from "../ui.js";

const API = "/api/v1/admin/aml";
const RULE_NAMES = {
  threshold: "Deposits over the threshold",
  structuring: "Structuring",
  velocity: "Velocity",
  deposit_then_withdraw: "Deposit then withdraw",
};
const STATUS = { open: "Open", escalated: "Escalated", cleared: "Cleared", reported: "Reported" };

async function acknowledge(alert) {
  try {
    await api(`${API}/alerts/${alert.id}/acknowledge`, { method: "POST" });
    flash("Alert acknowledged.", "ok");
    await loadAlerts();
  } catch (error) {
    flash(error instanceof Error ? error.message : String(error));
  }
}

async function loadAlerts() {
  const only = /** @type {HTMLInputElement} */ (byId("alerts-unacknowledged")).checked;
  const alerts = await api(`${API}/alerts?unacknowledged=${only}`);
  byId("alerts-download").dataset.download = `${API}/alerts.csv?unacknowledged=${only}`;
  byId("alerts-status").textContent = alerts.length
    ? `${alerts.length} alert${alerts.length === 1 ? "" : "s"}.`
    : only ? "No alert is waiting to be acknowledged." : "No alerts yet.";
  fillTable(byId("alerts"), alerts.map(({ alert: a, user_name: name }) => el("tr", { dataset: { alert: a.id } },
    el("td", {}, when(a.raised_at)),
    el("td", {}, name),
    el("td", {}, `${RULE_NAMES[a.kind] || a.kind} (${a.country === "*" ? "default" : a.country})`),
    el("td", {}, a.summary),
    el("td", {}, a.case_id ? el("a", { href: `/staff/aml/cases/${a.case_id}` }, "Open the case") : "Alert only"),
    el("td", {}, a.acknowledged_at
      ? `Yes, ${when(a.acknowledged_at)}`
      : el("button", { type: "button", onclick: () => acknowledge(a) }, "Acknowledge")))),
  "No alerts.");
}

async function loadCases() {
  const decided = /** @type {HTMLSelectElement} */ (byId("cases-show")).value === "decided";
  const cases = await api(`${API}/cases?decided=${decided}`);
  byId("cases-download").dataset.download = `${API}/cases.csv?decided=${decided}`;
  byId("cases-status").textContent = cases.length
    ? `${cases.length} case${cases.length === 1 ? "" : "s"}.`
    : decided ? "No case has been decided yet." : "No case is under review.";
  fillTable(byId("cases"), cases.map((c) => el("tr", { dataset: { case: c.case.id } },
    el("td", {}, when(c.case.opened_at)),
    el("td", {}, el("a", { href: `/staff/aml/cases/${c.case.id}` }, c.user_name)),
    el("td", {}, STATUS[c.case.status] || c.case.status),
    el("td", { class: "num" }, String(c.alert_count)),
    el("td", {}, c.assignee_name || "Nobody yet"))),
  "No cases.");
}

/** The monthly report's button follows the month picked (this month to start with). */
function wireMonthlyReport() {
  const input = /** @type {HTMLInputElement} */ (byId("report-month"));
  const button = byId("report-download");
  const follow = () => {
    const [year, month] = (input.value || "").split("-").map(Number);
    button.dataset.download = `${API}/reports/${year}/${month}`;
    /** @type {HTMLButtonElement} */ (button).disabled = !(year && month);
  };
  const now = new Date();
  input.value = `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, "0")}`;
  input.addEventListener("change", follow);
  follow();
}

async function main() {
  await signedInShell();
  wireMonthlyReport();
  byId("alerts-unacknowledged").addEventListener("change", () => loadAlerts().catch(showLoadError));
  byId("cases-show").addEventListener("change", () => loadCases().catch(showLoadError));
  await Promise.all([loadAlerts(), loadCases()]);
}

function showLoadError(error) {
  flash(`Could not load: ${error instanceof Error ? error.message : error}`);
}

main().catch((error) => {
  if (error instanceof Error && /not signed in|may not use/.test(error.message)) return;
  byId("alerts-status").textContent = `Could not load the alerts: ${error instanceof Error ? error.message : error}`;
});
