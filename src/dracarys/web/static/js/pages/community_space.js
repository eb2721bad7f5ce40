// A space's topics (/community/{slug}): sorted by activity, newest, votes or unanswered,
// filtered by tag, with unread counts; new topics and replies arrive live on the space's
// `community:{space_id}` channel and the list reloads. The form starts a topic, with a
// preview rendered and sanitised by the server exactly as the post will be. A premium
// group shows its price to those who have not paid, and joins through the checkout.

import { api } from "../api.js";
import { openCheckout } from "../checkout.js";
import { LiveStream } from "../stream.js";
import {
  bindConnectionBadge, byId, clearFormError, el, fill, flash, formValues, showFormError,
  money, signedInShell, when,
} from "../ui.js";

const API = "/api/v1/community";
const stream = new LiveStream();
window.__stream = stream;
bindConnectionBadge(stream);

let space = null;

function topicItem(t) {
  const bits = [
    t.kind === "question" ? (t.solved ? "solved" : "question") : "discussion",
    `${t.replies} repl${t.replies === 1 ? "y" : "ies"}`,
    `${t.score} vote${Math.abs(t.score) === 1 ? "" : "s"}`,
    `@${t.author_handle}`,
    when(t.last_posted_at),
  ];
  return el("li", { dataset: { id: t.id } },
    el("a", { href: `/community/t/${t.id}` }, t.title),
    " ",
    t.unread ? el("span", { class: "badge warn", "aria-label": `${t.unread} unread` }, `${t.unread} new`) : null,
    el("p", { class: "hint" }, [bits.join(" · "), t.tags.map((tag) => `#${tag}`).join(" ")].filter(Boolean).join(" — ")));
}

async function loadTopics() {
  const params = new URLSearchParams({ sort: /** @type {HTMLSelectElement} */ (byId("topic-sort")).value });
  const tag = /** @type {HTMLInputElement} */ (byId("topic-tag")).value.trim().toLowerCase();
  if (tag) params.set("tag", tag);
  const topics = await api(`${API}/spaces/${space.id}/topics?${params}`);
  fill(byId("topics"), ...(topics.length ? topics.map(topicItem) : [el("li", { class: "hint" }, "No topics yet: start one below.")]));
}

function topicBody(form) {
  const values = formValues(form);
  const tags = String(values.tags || "").split(",").map((t) => t.trim().toLowerCase()).filter(Boolean);
  return { space_id: space.id, title: values.title, kind: values.kind, body: values.body, tags };
}

// A premium group's note: the price to those who have not paid; to a paying member, until
// when their access runs, whether it renews from the wallet, and the button that stops or
// resumes renewing (the host pays nothing: no button).
function showPremium(price) {
  const note = byId("premium-note");
  note.hidden = false;
  const paying = space.member && space.paid_until;
  if (!space.member) {
    note.textContent = `Premium group (${price}): members read and post once they pay through the checkout.${space.paid_until ? ` Your access ended ${when(space.paid_until)}.` : ""}`;
  } else if (!paying) {
    note.textContent = `Premium group (${price}).`;
  } else if (space.renews) {
    note.textContent = `Premium group: your access runs until ${when(space.paid_until)} and then renews for 30 days from your wallet (${price}).`;
  } else {
    note.textContent = `Premium group: your access runs until ${when(space.paid_until)} and does not renew; the group closes for you then.`;
  }
  byId("renewal-row").hidden = !paying;
  byId("renewal-button").textContent = space.renews ? "Stop renewing" : "Renew each month";
}

async function main() {
  await signedInShell();
  const slug = byId("space").dataset.slug;
  space = await api(`${API}/spaces/${encodeURIComponent(slug || "")}`);
  document.title = `${space.title} · Dracarys`;
  byId("page-title").textContent = space.title;
  byId("space-description").textContent = space.description;
  byId("new-topic").hidden = !space.member;
  const join = byId("join-group");
  join.hidden = !space.may_join;
  if (space.premium) {
    const price = `${money(space.monthly_price_minor, space.currency)} a month`;
    join.textContent = `Join for ${price}`;
    showPremium(price);
    byId("renewal-button").addEventListener("click", async () => {
      try {
        await api(`${API}/groups/${space.id}/renewal`, { method: space.renews ? "DELETE" : "PUT" });
        space = await api(`${API}/spaces/${encodeURIComponent(space.slug)}`);
        showPremium(price);
      } catch (error) {
        flash(`Could not change renewal: ${error.message}`);
      }
    });
  }
  join.addEventListener("click", async () => {
    if (space.premium) {
      try {
        const paid = await openCheckout({ kind: "community_space", id: space.id });
        if (paid) location.reload();
      } catch (error) {
        flash(`Could not join: ${error.message}`);
      }
      return;
    }
    try {
      space = await api(`${API}/groups/${space.id}/join`, { method: "POST" });
      join.hidden = true;
      byId("new-topic").hidden = false;
    } catch (error) {
      flash(`Could not join: ${error.message}`);
    }
  });
  byId("topic-sort").addEventListener("change", () => loadTopics().catch((e) => flash(e.message)));
  byId("topic-tag").addEventListener("change", () => loadTopics().catch((e) => flash(e.message)));
  const form = /** @type {HTMLFormElement} */ (byId("topic-form"));
  byId("topic-preview-button").addEventListener("click", async () => {
    clearFormError(form);
    try {
      const preview = await api(`${API}/preview`, { method: "POST", body: { body: formValues(form).body } });
      const box = byId("topic-preview");
      box.innerHTML = preview.html; // sanitised by the server (nh3)
      box.hidden = false;
    } catch (error) {
      showFormError(form, error);
    }
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFormError(form);
    try {
      const made = await api(`${API}/topics`, { method: "POST", body: topicBody(form) });
      location.assign(`/community/t/${made.topic.id}`);
    } catch (error) {
      showFormError(form, error);
    }
  });
  if (space.premium && !space.member) {
    fill(byId("topics"), el("li", { class: "hint" }, "Join to read this group's topics."));
    document.body.dataset.ready = "true";
    return;
  }
  await loadTopics();
  stream.start();
  stream.subscribe(`community:${space.id}`, {
    onMessage: (data) => {
      if (data.type === "community.post") {
        byId("live-note").textContent = `New post by @${data.author_handle} in “${data.title}”.`;
        loadTopics().catch(() => {});
      }
    },
    onResync: () => loadTopics().catch(() => {}),
    onDenied: (detail) => flash(detail),
  });
  document.body.dataset.ready = "true";
}

main().catch((error) => flash(`Could not load this space: ${error.message}`));
