// The share dialog of everything a member may share (a closed signal, their certificate,
// a badge they earned, a mentor's track record): pick a channel, get the tracked link
// (POST /api/v1/social/shares; the same thing on the same channel gives the same link),
// its card, and the channel's own page to post it on. The link earns points once enough
// signed-in people other than the sharer open it.

import { api } from "./api.js";
import { el } from "./ui.js";

export const CHANNELS = [
  ["x", "X"],
  ["facebook", "Facebook"],
  ["linkedin", "LinkedIn"],
  ["whatsapp", "WhatsApp"],
  ["telegram", "Telegram"],
  ["copy", "Copy link"],
];

export const KIND_NAMES = {
  signal: "Closed signal",
  certificate: "Certificate",
  badge: "Badge",
  track_record: "Track record",
};

/** "2 of 3 signed-in visitors so far", or that the share has qualified. */
export function progressText(share) {
  if (share.qualified) return "Qualified: enough signed-in people opened it, and its points are on their way (daily limits apply).";
  const left = share.visitors_needed - share.qualifying_visitors;
  return `${share.qualifying_visitors} of ${share.visitors_needed} signed-in visitors so far: ` +
    `${left} more and it earns points.`;
}

/**
 * A "Share" button for one thing.
 * @param {string} kind  signal | certificate | badge | track_record
 * @param {string} subjectId
 * @param {string} what  what is shared, for people ("your 7-day streak badge")
 */
export function shareButton(kind, subjectId, what) {
  return el("button", {
    type: "button", class: "share-button", "aria-haspopup": "dialog", "aria-label": `Share ${what}`,
    dataset: { shareKind: kind, shareSubject: subjectId },
    onclick: () => openShareDialog(kind, subjectId, what),
  }, "Share");
}

export function openShareDialog(kind, subjectId, what) {
  const status = el("p", { class: "hint", role: "status", id: "share-status" });
  const error = el("p", { class: "form-error", role: "alert", id: "share-error" });
  const linkInput = el("input", { id: "share-link", readonly: true, value: "" });
  const copy = el("button", { type: "button" }, "Copy");
  const post = el("a", { id: "share-post", class: "button primary", target: "_blank", rel: "noopener" });
  const image = el("img", { class: "share-card", id: "share-image", alt: "", width: "1200", height: "630" });
  const progress = el("p", { class: "hint", id: "share-progress" });
  const result = el("div", { class: "share-result", hidden: true },
    image,
    el("div", { class: "field" }, el("label", { for: "share-link" }, "Your link"), el("div", { class: "row" }, linkInput, copy)),
    post, progress);
  const buttons = CHANNELS.map(([channel, label]) => el("button", {
    type: "button", dataset: { channel }, onclick: () => choose(channel, label),
  }, label));
  const close = el("button", { type: "button" }, "Close");
  const dialog = el("dialog", { class: "share", "aria-labelledby": "share-title" },
    el("h2", { id: "share-title" }, `Share ${what}`),
    el("p", { class: "hint" }, "Pick where to post it. Your link earns points once enough people signed in " +
      "to Dracarys open it; your own visits and visits from your own network do not count."),
    el("div", { class: "share-channels", role: "group", "aria-label": "Where to share" }, ...buttons),
    result, error, status,
    el("div", { class: "row share-actions" }, el("a", { href: "/shares" }, "See all your shares"), close));

  async function copyLink() {
    linkInput.select();
    try {
      await navigator.clipboard.writeText(linkInput.value);
      status.textContent = "Link copied. Paste it wherever you like.";
    } catch {
      status.textContent = "Select the link above and copy it.";
    }
  }

  async function choose(channel, label) {
    error.textContent = "";
    status.textContent = "Making your link…";
    for (const button of buttons) button.disabled = true;
    try {
      const share = await api("/api/v1/social/shares", {
        method: "POST", body: { kind, subject_id: subjectId, channel },
      });
      linkInput.value = share.link;
      image.src = share.image_url;
      image.alt = `The card people see: ${share.title}`;
      progress.textContent = progressText(share);
      post.hidden = !share.post_url;
      if (share.post_url) {
        post.href = share.post_url;
        post.textContent = `Post it on ${label}`;
      }
      result.hidden = false;
      status.textContent = `Your ${label === "Copy link" ? "" : `${label} `}link is ready.`;
      if (channel === "copy") await copyLink();
    } catch (failure) {
      status.textContent = "";
      error.textContent = failure instanceof Error ? failure.message : String(failure);
    } finally {
      for (const button of buttons) button.disabled = false;
    }
  }

  copy.addEventListener("click", copyLink);
  close.addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  return dialog;
}
