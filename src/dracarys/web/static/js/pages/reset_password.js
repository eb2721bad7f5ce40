// Choose a new password with the token of a mailed reset link. The server signs every
// device out, this browser included.

import { ApiError, api, clearSession } from "../api.js";
import { byId, clearFormError, showFormError } from "../ui.js";

const LINK_PROBLEMS = {
  already_used: "This reset link was already used. Ask for a new one if you still need to choose a password.",
  expired: "This reset link has expired: links work for 30 minutes. Ask for a new one.",
  unknown: "This reset link does not work. Open the whole link from the e-mail, or ask for a new one.",
  address_changed: "This reset link can no longer be used for your account. Ask for a new one.",
};

const token = new URLSearchParams(location.search).get("token");
// A one-time secret: out of the history and of any later Referer.
history.replaceState(null, "", location.pathname);
const form = /** @type {HTMLFormElement} */ (byId("reset-form"));

function linkProblem(reason) {
  byId("form-error").textContent = LINK_PROBLEMS[reason] || LINK_PROBLEMS.unknown;
  byId("link-help").hidden = false;
}

if (!token) linkProblem("unknown");

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearFormError(form);
  if (!token) {
    linkProblem("unknown");
    return;
  }
  // Not trimmed: a password is taken exactly as typed.
  const password = /** @type {HTMLInputElement} */ (byId("password")).value;
  if (password !== /** @type {HTMLInputElement} */ (byId("password_again")).value) {
    showFormError(form, new ApiError(422, {
      detail: "the two passwords differ",
      errors: [{ field: "password_again", message: "The two passwords differ: type the same one twice." }],
    }));
    return;
  }
  const button = form.querySelector("button[type=submit]");
  button?.setAttribute("disabled", "");
  try {
    await api("/api/v1/password/reset", { method: "POST", body: { token, password }, auth: false });
    clearSession();
    form.hidden = true;
    const done = byId("reset-done");
    done.hidden = false;
    done.focus();
  } catch (error) {
    const reason = error instanceof ApiError ? error.problem.extra?.reason : null;
    if (reason) linkProblem(reason);
    else showFormError(form, error);
  } finally {
    button?.removeAttribute("disabled");
  }
});
byId("password").focus();
