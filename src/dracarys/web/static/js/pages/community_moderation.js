// Community moderation (/community/moderation): the review queue for staff and members
// whose trust level moderates — held, hidden and appealed posts with the reason, the
// flags and the appeal; a decision per post (approve, edit, delete, warn, suspend) with
// the reason the author is told. Staff also keep the blocklist of link domains.

import { api } from "../api.js";
import { byId, clearFormError, el, fill, flash, formValues, showFormError, signedInShell, when } from "../ui.js";

const API = "/api/v1/community";
const STATUS_WORDS = { held: "Held by the screen", hidden: "Hidden by flags", removed: "Deleted", visible: "Published" };

function decisionForm(item) {
  const id = (name) => `${name}-${item.post_id}`;
  const form = el("form", { class: "decision", novalidate: true },
    el("div", { class: "field" },
      el("label", { for: id("decision") }, "Decision"),
      el("select", { id: id("decision"), name: "decision" },
        el("option", { value: "approve" }, "Approve and publish"),
        el("option", { value: "edit" }, "Edit and publish"),
        el("option", { value: "delete" }, "Delete"),
        el("option", { value: "warn" }, "Warn the author"),
        el("option", { value: "suspend" }, "Suspend the author"))),
    el("div", { class: "field" },
      el("label", { for: id("reason") }, "Reason the author is told"),
      el("input", { id: id("reason"), name: "reason", autocomplete: "off", "aria-describedby": id("reason-error") }),
      el("p", { class: "field-error", id: id("reason-error") })),
    el("div", { class: "field", dataset: { for: "edit" }, hidden: true },
      el("label", { for: id("body") }, "New text (Markdown)"),
      el("textarea", { id: id("body"), name: "body", rows: "4" }, item.source)),
    el("div", { class: "field", dataset: { for: "suspend" }, hidden: true },
      el("label", { for: id("days") }, "Days suspended"),
      el("input", { id: id("days"), name: "days", type: "number", min: "1", max: "365", value: "7" })),
    el("p", { class: "form-error", role: "alert" }),
    el("button", { type: "submit" }, "Apply decision"));
  const select = /** @type {HTMLSelectElement} */ (form.querySelector("select"));
  select.addEventListener("change", () => {
    for (const extra of form.querySelectorAll("[data-for]")) {
      /** @type {HTMLElement} */ (extra).hidden = extra.getAttribute("data-for") !== select.value;
    }
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFormError(form);
    const values = formValues(form);
    const body = { decision: values.decision, reason: values.reason };
    if (values.decision === "edit") body.body = values.body;
    if (values.decision === "suspend") body.days = Number(values.days);
    try {
      await api(`${API}/moderation/posts/${item.post_id}/decision`, { method: "POST", body });
      flash("Decision applied; the author is told.", "info");
      await loadQueue();
    } catch (error) {
      showFormError(form, error);
    }
  });
  return form;
}

function queueItem(item) {
  const body = el("div", { class: "post-body" });
  body.innerHTML = item.html; // sanitised by the server (nh3)
  return el("li", { dataset: { postId: item.post_id } },
    el("p", {},
      el("a", { href: `/community/t/${item.topic_id}#post-${item.seq}` }, item.topic_title),
      ` · ${item.space_slug} · #${item.seq} by @${item.author_handle} · ${when(item.created_at)}`),
    el("p", { class: "hint" },
      el("span", { class: "badge" }, STATUS_WORDS[item.status] || item.status),
      item.flags ? ` · ${item.flags} flag${item.flags === 1 ? "" : "s"} (weight ${item.flag_weight})` : "",
      item.author_suspended_until ? ` · author suspended until ${when(item.author_suspended_until)}` : ""),
    el("p", { class: "notice" }, item.reason || ""),
    body,
    item.appeal ? el("blockquote", {}, el("p", { class: "hint" }, `Appeal (${when(item.appealed_at)}):`), el("p", {}, item.appeal)) : null,
    decisionForm(item));
}

async function loadQueue() {
  const items = await api(`${API}/moderation/queue`);
  byId("queue-note").textContent = items.length ? `${items.length} post${items.length === 1 ? "" : "s"} waiting.` : "Nothing waits for review.";
  fill(byId("queue"), ...items.map(queueItem));
}

async function loadDomains() {
  const domains = await api(`${API}/moderation/blocked-domains`);
  fill(byId("domains"), ...domains.map((d) => el("li", {},
    el("strong", {}, d.domain), ` — ${d.reason} (${when(d.added_at)}) `,
    el("button", {
      type: "button",
      class: "link-button",
      "aria-label": `Unblock ${d.domain}`,
      onclick: async () => {
        try {
          await api(`${API}/moderation/blocked-domains/${encodeURIComponent(d.domain)}`, { method: "DELETE" });
          await loadDomains();
        } catch (error) {
          flash(error.message);
        }
      },
    }, "Unblock"))));
}

async function main() {
  const me = await signedInShell();
  try {
    await loadQueue();
  } catch (error) {
    byId("queue-note").textContent = error.message;
  }
  if (me.role === "admin" || me.role === "reviewer") {
    byId("domains-card").hidden = false;
    await loadDomains();
    const form = /** @type {HTMLFormElement} */ (byId("domain-form"));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearFormError(form);
      const values = formValues(form);
      try {
        await api(`${API}/moderation/blocked-domains/${encodeURIComponent(String(values.domain || "").trim() || "-")}`,
          { method: "PUT", body: { reason: values.reason } });
        form.reset();
        await loadDomains();
      } catch (error) {
        showFormError(form, error);
      }
    });
  }
  document.body.dataset.ready = "true";
}

main().catch((error) => flash(`Could not load the moderation queue: ${error.message}`));
