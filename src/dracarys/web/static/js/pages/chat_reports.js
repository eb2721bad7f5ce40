// Chat reports (staff): messages members reported, oldest first; dismiss the report, or
// remove the message (its members then see that a moderator removed it).

import { api } from "../api.js";
import { byId, el, fill, flash, signedInShell, when } from "../ui.js";

const API = "/api/v1/chat/reports";

async function resolve(report, outcome) {
  try {
    await api(`${API}/${report.id}/resolve`, { method: "POST", body: { outcome, note: "" } });
    flash(outcome === "removed" ? "Message removed." : "Report dismissed.", "ok");
    await load();
  } catch (error) {
    flash(error instanceof Error ? error.message : String(error));
  }
}

async function load() {
  const reports = await api(`${API}/`);
  byId("reports-status").textContent = reports.length
    ? `${reports.length} report${reports.length === 1 ? "" : "s"} waiting.`
    : "No reports are waiting.";
  fill(byId("reports"), ...reports.map((r) => el("li", { dataset: { report: r.id } },
    el("p", { class: "hint" }, `${r.reporter_name} reported ${r.sender_name}'s message · ${when(r.created_at)}`),
    el("blockquote", {}, r.body || `(${r.kind})`),
    el("p", {}, `Reason: ${r.reason}`),
    el("div", { class: "row" },
      el("button", { type: "button", onclick: () => resolve(r, "dismissed") }, "Dismiss"),
      el("button", { type: "button", class: "primary", onclick: () => resolve(r, "removed") }, "Remove message")))));
}

async function main() {
  await signedInShell();
  await load();
}

main().catch((error) => {
  if (error instanceof Error && /not signed in|may not use/.test(error.message)) return;
  byId("reports-status").textContent = `Could not load the reports: ${error instanceof Error ? error.message : error}`;
});
