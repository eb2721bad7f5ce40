// Referrals: the member's link (copy, QR code served by /r/{code}/qr.svg), who they
// referred with each referral's status, and who referred them, from /api/v1/referrals/me.

import { api } from "../api.js";
import { byId, el, fillTable, flash, num, signedInShell, when } from "../ui.js";

const STATUS = {
  signed_up: "Signed up; counts at their first paid session",
  completed: "Completed",
  refused: "Not counted",
};

function refereeRow(referee) {
  const status = referee.status === "refused" && referee.refusal
    ? `${STATUS.refused}: ${referee.refusal}`
    : STATUS[referee.status] || referee.status;
  return el("tr", {},
    el("td", {}, referee.name),
    el("td", {}, when(referee.signed_up_at)),
    el("td", { class: `status-${referee.status}` }, status),
    el("td", {}, referee.decided_at ? when(referee.decided_at) : "—"));
}

async function load() {
  const mine = await api("/api/v1/referrals/me");
  const link = /** @type {HTMLInputElement} */ (byId("referral-link"));
  link.value = mine.link;
  byId("window-days").textContent = String(mine.attribution_days);
  const qr = /** @type {HTMLImageElement} */ (byId("qr"));
  qr.src = mine.qr_svg_url;
  qr.hidden = false;
  const download = /** @type {HTMLAnchorElement} */ (byId("qr-download"));
  download.href = mine.qr_svg_url;
  download.hidden = false;
  byId("clicks").textContent = num(mine.clicks, 0);
  byId("signed-up").textContent = num(mine.signed_up, 0);
  byId("completed").textContent = num(mine.completed, 0);
  byId("refused").textContent = num(mine.refused, 0);
  byId("referred-by").textContent = mine.referred_by
    ? `You were referred by ${mine.referred_by.name}.` : "";
  fillTable(byId("referee-rows"), mine.referees.map(refereeRow),
    "Nobody has signed up through your link yet.");
}

async function showRulePoints() {
  try {
    const page = await api("/api/v1/points/rules", { auth: false });
    const rule = page.rules.find((r) => r.code === "referral_completed");
    if (rule) byId("referral-points").textContent = `${num(rule.points, 0)} points`;
  } catch {
    // The sentence reads well without the figure.
  }
}

byId("copy-link").addEventListener("click", async () => {
  const link = /** @type {HTMLInputElement} */ (byId("referral-link"));
  try {
    await navigator.clipboard.writeText(link.value);
    byId("copy-status").textContent = "Link copied.";
  } catch {
    link.select();
    byId("copy-status").textContent = "Select the link and copy it.";
  }
});

try {
  await signedInShell();
  await Promise.all([load(), showRulePoints()]);
} catch (error) {
  if (error instanceof Error && error.message !== "not signed in") flash(error.message);
}
