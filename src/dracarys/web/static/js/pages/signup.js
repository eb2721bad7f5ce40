// Sign up: POST /api/v1/signup, then sign in with the same credentials; or with Google or
// Apple where this server is configured for them (a first sign-in creates the account).

import { api, saveSession } from "../api.js";
import { offerProviders } from "../oidc.js";
import { byId, clearFormError, formValues, showFormError } from "../ui.js";

const form = /** @type {HTMLFormElement} */ (byId("signup-form"));
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearFormError(form);
  const values = formValues(form);
  const button = form.querySelector("button[type=submit]");
  button?.setAttribute("disabled", "");
  try {
    await api("/api/v1/signup", {
      method: "POST",
      auth: false,
      body: { email: values.email, password: values.password, name: values.name },
    });
    const pair = await api("/api/v1/login", {
      method: "POST",
      auth: false,
      body: { email: values.email, password: values.password },
    });
    saveSession(pair);
    location.assign("/onboarding");
  } catch (error) {
    showFormError(form, error);
  } finally {
    button?.removeAttribute("disabled");
  }
});
byId("name").focus();
// A referral link followed in this browser credits whoever shared it (the last one wins).
api("/api/v1/referrals/attribution", { auth: false })
  .then((found) => {
    if (found.name) byId("referred-by").textContent = `You were invited by ${found.name}.`;
  })
  .catch(() => {});
offerProviders(null);
