// Sign in: POST /api/v1/login, keep the token pair, go where the visitor was headed. Google
// or Apple are offered too where this server is configured for them.

import { ApiError, api, homeFor, saveSession } from "../api.js";
import { offerProviders } from "../oidc.js";
import { byId, clearFormError, formValues, showFormError } from "../ui.js";

/** Only same-site paths, so the `next` parameter cannot send anyone elsewhere. */
export function safeNext(raw, role) {
  return raw && raw.startsWith("/") && !raw.startsWith("//") ? raw : homeFor(role);
}

const form = /** @type {HTMLFormElement} */ (byId("signin-form"));
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearFormError(form);
  const values = formValues(form);
  const body = { email: values.email, password: values.password };
  if (values.totp_code) body.totp_code = values.totp_code;
  const button = form.querySelector("button[type=submit]");
  button?.setAttribute("disabled", "");
  try {
    const pair = await api("/api/v1/login", { method: "POST", body, auth: false });
    saveSession(pair);
    location.assign(safeNext(new URLSearchParams(location.search).get("next"), pair.role));
  } catch (error) {
    if (error instanceof ApiError && error.problem.extra?.two_factor_required) {
      byId("totp-field").hidden = false;
      byId("totp_code").focus();
    }
    showFormError(form, error);
  } finally {
    button?.removeAttribute("disabled");
  }
});
byId("email").focus();
offerProviders(new URLSearchParams(location.search).get("next"));
