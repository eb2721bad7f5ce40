// Follow us: a card per platform (GET /api/v1/social/verifications) with our account,
// where the member's follow stands and what to do next. YouTube and X connect through the
// platform (POST .../verify/{platform}/start, then the platform sends the browser to
// /social/callback/{platform}); "Check again" asks the platform anew; Instagram and
// TikTok (and X when its API refuses the lookup) take a screenshot and the profile link
// (POST /api/v1/social/proofs), which a reviewer decides. The reward comes from the
// points rules (GET /api/v1/points/rules).

import { ApiError, api, uploadFile } from "../api.js";
import { byId, clearFormError, el, fill, flash, showFormError, signedInShell, when } from "../ui.js";
import { SOCIAL_KEY } from "../follows.js";

const OUTCOME_KEY = "dracarys.social.outcome";

const BADGES = {
  not_connected: { text: "Not verified yet", badge: "" },
  not_following: { text: "Not following yet", badge: "warn" },
  pending_review: { text: "Waiting for review", badge: "warn" },
  verified: { text: "Verified", badge: "ok" },
  revoked: { text: "Points taken back", badge: "bad" },
  manual_required: { text: "Needs a screenshot", badge: "warn" },
};

const EXAMPLES = {
  instagram: "https://www.instagram.com/yourname/",
  tiktok: "https://www.tiktok.com/@yourname",
  x: "https://x.com/yourname",
  youtube: "https://www.youtube.com/@yourname",
};

await signedInShell();

function sentence(message) {
  return message ? `${message[0].toUpperCase()}${message.slice(1)}` : message;
}

async function connect(status, button) {
  button.setAttribute("disabled", "");
  try {
    const started = await api(`/api/v1/social/verify/${status.platform}/start`, { method: "POST" });
    sessionStorage.setItem(SOCIAL_KEY, JSON.stringify({ platform: status.platform, state: started.state }));
    location.assign(started.authorization_url);
  } catch (error) {
    button.removeAttribute("disabled");
    flash(error instanceof Error ? sentence(error.message) : String(error));
  }
}

async function checkAgain(status, button) {
  button.setAttribute("disabled", "");
  byId("outcome").textContent = `Checking with ${status.name}…`;
  try {
    const updated = await api(`/api/v1/social/verifications/${status.platform}/check`, { method: "POST" });
    byId("outcome").textContent = `${status.name}: ${updated.message}`;
    await load();
  } catch (error) {
    byId("outcome").textContent = "";
    button.removeAttribute("disabled");
    flash(error instanceof Error ? sentence(error.message) : String(error));
  }
}

function proofForm(status) {
  const link = `profile-${status.platform}`;
  const file = `shot-${status.platform}`;
  const form = el("form", { class: "social-proof", novalidate: true, dataset: { platform: status.platform } },
    el("div", { class: "field" },
      el("label", { for: link }, `Link to your ${status.name} profile`),
      el("input", {
        id: link, name: "profile_url", type: "url", inputmode: "url", autocomplete: "url",
        placeholder: EXAMPLES[status.platform], "aria-describedby": `${link}-error`,
      }),
      el("p", { class: "field-error", id: `${link}-error`, role: "alert" })),
    el("div", { class: "field" },
      el("label", { for: file }, "Screenshot of your profile showing you follow us (PNG, JPEG or WebP)"),
      el("input", {
        id: file, name: "file", type: "file", accept: "image/png,image/jpeg,image/webp",
        "aria-describedby": `${file}-error`,
      }),
      el("p", { class: "field-error", id: `${file}-error`, role: "alert" })),
    el("p", { class: "form-error", role: "alert" }),
    el("button", { type: "submit", class: "primary" }, `Send my ${status.name} proof`));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFormError(form);
    const input = /** @type {HTMLInputElement} */ (form.querySelector("input[type=file]"));
    const url = /** @type {HTMLInputElement} */ (form.querySelector("input[name=profile_url]"));
    const chosen = input.files && input.files[0];
    if (!chosen) {
      showFormError(form, new ApiError(422, {
        detail: "Choose the screenshot to send.",
        errors: [{ field: "file", message: "Choose the screenshot to send." }],
      }));
      return;
    }
    const button = form.querySelector("button[type=submit]");
    button?.setAttribute("disabled", "");
    try {
      await uploadFile("/api/v1/social/proofs", chosen, {
        fields: { platform: status.platform, profile_url: url.value.trim() },
        tooLarge: "This screenshot is too large. Send a smaller one.",
      });
      byId("outcome").textContent = `Your ${status.name} proof was sent. A reviewer will check it.`;
      await load();
    } catch (error) {
      button?.removeAttribute("disabled");
      showFormError(form, error);
    }
  });
  return form;
}

function card(status, reward) {
  const shown = BADGES[status.status] || { text: status.status, badge: "" };
  const headingId = `platform-${status.platform}-heading`;
  const item = el("li", { class: "card", "aria-labelledby": headingId, dataset: { platform: status.platform, status: status.status } },
    el("h2", { id: headingId }, `${status.name} `,
      el("span", { class: `badge ${shown.badge}`, dataset: { status: status.status } }, shown.text)),
    el("p", {}, "Our account: ",
      el("a", { href: status.our_account_url, rel: "noopener noreferrer", target: "_blank" }, status.our_account)),
    reward && !status.award_claimed ? el("p", { class: "hint" }, `Earns ${reward} points once.`) : null,
    el("p", { class: "social-message" }, status.message));
  if (status.verified_at) item.append(el("p", { class: "hint" }, `Verified ${when(status.verified_at)}`));
  const proof = status.latest_proof;
  if (proof && proof.status === "pending") {
    item.append(el("p", { class: "hint" }, `Proof sent ${when(proof.submitted_at)} for `,
      el("a", { href: proof.profile_url, rel: "noopener noreferrer", target: "_blank" }, proof.profile_url)));
  }
  const actions = el("div", { class: "row" });
  if (status.can_connect) {
    const label = status.status === "not_following" || status.status === "revoked"
      ? `Connect ${status.name} again` : `Connect ${status.name}`;
    const button = el("button", { type: "button", class: status.status === "not_following" ? "" : "primary" }, label);
    button.addEventListener("click", () => connect(status, button));
    if (status.status === "not_following" && status.method === "oauth") {
      const again = el("button", { type: "button", class: "primary" }, "Check again");
      again.addEventListener("click", () => checkAgain(status, again));
      actions.append(again);
    }
    actions.append(button);
  }
  if (actions.childElementCount) item.append(actions);
  if (status.can_submit_proof) item.append(proofForm(status));
  return item;
}

async function rewardPoints() {
  try {
    const rules = await api("/api/v1/points/rules", { auth: false });
    const rule = (Array.isArray(rules) ? rules : rules.rules || []).find((r) => r.code === "social_follow");
    return rule ? rule.points : null;
  } catch {
    return null; // the page works without the figure
  }
}

let reward = null;

async function load() {
  const mine = await api("/api/v1/social/verifications");
  const list = byId("platforms");
  fill(list, ...mine.platforms.map((status) => card(status, reward)));
  list.setAttribute("aria-busy", "false");
}

const earlier = sessionStorage.getItem(OUTCOME_KEY);
if (earlier) {
  sessionStorage.removeItem(OUTCOME_KEY);
  byId("outcome").textContent = earlier;
}
reward = await rewardPoints();
if (reward) {
  const hint = byId("reward");
  hint.textContent = `A verified follow earns ${reward} points, once per platform. We check YouTube and X follows again regularly: unfollowing takes the points back.`;
  hint.hidden = false;
}
try {
  await load();
} catch (error) {
  fill(byId("platforms"), el("li", { class: "hint" }, "Your follows could not be loaded. Try again in a moment."));
  flash(error instanceof Error ? sentence(error.message) : String(error));
}
