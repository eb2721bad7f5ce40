// A topic (/community/t/{id}): its posts with votes, reactions, quotes, the author's
// edits in place and every post's edit history, and the accepted answer; the composer
// with a server-rendered preview. New posts and vote counts arrive live on the space's
// `community:{space_id}` channel; the page reads the new posts from the REST API (a post
// seen twice is shown once: posts are kept by their seq), and moves the reader's read
// position to the last post shown.

import { api, uploadFile } from "../api.js";
import { LiveStream } from "../stream.js";
import {
  bindConnectionBadge, byId, clearFormError, el, fill, flash, formValues, showFormError,
  signedInShell, when,
} from "../ui.js";

const API = "/api/v1/community";
const REACTIONS = { like: "Like", insightful: "Insightful", thanks: "Thanks", laugh: "Funny" };
const stream = new LiveStream();
window.__stream = stream;
bindConnectionBadge(stream);

const topicId = byId("topic").dataset.topicId;
let view = null;
let me = null;
let quoting = null;

function setQuote(post) {
  quoting = post;
  const note = byId("quote-note");
  note.hidden = !post;
  fill(note, ...(post ? [
    `Quoting @${post.author_handle} (#${post.seq}). `,
    el("button", { type: "button", class: "link-button", onclick: () => setQuote(null) }, "Stop quoting"),
  ] : []));
}

async function act(promise) {
  try {
    await promise;
    await load();
  } catch (error) {
    flash(error.message);
  }
}

function postItem(p) {
  const body = el("div", { class: "post-body" });
  body.innerHTML = p.html; // sanitised by the server (nh3)
  const mine = p.author_id === me.id;
  const vote = (value) => act(p.my_vote === value
    ? api(`${API}/posts/${p.id}/vote`, { method: "DELETE" })
    : api(`${API}/posts/${p.id}/vote`, { method: "PUT", body: { value } }));
  const react = (name) => act(api(`${API}/posts/${p.id}/reactions/${name}`, {
    method: p.my_reactions.includes(name) ? "DELETE" : "PUT",
  }));
  const labelFor = `post #${p.seq} by @${p.author_handle}`;
  if (p.status !== "visible") return moderatedItem(p, body, labelFor);
  const history = el("div", { class: "edit-history", id: `history-${p.id}`, hidden: true });
  return el("li", { id: `post-${p.seq}`, class: p.accepted ? "accepted" : "", dataset: { seq: String(p.seq), id: p.id } },
    el("p", { class: "hint" },
      `#${p.seq} · @${p.author_handle} · ${when(p.created_at)}`,
      p.edits ? " · " : "",
      p.edits ? historyButton(p, history, labelFor) : null,
      p.accepted ? " · " : "",
      p.accepted ? el("span", { class: "badge" }, "Accepted answer") : null),
    history,
    p.quote ? el("blockquote", {}, el("p", { class: "hint" }, `@${p.quote.author_handle} wrote (#${p.quote.seq}):`), el("p", {}, p.quote.excerpt)) : null,
    body,
    el("div", { class: "row post-actions" },
      el("span", { class: "score", "aria-label": `score of ${labelFor}`, dataset: { score: p.id } }, `${p.score} vote${Math.abs(p.score) === 1 ? "" : "s"}`),
      mine ? null : el("button", { type: "button", "aria-pressed": String(p.my_vote === 1), "aria-label": `Vote up ${labelFor}`, onclick: () => vote(1) }, "▲ Up"),
      mine ? null : el("button", { type: "button", "aria-pressed": String(p.my_vote === -1), "aria-label": `Vote down ${labelFor}`, onclick: () => vote(-1) }, "▼ Down"),
      ...Object.entries(REACTIONS).map(([name, label]) => el("button", {
        type: "button",
        class: "link-button",
        "aria-pressed": String(p.my_reactions.includes(name)),
        "aria-label": `${label} on ${labelFor}`,
        onclick: () => react(name),
      }, `${label}${p.reactions[name] ? ` ${p.reactions[name]}` : ""}`)),
      el("button", { type: "button", class: "link-button", "aria-label": `Quote ${labelFor}`, onclick: () => { setQuote(p); byId("reply-body").focus(); } }, "Quote"),
      mine ? el("button", { type: "button", class: "link-button", "aria-label": `Edit ${labelFor}`, onclick: (event) => editPost(p, body, event.currentTarget) }, "Edit") : null,
      mine ? null : el("button", {
        type: "button",
        class: "link-button",
        "aria-label": `Flag ${labelFor} for moderators`,
        onclick: () => act(api(`${API}/posts/${p.id}/flag`, { method: "POST", body: { reason: "Breaks the community guidelines" } })
          .then(() => flash("Thank you: moderators will look at it.", "info"))),
      }, "Flag"),
      view.may_accept && p.seq > 1 && !p.accepted
        ? el("button", { type: "button", "aria-label": `Accept ${labelFor}`, onclick: () => act(api(`${API}/topics/${topicId}/accept/${p.id}`, { method: "POST" })) }, "Accept answer")
        : null,
    ));
}

// "edited N times": opens the earlier versions (every reader may see what a post said).
function historyButton(p, box, labelFor) {
  return el("button", {
    type: "button",
    class: "link-button",
    "aria-expanded": "false",
    "aria-controls": box.id,
    "aria-label": `Edit history of ${labelFor}: edited ${p.edits} time${p.edits === 1 ? "" : "s"}`,
    onclick: async (event) => {
      const button = event.currentTarget;
      const open = button.getAttribute("aria-expanded") === "true";
      if (!open) {
        try {
          const edits = await api(`${API}/posts/${p.id}/edits`);
          fill(box,
            el("p", { class: "hint" }, "Earlier versions, oldest first:"),
            el("ol", {}, ...edits.map((e) => el("li", {},
              el("p", { class: "hint" }, `Before @${e.editor_handle}'s edit of ${when(e.edited_at)}:`),
              el("blockquote", {}, el("p", { class: "edit-source" }, e.source))))));
        } catch (error) {
          flash(error.message);
          return;
        }
      }
      box.hidden = open;
      button.setAttribute("aria-expanded", String(!open));
    },
  }, `edited ${p.edits} time${p.edits === 1 ? "" : "s"}`);
}

// The author edits their post in place: the same Markdown rules and screen as a new post
// (an edit that would be held goes back to review, and the page says so).
function editPost(p, body, button) {
  const id = `edit-${p.id}`;
  const form = el("form", { class: "post-edit", novalidate: true },
    el("div", { class: "field" },
      el("label", { for: id }, `New text of post #${p.seq}`),
      el("textarea", { id, name: "body", rows: "5", "aria-describedby": `${id}-error` }, p.source),
      el("p", { class: "field-error", id: `${id}-error` })),
    el("p", { class: "form-error", role: "alert" }),
    el("div", { class: "row" },
      el("button", { type: "submit" }, "Save edit"),
      el("button", { type: "button", onclick: () => { form.replaceWith(body); button.hidden = false; } }, "Cancel")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFormError(form);
    try {
      await api(`${API}/posts/${p.id}`, { method: "PUT", body: { body: formValues(form).body } });
      await load();
    } catch (error) {
      showFormError(form, error);
    }
  });
  body.replaceWith(form);
  button.hidden = true;
  form.querySelector("textarea").focus();
}

const STATUS_WORDS = { held: "Held for review", hidden: "Hidden for review", removed: "Deleted by a moderator" };

// The author's own post that moderation holds, hid or deleted: why, and the one appeal.
function moderatedItem(p, body, labelFor) {
  const appeal = el("form", { class: "appeal", novalidate: true },
    el("div", { class: "field" },
      el("label", { for: `appeal-${p.id}` }, "Why should this post be published? (one appeal)"),
      el("textarea", { id: `appeal-${p.id}`, name: "text", rows: "3" })),
    el("p", { class: "form-error", role: "alert" }),
    el("button", { type: "submit" }, "Send appeal"));
  appeal.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFormError(appeal);
    try {
      await api(`${API}/posts/${p.id}/appeal`, { method: "POST", body: formValues(appeal) });
      await load();
    } catch (error) {
      showFormError(appeal, error);
    }
  });
  return el("li", { id: `post-${p.seq}`, class: "moderated", dataset: { seq: String(p.seq), id: p.id, status: p.status } },
    el("p", { class: "hint" }, `#${p.seq} · @${p.author_handle} · ${when(p.created_at)} · `,
      el("span", { class: "badge" }, STATUS_WORDS[p.status] || p.status)),
    el("p", { class: "notice", "aria-label": `Why ${labelFor} is not shown` }, p.moderation_reason || ""),
    body,
    p.may_appeal ? appeal : el("p", { class: "hint" }, "You have appealed this decision; a moderator will look at it again."));
}

async function load() {
  view = await api(`${API}/topics/${topicId}`);
  const t = view.topic;
  document.title = `${t.title} · Dracarys`;
  byId("page-title").textContent = t.title;
  fill(byId("topic-crumbs"),
    el("a", { href: "/community" }, "All spaces"), " · ",
    el("a", { href: `/community/${view.space_slug}` }, view.space_title));
  byId("topic-meta").textContent = [
    t.kind === "question" ? (t.solved ? "Solved question" : "Question") : "Discussion",
    `asked by @${t.author_handle}`,
    t.tags.map((tag) => `#${tag}`).join(" "),
  ].filter(Boolean).join(" · ");
  fill(byId("posts"), ...view.posts.map(postItem));
  byId("composer").hidden = !view.may_post;
  const last = view.posts.length ? view.posts[view.posts.length - 1].seq : 0;
  if (last > view.last_read_seq) {
    await api(`${API}/topics/${topicId}/read`, { method: "POST", body: { seq: last } });
  }
}

async function main() {
  me = await signedInShell();
  await load();
  const form = /** @type {HTMLFormElement} */ (byId("reply-form"));
  byId("preview-button").addEventListener("click", async () => {
    clearFormError(form);
    try {
      const preview = await api(`${API}/preview`, { method: "POST", body: { body: formValues(form).body } });
      const box = byId("reply-preview");
      box.innerHTML = preview.html; // sanitised by the server (nh3)
      box.hidden = false;
    } catch (error) {
      showFormError(form, error);
    }
  });
  byId("reply-picture").addEventListener("change", async (event) => {
    const input = /** @type {HTMLInputElement} */ (event.currentTarget);
    const file = input.files?.[0];
    if (!file) return;
    clearFormError(form);
    try {
      const image = await uploadFile(`${API}/images`, file);
      const body = /** @type {HTMLTextAreaElement} */ (byId("reply-body"));
      body.value = `${body.value}${body.value ? "\n\n" : ""}${image.markdown}`;
    } catch (error) {
      showFormError(form, error);
    } finally {
      input.value = "";
    }
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFormError(form);
    const body = { body: formValues(form).body };
    if (quoting) body.quote_post_id = quoting.id;
    try {
      await api(`${API}/topics/${topicId}/posts`, { method: "POST", body });
      form.reset();
      setQuote(null);
      byId("reply-preview").hidden = true;
      await load();
    } catch (error) {
      showFormError(form, error);
    }
  });
  stream.start();
  stream.subscribe(`community:${view.topic.space_id}`, {
    onMessage: (data) => {
      if (data.topic_id !== topicId) return;
      if (data.type === "community.vote") {
        const score = document.querySelector(`[data-score="${data.post_id}"]`);
        if (score) score.textContent = `${data.score} vote${Math.abs(data.score) === 1 ? "" : "s"}`;
      } else if (data.type === "community.post" && !document.getElementById(`post-${data.seq}`)) {
        load().catch(() => {});
      }
    },
    onResync: () => load().catch(() => {}),
    onDenied: (detail) => flash(detail),
  });
  document.body.dataset.ready = "true";
}

main().catch((error) => flash(`Could not load this topic: ${error.message}`));
