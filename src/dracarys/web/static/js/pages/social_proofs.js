// The reviewers' queue of manual follow proofs (GET /api/v1/social/proofs/queue): each
// with its member, platform, profile link and screenshot (fetched with the session's
// token and shown from memory), approved or rejected with a reason
// (POST /api/v1/social/proofs/{id}/approve | reject).

import { ApiError, accessToken, api } from "../api.js";
import { byId, el, fill, flash, showFormError, signedInShell, when } from "../ui.js";

const NAMES = { youtube: "YouTube", x: "X", instagram: "Instagram", tiktok: "TikTok" };

await signedInShell();

/** The screenshot as an object URL: an <img> cannot send the bearer token itself. */
async function screenshotUrl(proof) {
  const token = await accessToken();
  const response = await fetch(proof.screenshot_url, {
    headers: token ? { Authorization: `Bearer ${token}` } : {},
  });
  if (!response.ok) throw new Error("The screenshot could not be loaded.");
  return URL.createObjectURL(await response.blob());
}

function proofItem(proof) {
  const platform = NAMES[proof.platform] || proof.platform;
  const reasonId = `reason-${proof.id}`;
  const shot = el("img", {
    alt: `Screenshot sent by ${proof.member_name} as proof of following us on ${platform}`,
    style: "max-width: 100%; height: auto; max-height: 28rem; border: 1px solid #ccd; border-radius: 0.5rem",
  });
  const form = el("form", { class: "proof-decision", novalidate: true },
    el("div", { class: "field" },
      el("label", { for: reasonId }, "Reason (required to reject; the member reads it)"),
      el("input", { id: reasonId, name: "reason", maxlength: "500", autocomplete: "off", "aria-describedby": `${reasonId}-error` }),
      el("p", { class: "field-error", id: `${reasonId}-error`, role: "alert" })),
    el("p", { class: "form-error", role: "alert" }),
    el("div", { class: "row" },
      el("button", { type: "submit", class: "primary", value: "approve" }, "Approve"),
      el("button", { type: "submit", value: "reject" }, "Reject")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const submitter = /** @type {SubmitEvent} */ (event).submitter;
    const verdict = submitter instanceof HTMLButtonElement ? submitter.value : "approve";
    const reason = /** @type {HTMLInputElement} */ (form.querySelector("input[name=reason]")).value.trim();
    for (const button of form.querySelectorAll("button")) button.setAttribute("disabled", "");
    try {
      await api(`/api/v1/social/proofs/${proof.id}/${verdict}`, { method: "POST", body: { reason } });
      await load(verdict === "approve"
        ? `Approved ${proof.member_name}'s ${platform} proof: the follow is verified.`
        : `Rejected ${proof.member_name}'s ${platform} proof; they can send another.`);
    } catch (error) {
      for (const button of form.querySelectorAll("button")) button.removeAttribute("disabled");
      showFormError(form, error);
    }
  });
  const item = el("li", { class: "card", dataset: { proof: proof.id } },
    el("h2", {}, `${proof.member_name} · ${platform}`),
    el("p", {}, "Profile: ",
      el("a", { href: proof.profile_url, rel: "noopener noreferrer", target: "_blank" }, proof.profile_url)),
    el("p", { class: "hint" }, `Sent ${when(proof.submitted_at)}`),
    shot,
    form);
  screenshotUrl(proof).then((url) => {
    shot.setAttribute("src", url);
  }).catch((error) => {
    shot.replaceWith(el("p", { class: "form-error" }, error instanceof Error ? error.message : String(error)));
  });
  return item;
}

/** Redraw the queue; `done` says what the reviewer just did. */
async function load(done = "") {
  const proofs = await api("/api/v1/social/proofs/queue");
  fill(byId("proofs"), ...proofs.map(proofItem));
  const waiting = proofs.length
    ? `${proofs.length} proof${proofs.length === 1 ? "" : "s"} waiting for review.`
    : "No proof is waiting for review.";
  byId("queue-status").textContent = done ? `${done} ${waiting}` : waiting;
}

try {
  await load();
} catch (error) {
  if (error instanceof ApiError && error.problem.extra?.two_factor_required) {
    fill(byId("queue-status"),
      "The queue opens once you sign in with two-factor authentication. ",
      el("a", { href: "/account#two-factor" }, "Set up two-factor authentication"),
      ", then sign out and in again with your authenticator code.");
  } else {
    byId("queue-status").textContent = "The queue could not be loaded.";
    flash(error instanceof Error ? error.message : String(error));
  }
}
