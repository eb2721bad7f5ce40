// My shares (/shares): every link the member shared (GET /api/v1/social/shares), what it
// shows, where it went, who opened it (signed in, counting towards points, and anonymous)
// and whether it qualified for points.

import { api } from "../api.js";
import { CHANNELS, KIND_NAMES, progressText } from "../share.js";
import { byId, el, fillTable, flash, num, signedInShell, when } from "../ui.js";

const channelNames = new Map(CHANNELS);

function row(share) {
  const counted = share.signed_in_visitors === share.qualifying_visitors
    ? num(share.signed_in_visitors, 0)
    : `${num(share.signed_in_visitors, 0)} (${num(share.qualifying_visitors, 0)} counting)`;
  return el("tr", { dataset: { shareId: share.id } },
    el("td", {}, el("strong", {}, share.title), el("div", { class: "hint" }, `${KIND_NAMES[share.kind] || share.kind} · ${when(share.created_at)}`)),
    el("td", {}, channelNames.get(share.channel) || share.channel),
    el("td", {}, el("a", { href: share.link }, share.link.replace(/^https?:\/\//, ""))),
    el("td", { class: "num" }, counted),
    el("td", { class: "num" }, num(share.anonymous_visitors, 0)),
    el("td", { class: share.qualified ? "up" : "" },
      share.qualified ? `Earned: qualified ${when(share.qualified_at)} (daily limits apply)` : progressText(share)));
}

async function main() {
  await signedInShell();
  try {
    const shares = await api("/api/v1/social/shares");
    fillTable(byId("share-rows"), shares.map(row),
      "You have not shared anything yet. Share a badge from Points, a certificate, a closed signal or a mentor's track record.");
    const earned = shares.filter((s) => s.qualified).length;
    byId("shares-note").textContent = shares.length
      ? `${shares.length} share${shares.length === 1 ? "" : "s"}, ${earned} earned.`
      : "";
  } catch (error) {
    byId("shares-note").textContent = "";
    flash(`Could not load your shares: ${error.message}`);
  }
  document.body.dataset.sharesReady = "true";
}

main();
