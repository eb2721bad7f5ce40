// A marketing e-mail's link landed here (the click is already counted). A signed-in
// browser confirms the click for the member's points, then goes on to the e-mail's page;
// a signed-out one signs in first and comes back here. Anything that goes wrong still
// takes the person to the page.

import { api, currentSession } from "../api.js";
import { byId } from "../ui.js";

const box = byId("email-click");
const target = box.dataset.target || "/";
const token = box.dataset.token || "";

/** Same-site paths only, so a link can never send anyone elsewhere. */
function safe(path) {
  return path.startsWith("/") && !path.startsWith("//") ? path : "/";
}

async function main() {
  if (!currentSession()) {
    byId("click-status").textContent = "Sign in to continue.";
    location.replace(`/signin?next=${encodeURIComponent(location.pathname)}`);
    return;
  }
  try {
    await api("/api/v1/points/email-clicks/confirm", { method: "POST", body: { token } });
  } catch {
    // Someone else's link, or already confirmed: the page is still where the link goes.
  }
  location.replace(safe(target));
}

main();
