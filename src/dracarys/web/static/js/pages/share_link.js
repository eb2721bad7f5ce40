// A share link (/s/{token}): count this visit (as the signed-in member when there is a
// session, else anonymously) and send the visitor on to the shared thing, with its UTM
// parameters. Crawlers never run this: they read the page's Open Graph tags.

import { accessToken, currentSession } from "../api.js";
import { byId } from "../ui.js";

const box = byId("share");
const token = box.dataset.token || "";
const target = box.dataset.target || "/";

/** POST the visit; a refused session (expired, read-only) is counted as anonymous. */
async function countVisit() {
  const path = `/api/v1/social/shares/${encodeURIComponent(token)}/visits`;
  const bearer = currentSession() ? await accessToken() : null;
  if (bearer) {
    const response = await fetch(path, {
      method: "POST", headers: { Accept: "application/json", Authorization: `Bearer ${bearer}` },
    });
    if (response.ok) return;
  }
  await fetch(path, { method: "POST", headers: { Accept: "application/json" } });
}

try {
  await countVisit();
} catch {
  // Not counted (offline, server busy): the visitor still gets where they were going.
}
location.replace(target);
