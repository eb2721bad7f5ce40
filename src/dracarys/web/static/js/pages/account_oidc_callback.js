// Where Google or Apple send the browser back: check the sign-in was begun in this tab
// (the `state` it remembered), finish it through the API, keep the session, go on.

import { ApiError, api, homeFor, saveSession } from "../api.js";
import { OIDC_KEY } from "../oidc.js";
import { byId } from "../ui.js";

/** Only same-site paths, so the remembered `next` cannot send anyone elsewhere. */
function safeNext(raw, role) {
  return raw && raw.startsWith("/") && !raw.startsWith("//") ? raw : homeFor(role);
}

function fail(message) {
  const title = byId("oidc-outcome");
  title.textContent = "Sign-in did not finish";
  byId("oidc-detail").textContent = message;
  byId("oidc-next").hidden = false;
  title.focus();
}

const provider = byId("oidc-callback").dataset.provider || "";
const query = new URLSearchParams(location.search);
// The code and state are single-use secrets: out of the history.
history.replaceState(null, "", location.pathname);
let begun = null;
try {
  begun = JSON.parse(sessionStorage.getItem(OIDC_KEY) || "null");
} catch {
  begun = null;
}
sessionStorage.removeItem(OIDC_KEY);

if (query.get("error")) {
  fail("The sign-in was cancelled or refused at the provider. You can try again, or use your password.");
} else if (!begun || begun.provider !== provider || begun.state !== query.get("state") || !query.get("code")) {
  fail("This sign-in was not started from this browser tab, or has already been used. Start again from the sign-in page.");
} else {
  byId("oidc-detail").textContent = "Finishing your sign-in…";
  try {
    const pair = await api(`/api/v1/auth/oidc/${encodeURIComponent(provider)}/callback`, {
      method: "POST",
      auth: false,
      body: { code: query.get("code"), state: query.get("state") },
    });
    saveSession(pair);
    location.assign(safeNext(begun.next, pair.role));
  } catch (error) {
    fail(error instanceof ApiError ? `${error.message[0].toUpperCase()}${error.message.slice(1)}.` : "The provider could not be reached. Try again in a moment.");
  }
}
