// One AML case (staff): summary, alerts, the member's deposits and withdrawals, the
// timeline; add a note, assign, decide (clear releases the member's withdrawals), and
// export the report for the authority as a JSON file or as CSV.

import { api, downloadFile } from "../api.js";
import { byId, clearFormError, el, fill, fillTable, flash, formValues, money, showFormError, signedInShell, when } from "../ui.js";

const API = "/api/v1/admin/aml/cases";
const caseId = byId("case").dataset.caseId;
const STATUS = { open: "Open", escalated: "Escalated", cleared: "Cleared", reported: "Closed with a report" };
const KINDS = { deposit: "Deposit", withdrawal: "Withdrawal asked", spend: "Payment" };

function show(detail) {
  const c = detail.case;
  byId("case-status").textContent = `Case of ${detail.user_name}: ${STATUS[c.status] || c.status}.`;
  const item = (term, value) => [el("dt", {}, term), el("dd", {}, value)];
  fill(byId("summary"),
    ...item("Member", `${detail.user_name} (${c.user_id})`),
    ...item("Status", STATUS[c.status] || c.status),
    ...item("Withdrawals", detail.withdrawals_held ? "Held until the case is cleared" : "Not held by this case"),
    ...item("Opened", when(c.opened_at)),
    ...item("Assigned to", detail.assignee_name || "Nobody yet"),
    ...(c.report_reference ? item("Report", c.report_reference) : []));
  fill(byId("case-alerts"), ...detail.alerts.map((a) => el("li", {},
    el("p", { class: "hint" }, `${a.kind} · ${a.country === "*" ? "default rules" : a.country} · ${when(a.raised_at)}`),
    el("p", {}, a.summary))));
  fillTable(byId("movements"), detail.movements.map((m) => el("tr", {},
    el("td", {}, when(m.occurred_at)),
    el("td", {}, KINDS[m.kind] || m.kind),
    el("td", { class: "num" }, money(m.amount_minor, m.currency)),
    el("td", {}, m.method || "")
  )), "No deposits or withdrawals in the last 90 days.");
  fill(byId("timeline"), ...detail.timeline.map((e) => el("li", { dataset: { kind: e.kind } },
    el("p", { class: "hint" }, `${when(e.at)} · ${e.kind}`),
    el("p", {}, e.body))));
  byId("work").hidden = c.status === "cleared" || c.status === "reported";
}

async function load() {
  show(await api(`${API}/${caseId}`));
}

/** Submit `form` to `path` with the body `bodyOf` makes; show the answer or the problem. */
function wire(formId, path, bodyOf, done) {
  const form = /** @type {HTMLFormElement} */ (byId(formId));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFormError(form);
    try {
      const values = formValues(form);
      const chosen = form.querySelector("input[type=radio]:checked");
      if (chosen instanceof HTMLInputElement) values[chosen.name] = chosen.value;
      show(await api(`${API}/${caseId}/${path}`, { method: "POST", body: bodyOf(values) }));
      form.reset();
      flash(done, "ok");
    } catch (error) {
      showFormError(form, error);
    }
  });
}

async function exportReport(format) {
  try {
    await downloadFile(`${API}/${caseId}/${format === "csv" ? "export.csv" : "export"}`, {
      method: "POST",
      fallbackName: `aml-case-${caseId}.${format}`,
    });
    flash("Report exported.", "ok");
    await load();
  } catch (error) {
    flash(error instanceof Error ? error.message : String(error));
  }
}

async function main() {
  const me = await signedInShell();
  wire("note-form", "notes", (v) => ({ body: v.body }), "Note added.");
  wire("assign-form", "assign", (v) => ({ assignee_id: v.assignee_id || me.id }), "Case assigned.");
  wire("decision-form", "decision", (v) => ({
    decision: v.decision,
    note: v.note,
    report_reference: v.report_reference || null,
  }), "Decision recorded.");
  byId("export").addEventListener("click", () => exportReport("json"));
  byId("export-csv").addEventListener("click", () => exportReport("csv"));
  await load();
}

main().catch((error) => {
  if (error instanceof Error && /not signed in|may not use/.test(error.message)) return;
  byId("case-status").textContent = `Could not load the case: ${error instanceof Error ? error.message : error}`;
});
