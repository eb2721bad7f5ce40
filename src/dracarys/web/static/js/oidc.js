// Sign-in with Google or Apple, offered only for the providers this server is configured
// for (GET /api/v1/auth/providers). Starting one remembers its `state` in this tab, so the
// page the provider sends the browser back to can refuse a sign-in this tab never began.

import { api } from "./api.js";
import { el } from "./ui.js";

export const OIDC_KEY = "dracarys.oidc";

/**
 * Fill the provider buttons of `_oidc_buttons.html` and show them, if any provider is
 * configured. `next` is where to go once signed in.
 * @param {string | null} next
 */
export async function offerProviders(next) {
  const box = document.getElementById("oidc-providers");
  const buttons = document.getElementById("oidc-buttons");
  const problem = document.getElementById("oidc-error");
  if (!box || !buttons) return;
  let providers = [];
  try {
    providers = await api("/api/v1/auth/providers", { auth: false });
  } catch {
    return; // the password form still works
  }
  buttons.replaceChildren(
    ...providers.map((provider) => {
      const button = el(
        "button",
        { type: "button", class: `oidc oidc-${provider.id}`, dataset: { provider: provider.id } },
        `Continue with ${provider.name}`,
      );
      button.addEventListener("click", async () => {
        button.setAttribute("disabled", "");
        if (problem) problem.textContent = "";
        try {
          const started = await api(
            `/api/v1/auth/oidc/${encodeURIComponent(provider.id)}/start`,
            { auth: false },
          );
          sessionStorage.setItem(
            OIDC_KEY,
            JSON.stringify({ provider: provider.id, state: started.state, next }),
          );
          location.assign(started.authorization_url);
        } catch (error) {
          if (problem) {
            problem.textContent = `${provider.name} sign-in could not start: ${
              error instanceof Error ? error.message : String(error)
            }. Try again, or use your password.`;
          }
          button.removeAttribute("disabled");
        }
      });
      return button;
    }),
  );
  box.hidden = providers.length === 0;
}
