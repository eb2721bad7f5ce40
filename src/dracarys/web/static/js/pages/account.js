// The account and its settings: the profile (GET /api/v1/users/{me}, PATCH …/profile), the
// e-mail and phone (an SMS code confirms a number), two-factor authentication (set up with
// a QR code, recovery codes shown once, turned off behind a step-up) and the signed-in
// devices, each of which can be signed out.

import { ApiError, api, signOut } from "../api.js";
import {
  byId,
  clearFormError,
  el,
  formValues,
  showFormError,
  signedInShell,
  waitPhrase,
  when,
} from "../ui.js";

const MAX_SPECIALTIES = 10;
let me = await signedInShell();

/** A 429 said kindly, with how long to wait; other errors go next to their field. */
function showRefusal(form, error, what) {
  if (error instanceof ApiError && error.status === 429) {
    const general = form.querySelector(".form-error");
    const wait = waitPhrase(error.problem.extra?.retry_after_s ?? 60);
    if (general) general.textContent = `${what} You can try again in ${wait}.`;
    return;
  }
  showFormError(form, error);
}

function fieldProblem(field, message) {
  return new ApiError(422, { detail: message, errors: [{ field, message }] });
}

/** A submit handler that disables the form's button while `work` runs. */
function onSubmit(form, work) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFormError(form);
    const button = form.querySelector("button[type=submit]");
    button?.setAttribute("disabled", "");
    try {
      await work();
    } finally {
      button?.removeAttribute("disabled");
    }
  });
}

// ---- profile -------------------------------------------------------------------------

const profileForm = /** @type {HTMLFormElement} */ (byId("profile-form"));

function setValue(id, value) {
  const input = /** @type {HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement} */ (byId(id));
  if (input instanceof HTMLSelectElement && value && ![...input.options].some((o) => o.value === value)) {
    input.append(el("option", { value }, value)); // set elsewhere, outside the offered list
  }
  input.value = value ?? "";
}

function fillProfile(profile) {
  setValue("name", profile.name);
  setValue("headline", profile.headline);
  setValue("bio", profile.bio);
  setValue("experience_level", profile.experience_level);
  setValue("trading_style", profile.trading_style);
  setValue("country", profile.country);
  setValue("language", profile.language || "en");
  // Unset, the zone this browser is in is offered: saving the profile keeps it.
  setValue("timezone", profile.timezone || Intl.DateTimeFormat().resolvedOptions().timeZone);
  for (const box of profileForm.querySelectorAll('input[name="specialty"]')) {
    const input = /** @type {HTMLInputElement} */ (box);
    input.checked = profile.specialties.includes(input.value);
  }
  for (const input of profileForm.querySelectorAll("input[data-platform]")) {
    const link = /** @type {HTMLInputElement} */ (input);
    link.value = profile.social_links[link.dataset.platform || ""] || "";
  }
}

onSubmit(profileForm, async () => {
  byId("profile-saved").textContent = "";
  const values = formValues(profileForm);
  const specialties = [...profileForm.querySelectorAll('input[name="specialty"]:checked')]
    .map((box) => /** @type {HTMLInputElement} */ (box).value);
  if (!values.name) {
    showFormError(profileForm, fieldProblem("name", "Enter the name others see."));
    return;
  }
  if (specialties.length > MAX_SPECIALTIES) {
    byId("specialties-error").textContent = `Choose at most ${MAX_SPECIALTIES} specialties.`;
    return;
  }
  /** @type {Record<string, unknown>} */
  const body = { name: values.name, headline: values.headline, bio: values.bio, specialties };
  for (const key of ["experience_level", "trading_style", "timezone", "country", "language"]) {
    if (values[key]) body[key] = values[key];
  }
  /** @type {Record<string, string>} */
  const links = {};
  for (const input of profileForm.querySelectorAll("input[data-platform]")) {
    const link = /** @type {HTMLInputElement} */ (input);
    const url = link.value.trim();
    if (!url) continue;
    if (!url.startsWith("https://")) {
      showFormError(profileForm, fieldProblem(link.name, "Give the whole address, starting with https://"));
      link.closest("details")?.setAttribute("open", "");
      return;
    }
    links[link.dataset.platform || ""] = url;
  }
  body.social_links = links;
  try {
    const saved = await api(`/api/v1/users/${me.id}/profile`, { method: "PATCH", body });
    fillProfile(saved);
    byId("profile-saved").textContent = "Saved.";
    const who = document.getElementById("whoami");
    if (who) who.textContent = `${saved.name} · ${me.role}`;
  } catch (error) {
    if (error instanceof ApiError && error.field?.startsWith("social_links")) {
      byId("profile-form").querySelector("details")?.setAttribute("open", "");
    }
    showFormError(profileForm, error);
  }
});

// ---- e-mail and phone ----------------------------------------------------------------

function badge(node, ok, okText, notText) {
  node.textContent = ok ? okText : notText;
  node.className = `badge ${ok ? "ok" : "warn"}`;
}

function showContact() {
  byId("email-address").textContent = me.email;
  badge(byId("email-state"), me.email_verified, "verified", "not verified");
  byId("phone-number").textContent = me.phone || "none yet";
  const phoneState = byId("phone-state");
  phoneState.hidden = !me.phone;
  badge(phoneState, me.phone_verified, "verified", "not verified");
  byId("phone-form").hidden = Boolean(me.phone && me.phone_verified);
}

const phoneForm = /** @type {HTMLFormElement} */ (byId("phone-form"));
const codeForm = /** @type {HTMLFormElement} */ (byId("phone-code-form"));

onSubmit(phoneForm, async () => {
  const { phone } = formValues(phoneForm);
  if (!phone && !me.phone) {
    showFormError(phoneForm, fieldProblem("phone", "Enter your phone number, e.g. +254712345678."));
    return;
  }
  byId("phone-status").textContent = "";
  try {
    await api("/api/v1/me/phone-verification", { method: "POST", body: { phone: phone || null } });
    byId("phone-code-sent").textContent =
      `We sent a 6-digit code to ${phone || me.phone}. It works for 10 minutes.`;
    codeForm.hidden = false;
    byId("phone-code").focus();
  } catch (error) {
    showRefusal(phoneForm, error, "We have just sent you a code, or several this hour.");
  }
});

onSubmit(codeForm, async () => {
  const { code } = formValues(codeForm);
  if (!code) {
    showFormError(codeForm, fieldProblem("code", "Enter the code from the SMS."));
    return;
  }
  try {
    await api("/api/v1/me/phone-verification/confirm", { method: "POST", body: { code } });
    me = await api("/api/v1/me");
    codeForm.reset();
    codeForm.hidden = true;
    phoneForm.reset();
    showContact();
    byId("phone-code-sent").textContent = "";
    byId("phone-status").textContent = "Your phone number is verified.";
  } catch (error) {
    showFormError(codeForm, error);
  }
});

// ---- two-factor authentication -------------------------------------------------------

const twoFactor = {
  state: byId("two-factor-state"),
  off: byId("totp-off"),
  enrol: byId("totp-enrol"),
  recovery: byId("totp-recovery"),
  on: byId("totp-on"),
};
const isStaff = me.role === "admin" || me.role === "reviewer";

function showTwoFactor(view) {
  for (const name of ["off", "enrol", "recovery", "on"]) twoFactor[name].hidden = name !== view;
  const enabled = view === "on" || view === "recovery";
  twoFactor.state.textContent = enabled
    ? "Two-factor authentication is on: signing in asks for a code from your authenticator app."
    : "Two-factor authentication is off.";
  byId("totp-disable-form").hidden = isStaff;
  byId("totp-staff-note").hidden = !isStaff;
}

byId("totp-begin").addEventListener("click", async () => {
  const begin = byId("totp-begin");
  begin.setAttribute("disabled", "");
  try {
    const enrolment = await api("/api/v1/me/totp", { method: "POST" });
    /** @type {HTMLImageElement} */ (byId("totp-qr")).src = enrolment.qr_code_data_uri;
    byId("totp-secret").textContent = enrolment.secret.replace(/(.{4})/g, "$1 ").trim();
    showTwoFactor("enrol");
    byId("totp-confirm-code").focus();
  } catch (error) {
    twoFactor.state.textContent = error instanceof Error ? error.message : String(error);
  } finally {
    begin.removeAttribute("disabled");
  }
});

const confirmForm = /** @type {HTMLFormElement} */ (byId("totp-confirm-form"));
onSubmit(confirmForm, async () => {
  const { code } = formValues(confirmForm);
  if (!code) {
    showFormError(confirmForm, fieldProblem("code", "Enter the 6-digit code your app shows."));
    return;
  }
  try {
    const { recovery_codes: codes } = await api("/api/v1/me/totp/confirm", {
      method: "POST",
      body: { code },
    });
    byId("recovery-codes").replaceChildren(...codes.map((c) => el("li", {}, el("code", {}, c))));
    confirmForm.reset();
    showTwoFactor("recovery");
    byId("recovery-saved").focus();
  } catch (error) {
    showRefusal(confirmForm, error, "Too many wrong codes.");
  }
});

byId("recovery-saved").addEventListener("click", () => {
  byId("recovery-codes").replaceChildren();
  showTwoFactor("on");
  byId("two-factor-heading").scrollIntoView({ block: "nearest" });
});

const disableForm = /** @type {HTMLFormElement} */ (byId("totp-disable-form"));
onSubmit(disableForm, async () => {
  const { code } = formValues(disableForm);
  if (!code) {
    showFormError(disableForm, fieldProblem("code", "Enter the 6-digit code your app shows."));
    return;
  }
  try {
    // The step-up proves it is you, now; the token it gives is what turning off needs.
    const { step_up_token: token } = await api("/api/v1/me/step-up", {
      method: "POST",
      body: { code },
    });
    await api("/api/v1/me/totp/disable", { method: "POST", body: { step_up_token: token } });
    disableForm.reset();
    showTwoFactor("off");
  } catch (error) {
    showRefusal(disableForm, error, "Too many wrong codes.");
  }
});

// ---- signed-in devices ---------------------------------------------------------------

async function showSessions() {
  const list = byId("session-list");
  const problem = byId("sessions-error");
  problem.textContent = "";
  let sessions;
  try {
    sessions = await api("/api/v1/me/sessions");
  } catch (error) {
    problem.textContent = `Your devices could not be listed: ${error instanceof Error ? error.message : error}`;
    return;
  }
  list.replaceChildren(
    ...sessions.map((session) => {
      const signOut = el(
        "button",
        {
          type: "button",
          class: "device-revoke",
          "aria-label": session.current
            ? `Sign out on this device (${session.device})`
            : `Sign out ${session.device}, signed in ${when(session.signed_in_at)}`,
        },
        session.current ? "Sign out here" : "Sign out",
      );
      signOut.addEventListener("click", () => revoke(session, signOut));
      return el(
        "li",
        { class: "device", dataset: { sessionId: session.id, current: String(session.current) } },
        el(
          "div",
          { class: "device-head" },
          el("strong", {}, session.device),
          session.current ? el("span", { class: "badge ok" }, "This device") : null,
        ),
        el(
          "p",
          { class: "muted" },
          `Signed in ${when(session.signed_in_at)} · last active ${when(session.last_seen_at)}`,
          session.source_ip ? ` · from ${session.source_ip}` : "",
        ),
        signOut,
      );
    }),
  );
}

async function revoke(session, button) {
  button.setAttribute("disabled", "");
  const path = `/api/v1/me/sessions/${session.id}`;
  // Ending this very session is signing out.
  if (session.current) return signOut(() => api(path, { method: "DELETE" }));
  try {
    await api(path, { method: "DELETE" });
  } catch (error) {
    byId("sessions-error").textContent = error instanceof Error ? error.message : String(error);
    button.removeAttribute("disabled");
    return;
  }
  await showSessions();
}

// ---- start ---------------------------------------------------------------------------

try {
  fillProfile(await api(`/api/v1/users/${me.id}`));
  /** @type {HTMLFieldSetElement} */ (byId("profile-fields")).disabled = false;
  showContact();
  showTwoFactor(me.two_factor_enabled ? "on" : "off");
  await showSessions();
  byId("account-status").hidden = true;
} catch (error) {
  byId("account-status").textContent =
    `Your account could not be loaded: ${error instanceof Error ? error.message : error}`;
}
if (location.hash === "#two-factor") {
  const section = byId("two-factor");
  section.scrollIntoView();
  section.focus();
}
