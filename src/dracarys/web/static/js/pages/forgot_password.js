// Forgotten password: ask for a reset link. The server answers the same whether or not an
// account uses the address, and so does this page.

import { ApiError, api } from "../api.js";
import { byId, clearFormError, formValues, showFormError, waitPhrase } from "../ui.js";

const form = /** @type {HTMLFormElement} */ (byId("forgot-form"));
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearFormError(form);
  const { email } = formValues(form);
  if (!email) {
    showFormError(form, new ApiError(422, {
      detail: "enter the e-mail address of your account",
      errors: [{ field: "email", message: "Enter the e-mail address of your account." }],
    }));
    return;
  }
  const button = form.querySelector("button[type=submit]");
  button?.setAttribute("disabled", "");
  try {
    await api("/api/v1/password/forgot", { method: "POST", body: { email }, auth: false });
    byId("forgot-sent-detail").textContent =
      `If an account uses ${email}, we have sent it a link to choose a new password.`;
    form.hidden = true;
    const sent = byId("forgot-sent");
    sent.hidden = false;
    sent.focus();
  } catch (error) {
    if (error instanceof ApiError && error.status === 429) {
      const wait = waitPhrase(error.problem.extra?.retry_after_s ?? 3600);
      byId("form-error").textContent =
        `Several reset links were asked for this address or from your network recently, so we ` +
        `are holding off: you can ask again in ${wait}. The links already sent still work.`;
    } else {
      showFormError(form, error);
    }
  } finally {
    button?.removeAttribute("disabled");
  }
});
byId("email").focus();
