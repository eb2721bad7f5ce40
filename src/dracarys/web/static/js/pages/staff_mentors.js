// Mentor vetting (staff): mentors on probation or unverified, longest-standing first;
// reviewers verify them and end their probation, admins also set their contract share.

import { api } from "../api.js";
import {
  byId, clearFormError, el, fill, fillTable, flash, showFormError, signedInShell, when,
} from "../ui.js";

let mentors = /** @type {any[]} */ ([]);

async function vet(mentor, change, done) {
  try {
    await api(`/api/v1/admin/mentors/${mentor.id}`, { method: "PATCH", body: change });
    flash(done, "ok");
  } catch (error) {
    flash(error instanceof Error ? error.message : String(error));
  }
  await loadMentors();
}

function vettingCell(m) {
  const state = [m.verified ? "Verified" : "Not verified", m.on_probation ? "on probation" : "probation ended"].join(", ");
  return el("td", {},
    el("p", {}, state),
    el("div", { class: "row" },
      m.verified ? null : el("button", {
        type: "button", onclick: () => vet(m, { verified: true }, `${m.name} is verified.`),
      }, `Verify ${m.name}`),
      m.on_probation ? el("button", {
        type: "button", class: "primary",
        onclick: () => vet(m, { on_probation: false }, `${m.name}'s probation is over: they are listed in mentor discovery.`),
      }, `End ${m.name}'s probation`) : null));
}

async function loadMentors() {
  mentors = await api("/api/v1/admin/mentors");
  byId("mentors-status").textContent = mentors.length
    ? `${mentors.length} mentor${mentors.length === 1 ? "" : "s"} to vet.`
    : "Every mentor is verified and off probation.";
  fillTable(byId("mentors"), mentors.map((m) => el("tr", { dataset: { mentor: m.id } },
    el("td", {}, el("a", { href: `/staff/users/${m.id}` }, m.name || m.id), m.status === "banned" ? " (banned)" : ""),
    el("td", {}, when(m.created_at)),
    el("td", {}, m.specialties.join(", ") || "None given"),
    el("td", { class: "num" }, String(m.total_sessions)),
    vettingCell(m))),
  "Every mentor is verified and off probation.");
  const select = /** @type {HTMLSelectElement} */ (byId("contract-mentor"));
  const chosen = select.value;
  fill(select, ...mentors.map((m) => el("option", { value: m.id }, m.name || m.id)));
  if (mentors.some((m) => m.id === chosen)) select.value = chosen;
}

/** "72.5" → 7250 basis points; anything else is NaN and the API names the field. */
function basisPoints(text) {
  const normalised = text.trim().replace(",", ".").replace(/%$/, "");
  return /^\d+(\.\d{1,2})?$/.test(normalised) ? Math.round(Number(normalised) * 100) : NaN;
}

async function setShare(event) {
  event.preventDefault();
  const form = /** @type {HTMLFormElement} */ (event.currentTarget);
  clearFormError(form);
  const mentorId = /** @type {HTMLSelectElement} */ (byId("contract-mentor")).value;
  const text = /** @type {HTMLInputElement} */ (byId("contract-share")).value;
  const shareBps = basisPoints(text);
  if (!mentorId) {
    byId("contract-mentor-error").textContent = "Choose a mentor.";
    return;
  }
  if (Number.isNaN(shareBps)) {
    byId("contract-share-error").textContent = "Give the share as a percentage, e.g. 70 or 72.5.";
    return;
  }
  try {
    await api(`/api/v1/admin/mentors/${mentorId}/contract`, { method: "PUT", body: { share_bps: shareBps } });
  } catch (error) {
    showFormError(form, error);
    return;
  }
  const name = mentors.find((m) => m.id === mentorId)?.name || mentorId;
  flash(`${name} now gets ${(shareBps / 100).toFixed(2)}% of each payment.`, "ok");
  form.reset();
}

async function main() {
  const me = await signedInShell();
  byId("contract-section").hidden = me.role !== "admin";
  byId("contract-form").addEventListener("submit", setShare);
  await loadMentors();
}

main().catch((error) => {
  if (error instanceof Error && /not signed in|may not use/.test(error.message)) return;
  byId("mentors-status").textContent = `Could not load the mentors: ${error instanceof Error ? error.message : error}`;
});
