// The public page a certificate's link opens: anyone can check that it is genuine (the
// id is signed by the server), whose it is, for which program and when it was earned;
// its holder, signed in, can share it.

import { ApiError, api, currentSession } from "../api.js";
import { pageId } from "../learning.js";
import { shareButton } from "../share.js";
import { byId, el } from "../ui.js";

const certificateId = pageId("certificate", "certificateId");
const heading = byId("certificate-outcome");

try {
  const certificate = await api(`/api/v1/certificates/${encodeURIComponent(certificateId)}`, { auth: false });
  heading.textContent = "This certificate is genuine";
  const granted = new Date(certificate.granted_at).toLocaleDateString("en-GB", { day: "numeric", month: "long", year: "numeric" });
  const details = byId("certificate-details");
  details.replaceChildren(
    el("div", {}, el("dt", {}, "Awarded to"), el("dd", { id: "certificate-holder" }, certificate.holder_name)),
    el("div", {}, el("dt", {}, "For completing"), el("dd", { id: "certificate-program" }, certificate.program_title)),
    el("div", {}, el("dt", {}, "On"), el("dd", {}, granted)));
  details.hidden = false;
  byId("certificate-detail").textContent = "Dracarys issued this certificate; its link cannot be altered without this check failing.";
  const links = byId("certificate-links");
  links.replaceChildren(el("a", { class: "button", href: certificate.pdf_url }, "Download the certificate (PDF)"));
  // Its holder may share it (a tracked link with a card); anyone else just checks it.
  if (currentSession()?.user_id === certificate.user_id) {
    links.append(" ", shareButton("certificate", certificate.id, "your certificate"));
  }
} catch (failure) {
  heading.textContent = "This certificate could not be verified";
  byId("certificate-detail").textContent = failure instanceof ApiError && failure.status === 404
    ? "The link is not one Dracarys issued, or it was changed. Ask its holder for the original link."
    : "Dracarys could not be reached to check it. Try again in a moment.";
}
heading.focus();
