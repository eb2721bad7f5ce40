// Admins' queue of affiliate applications: approve with terms (percent of the platform's
// fee, months) or reject with a reason, through /api/v1/affiliates/{id}/decision; and the
// referrals the fraud rules refused, with what each rule found.

import { api } from "../api.js";
import { byId, el, fillTable, flash, signedInShell, when } from "../ui.js";

function decisionForm(application) {
  const id = application.user_id;
  const share = el("input", { id: `share-${id}`, type: "number", min: "0.01", max: "50", step: "0.01", value: "20" });
  const months = el("input", { id: `months-${id}`, type: "number", min: "1", max: "60", step: "1", value: "12" });
  const note = el("input", { id: `note-${id}`, value: "" });
  const decide = async (decision) => {
    byId("decision-error").textContent = "";
    const body = { decision, note: /** @type {HTMLInputElement} */ (note).value };
    if (decision === "approve") {
      body.share_bps = Math.round(Number(/** @type {HTMLInputElement} */ (share).value) * 100);
      body.months = Number(/** @type {HTMLInputElement} */ (months).value);
    }
    try {
      await api(`/api/v1/affiliates/${id}/decision`, { method: "POST", body });
      await load();
    } catch (error) {
      byId("decision-error").textContent =
        `${application.name}: ${error instanceof Error ? error.message : String(error)}`;
    }
  };
  return el("li", { class: "application" },
    el("h3", { class: "subhead" }, `${application.name} · applied ${when(application.applied_at)}`),
    el("p", {}, `Website: ${application.website}`),
    el("p", {}, `Audience: ${application.audience}`),
    el("p", {}, `Promotion: ${application.promotion}`),
    el("div", { class: "field" }, el("label", { for: `share-${id}` }, "Share of the platform's fee (%)"), share),
    el("div", { class: "field" }, el("label", { for: `months-${id}` }, "Months after each sign-up"), months),
    el("div", { class: "field" }, el("label", { for: `note-${id}` }, "Note to the applicant"), note),
    el("button", { type: "button", class: "primary", onclick: () => decide("approve") }, `Approve ${application.name}`),
    " ",
    el("button", { type: "button", onclick: () => decide("reject") }, `Reject ${application.name}`));
}

async function loadRefused() {
  const refused = await api("/api/v1/referrals/refused");
  fillTable(byId("refused-rows"), refused.map((r) => el("tr", {},
    el("td", {}, when(r.decided_at)),
    el("td", {}, r.referrer),
    el("td", {}, r.referee),
    el("td", {}, r.rule_description),
    el("td", {}, r.detail || "—"))),
  "No referral has been refused.");
}

async function load() {
  await loadRefused();
  const applications = await api("/api/v1/affiliates/applications");
  const list = byId("applications");
  list.replaceChildren(...applications.map(decisionForm));
  if (!applications.length) list.append(el("li", { class: "hint" }, "No application is waiting."));
  document.body.dataset.ready = "true";
}

try {
  await signedInShell();
  await load();
} catch (error) {
  if (error instanceof Error && error.message !== "not signed in" && error.message !== "this role may not use this page") {
    flash(error.message);
  }
}
