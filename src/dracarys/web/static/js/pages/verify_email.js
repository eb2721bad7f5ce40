// The page the verification e-mail links to: send the link's token to the API and say
// what happened — verified, already used, expired or not a link we sent.

import { ApiError, api, currentSession, homeFor } from "../api.js";
import { byId, el } from "../ui.js";

const OUTCOMES = {
  verified: [
    "Your e-mail address is verified",
    "Thank you. Your account can now use everything that needs a verified address.",
  ],
  already_used: [
    "This link was already used",
    "Each link works once. If you opened it before, your address is already verified; " +
      "signing in shows whether it is.",
  ],
  expired: [
    "This link has expired",
    "Verification links work for 24 hours. Sign in and choose “Re-send the e-mail” at the " +
      "top of any page to get a new one.",
  ],
  unknown: [
    "This link does not work",
    "It may have been cut short by your mail program: open the whole link from the " +
      "e-mail, or sign in and ask for a new one.",
  ],
  address_changed: [
    "This link is for an old address",
    "Your account no longer uses the address this link was sent to.",
  ],
  failed: [
    "We could not check your link",
    "Something went wrong on the way. Reload this page to try again.",
  ],
};

function show(outcome) {
  const [heading, detail] = OUTCOMES[outcome] || OUTCOMES.failed;
  const title = byId("verify-outcome");
  title.textContent = heading;
  byId("verify-detail").textContent = detail;
  document.body.dataset.outcome = outcome;
  const session = currentSession();
  byId("verify-next").replaceChildren(
    session
      ? el("a", { class: "button primary", href: homeFor(session.role) }, "Continue")
      : el("a", { class: "button primary", href: "/signin" }, "Sign in"),
  );
  title.focus();
}

const token = new URLSearchParams(location.search).get("token");
// The token is a one-time secret: keep it out of the history and of any later Referer.
history.replaceState(null, "", location.pathname);
if (!token) {
  show("unknown");
} else {
  try {
    await api(`/api/v1/verify-email?token=${encodeURIComponent(token)}`, { auth: false });
    show("verified");
  } catch (error) {
    const reason = error instanceof ApiError ? error.problem.extra?.reason : null;
    show(reason && reason in OUTCOMES ? reason : "failed");
  }
}
