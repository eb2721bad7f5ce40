// One member (staff): profile; for admins the role, the KYC level override, ban and unban
// (each with a reason) and the audit trail with the chain check; for all staff the
// member's signed-in devices, each of which can be signed out.

import { api } from "../api.js";
import {
  byId, clearFormError, el, fill, fillTable, flash, formValues, showFormError, signedInShell, when,
} from "../ui.js";

const userId = /** @type {HTMLElement} */ (byId("member")).dataset.userId;
const ACTIONS = {
  "admin.ban": "Banned",
  "admin.unban": "Ban lifted",
  "admin.role_changed": "Role changed",
  "admin.kyc_override": "KYC level overridden",
  "admin.mentor_status": "Mentor vetting",
  "admin.session_revoked": "Signed out by staff",
  "auth.login": "Signed in",
  "auth.session_revoked": "Signed a device out",
  "user.signup": "Signed up",
  "kyc.approved": "KYC document approved",
  "kyc.rejected": "KYC document rejected",
};
/** @type {Map<string, string>} */
const names = new Map();
let member = /** @type {any} */ (null);

async function nameOf(id) {
  if (!names.has(id)) {
    try {
      names.set(id, (await api(`/api/v1/users/${id}`)).name);
    } catch {
      names.set(id, id);
    }
  }
  return names.get(id);
}

async function loadProfile() {
  member = await api(`/api/v1/users/${userId}`);
  names.set(userId, member.name);
  document.title = `${member.name} · Dracarys`;
  byId("page-title").textContent = member.name;
  byId("member-status").textContent = member.status === "banned" ? `${member.name} is banned.` : "";
  const row = (term, value) => [el("dt", {}, term), el("dd", {}, value)];
  fill(byId("profile"),
    ...row("E-mail", `${member.email}${member.email_verified ? " (verified)" : " (not verified)"}`),
    ...row("Phone", member.phone ? `${member.phone}${member.phone_verified ? " (verified)" : " (not verified)"}` : "None given"),
    ...row("Role", member.role),
    ...row("Status", member.status === "banned" ? "Banned" : "Active"),
    ...row("KYC level", `${member.kyc_level} of 3`),
    ...row("Two-factor", member.two_factor_enabled ? "On" : "Off"),
    ...row("Country", member.country || "Not given"),
    ...row("Member since", when(member.joined_at)),
    ...row("Account id", member.id));
  /** @type {HTMLSelectElement} */ (byId("role-role")).value = member.role;
  /** @type {HTMLSelectElement} */ (byId("kyc-level")).value = String(member.kyc_level);
  const banned = member.status === "banned";
  byId("ban-form").hidden = banned;
  byId("unban-form").hidden = !banned;
  byId("ban-state").textContent = banned ? `${member.name} is banned and cannot sign in.` : "";
}

async function loadSessions() {
  const sessions = await api(`/api/v1/admin/users/${userId}/sessions`);
  byId("sessions-status").textContent = sessions.length
    ? `${sessions.length} signed-in device${sessions.length === 1 ? "" : "s"}.`
    : "Not signed in anywhere.";
  fillTable(byId("sessions"), sessions.map((s) => el("tr", { dataset: { session: s.id } },
    el("td", {}, s.device),
    el("td", {}, when(s.signed_in_at)),
    el("td", {}, when(s.last_seen_at)),
    el("td", {}, s.source_ip || "Unknown"),
    el("td", {}, s.two_factor ? "Yes" : "No"),
    el("td", {}, el("button", { type: "button", onclick: () => revoke(s) }, `Sign out ${s.device}`)))),
  "Not signed in anywhere.");
}

async function revoke(session) {
  try {
    await api(`/api/v1/admin/users/${userId}/sessions/${session.id}`, { method: "DELETE" });
    flash(`${session.device} of ${member.name} is signed out.`, "ok");
  } catch (error) {
    flash(error instanceof Error ? error.message : String(error));
  }
  await Promise.all([loadSessions(), loadAudit()]);
}

function detailsText(details) {
  return Object.entries(details || {})
    .filter(([, value]) => value !== "" && value !== null)
    .map(([key, value]) => `${key.replaceAll("_", " ")}: ${Array.isArray(value) ? value.join(", ") : value}`)
    .join(" · ");
}

async function loadAudit() {
  if (byId("audit-section").hidden) return;
  const entries = await api(`/api/v1/admin/users/${userId}/audit`);
  await Promise.all([...new Set(entries.map((e) => e.actor_id).filter(Boolean))].map(nameOf));
  fillTable(byId("audit"), entries.map((e) => {
    const onOther = e.target !== `user:${userId}`;
    return el("tr", { dataset: { action: e.action } },
      el("td", {}, when(e.occurred_at)),
      el("td", {}, `${ACTIONS[e.action] || e.action}${onOther ? ` (${e.target})` : ""}`),
      el("td", {}, e.actor_id ? names.get(e.actor_id) || e.actor_id : "The system"),
      el("td", {}, detailsText(e.details)));
  }), "Nothing recorded yet.");
}

/** Send a form's values to the API; its errors go beside its fields. */
function onSubmit(formId, send, done) {
  const form = /** @type {HTMLFormElement} */ (byId(formId));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFormError(form);
    try {
      await send(formValues(form));
    } catch (error) {
      showFormError(form, error);
      return;
    }
    form.reset();
    flash(done(), "ok");
    await Promise.all([loadProfile(), loadSessions(), loadAudit()]);
  });
}

async function main() {
  const me = await signedInShell();
  const admin = me.role === "admin";
  for (const id of ["ban-section", "role-section", "audit-section"]) byId(id).hidden = !admin;
  byId("admin-only-note").hidden = admin;
  onSubmit("ban-form",
    (values) => api(`/api/v1/admin/users/${userId}/ban`, { method: "POST", body: { reason: values.reason } }),
    () => `${member.name} is banned and signed out everywhere.`);
  onSubmit("unban-form",
    () => api(`/api/v1/admin/users/${userId}/unban`, { method: "POST" }),
    () => `The ban on ${member.name} is lifted.`);
  onSubmit("role-form",
    (values) => api(`/api/v1/admin/users/${userId}/role`, { method: "PUT", body: { role: values.role } }),
    () => `${member.name} has a new role.`);
  onSubmit("kyc-form",
    (values) => api(`/api/v1/admin/users/${userId}/kyc-level`, {
      method: "PUT", body: { level: Number(values.level), reason: values.reason },
    }),
    () => `The KYC level of ${member.name} is overridden.`);
  byId("chain-check").addEventListener("click", async () => {
    byId("chain-status").textContent = "Checking the chain…";
    try {
      const result = await api("/api/v1/admin/audit/verify");
      byId("chain-status").textContent = result.ok
        ? `The chain is unbroken: ${result.rows_checked} entries checked.`
        : `The chain is broken: ${result.problems.join("; ")}`;
    } catch (error) {
      byId("chain-status").textContent = `The check could not run: ${error instanceof Error ? error.message : error}`;
    }
  });
  await loadProfile();
  await Promise.all([loadSessions(), loadAudit()]);
}

main().catch((error) => {
  if (error instanceof Error && /not signed in|may not use/.test(error.message)) return;
  byId("member-status").textContent = `Could not load the member: ${error instanceof Error ? error.message : error}`;
});
