// Where YouTube or X send the browser back: check the connection was begun in this tab
// (the `state` it remembered), finish it through the API (POST /api/v1/social/verify),
// then go back to the follows page with what the platform said.

import { ApiError, api } from "../api.js";
import { byId, signedInShell } from "../ui.js";
import { SOCIAL_KEY } from "../follows.js";

const OUTCOME_KEY = "dracarys.social.outcome";

function fail(message) {
  const title = byId("callback-outcome");
  title.textContent = "The check did not finish";
  byId("callback-detail").textContent = message;
  byId("callback-next").hidden = false;
  title.focus();
}

await signedInShell();
const platform = byId("social-callback").dataset.platform || "";
const query = new URLSearchParams(location.search);
// The code and state are single-use secrets: out of the history.
history.replaceState(null, "", location.pathname);
let begun = null;
try {
  begun = JSON.parse(sessionStorage.getItem(SOCIAL_KEY) || "null");
} catch {
  begun = null;
}
sessionStorage.removeItem(SOCIAL_KEY);

if (query.get("error")) {
  fail("The connection was cancelled at the platform. You can connect again from your follows page.");
} else if (!begun || begun.platform !== platform || begun.state !== query.get("state") || !query.get("code")) {
  fail("This connection was not started from this browser tab, or was already used. Start again from your follows page.");
} else {
  byId("callback-detail").textContent = "Checking your follow…";
  try {
    const status = await api("/api/v1/social/verify", {
      method: "POST",
      body: { platform, code: query.get("code"), state: query.get("state") },
    });
    sessionStorage.setItem(OUTCOME_KEY, `${status.name}: ${status.message}`);
    location.assign("/social");
  } catch (error) {
    fail(error instanceof ApiError ? `${error.message[0].toUpperCase()}${error.message.slice(1)}` : "The platform could not be reached. Try again in a moment.");
  }
}
