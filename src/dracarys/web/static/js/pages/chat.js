// Messages: the caller's conversations and one thread. Messages are sent over HTTP with an
// idempotency key (a retry never sends twice) and arrive live on `chat:{conversation_id}`
// (stream.js). Every message carries its conversation's `seq`: the thread keeps them by
// seq, so a message seen twice (the stream's replay and the REST catch-up overlap) shows
// once, and a gap, a resync or a reconnect reads `messages?after_seq=` to fill in.

import { ApiError, accessToken, api, uploadFile } from "../api.js";
import { LiveStream } from "../stream.js";
import {
  bindConnectionBadge, byId, clearFormError, el, fill, flash, formValues, refreshInboxCount,
  showFormError, signedInShell, when,
} from "../ui.js";

const API = "/api/v1/chat";
const stream = new LiveStream();
window.__stream = stream;
bindConnectionBadge(stream);

/** @type {any} */
let me = null;
/** @type {any[]} */
let conversations = [];
/** The open thread. */
const thread = {
  /** @type {any} */ conv: null,
  /** @type {Map<number, any>} seq → message */ messages: new Map(),
  lastSeq: 0, // every message up to here is shown
  typingTimer: 0,
  readSent: 0,
  lastTypingSent: 0,
  loading: false, // reading the history: frames wait in the map, by seq
};

function newKey() {
  return crypto.randomUUID();
}

// ---- conversation list ----------------------------------------------------------------

function preview(message) {
  if (!message) return "";
  if (message.removed) return "Removed by a moderator";
  if (message.kind === "attachment") return `📎 ${message.attachment?.file_name || "file"}`;
  if (message.kind === "lesson") return `📌 ${message.lesson?.title || "lesson"}`;
  return message.body;
}

function renderConversations() {
  const list = byId("conversations");
  byId("conversations-empty").hidden = conversations.length > 0;
  fill(list, ...conversations.map((c) => {
    const open = thread.conv?.id === c.id;
    const unread = open ? 0 : c.unread;
    const label = c.status === "requested" ? (c.my_role === "mentor" ? "request" : "waiting") : null;
    return el("li", { class: open ? "chat-current" : "" },
      el("button", {
        type: "button", class: "link-button", "aria-current": open ? "true" : null,
        onclick: () => openConversation(c.id),
      }, c.other_name),
      label ? el("span", { class: "badge warn" }, label) : null,
      unread ? el("span", { class: "badge", "aria-label": `${unread} unread` }, String(unread)) : null,
      el("p", { class: "hint" }, preview(c.last_message)));
  }));
}

/** Conversation channels watched (the list's unread counts stay live), at most this many. */
const WATCHED_MAX = 40;
/** @type {Map<string, Promise<void>>} conversation id → its subscription, once confirmed */
const watched = new Map();

function watch(id, always = false) {
  const known = watched.get(id);
  if (known) return known;
  if (watched.size >= WATCHED_MAX && !always) return Promise.resolve();
  const confirmed = stream.subscribe(`chat:${id}`, {
    onMessage: (data) => {
      if (thread.conv && data.conversation_id === thread.conv.id) onFrame(data);
      else if (data.type === "chat.message" || data.type === "chat.state") refreshList();
    },
    onResync: () => {
      if (thread.conv?.id === id) catchUp();
      else refreshList();
    },
    onDenied: (detail) => flash(detail),
  });
  watched.set(id, confirmed);
  return confirmed;
}

async function loadConversations() {
  conversations = await api(`${API}/conversations`);
  renderConversations();
  for (const c of conversations) watch(c.id);
}

async function loadContacts() {
  const contacts = await api(`${API}/contacts`);
  fill(byId("contacts"), ...contacts.map((c) => el("li", {},
    el("button", {
      type: "button", class: "link-button",
      onclick: () => (c.conversation_id ? openConversation(c.conversation_id) : composeTo(c.user_id, c.name)),
    }, `Message ${c.name}`),
    el("span", { class: "hint" }, ` · your ${c.their_role}, linked by ${c.linked_by.replace("_", " ")}`))));
  if (!contacts.length) fill(byId("contacts"), el("li", { class: "hint" }, "Nobody yet."));
}

// ---- the thread -----------------------------------------------------------------------

const REPORTED = "Reported. A moderator will look at it.";
/** Ids of the messages reported from this page: their items say so instead of offering it. */
const reported = new Set();

function messageItem(m) {
  const mine = m.sender_id === me.id;
  const other = thread.conv;
  const item = el("li", { class: mine ? "chat-mine" : "chat-theirs", dataset: { seq: String(m.seq) } });
  const who = mine ? "You" : other.other_name;
  item.append(el("p", { class: "hint" }, `${who} · ${when(m.created_at)}`));
  if (m.removed) {
    item.append(el("p", { class: "hint" }, "Removed by a moderator."));
    return item;
  }
  if (m.kind === "lesson" && m.lesson) {
    item.append(el("p", {}, "📌 Pinned lesson: ", el("a", { href: m.lesson.url }, m.lesson.title)));
  }
  if (m.kind === "attachment" && m.attachment) {
    item.append(el("p", {}, "📎 ", el("button", {
      type: "button", class: "link-button", onclick: () => download(m.attachment),
    }, `${m.attachment.file_name} (${Math.ceil(m.attachment.size_bytes / 1024)} KB)`)));
  }
  if (m.body) item.append(el("p", { class: "chat-body" }, m.body));
  if (mine && other.other_read_seq >= m.seq && m.seq === lastMineSeq()) {
    item.append(el("p", { class: "hint chat-seen" }, "Seen"));
  }
  if (reported.has(m.id)) {
    item.append(el("p", { class: "hint", role: "status" }, REPORTED));
  } else if (!mine) {
    item.append(el("button", {
      type: "button", class: "link-button chat-report", onclick: () => reportForm(item, m),
      "aria-label": `Report the message sent ${when(m.created_at)}`,
    }, "Report"));
  }
  return item;
}

function lastMineSeq() {
  let last = 0;
  for (const m of thread.messages.values()) if (m.sender_id === me.id && m.seq > last) last = m.seq;
  return last;
}

function renderMessages() {
  const list = byId("messages");
  // A report being written survives the redraw a live frame causes (a read receipt, a
  // message's second copy): its form moves to the message's new item, text and focus kept.
  const focused = document.activeElement;
  const reports = new Map([...list.querySelectorAll("li[data-seq] > form")]
    .map((form) => [/** @type {HTMLElement} */ (form.parentElement).dataset.seq, form]));
  const ordered = [...thread.messages.values()].sort((a, b) => a.seq - b.seq);
  fill(list, ...ordered.map(messageItem));
  for (const [seq, form] of reports) {
    const item = list.querySelector(`li[data-seq="${seq}"]`);
    if (item && !thread.messages.get(Number(seq))?.removed) item.append(form);
  }
  if (focused instanceof HTMLElement && focused.isConnected && list.contains(focused)) focused.focus();
  document.body.dataset.lastSeq = String(thread.lastSeq);
  list.lastElementChild?.scrollIntoView({ block: "nearest" });
  markRead();
}

function renderThreadHeader() {
  const c = thread.conv;
  byId("thread-heading").textContent = c.other_name;
  const status = c.why_not || (c.opened_by === "request" ? "" : `Linked by ${c.opened_by.replace("_", " ")}.`);
  byId("thread-status").textContent = status;
  const actions = [];
  if (c.status === "requested" && c.my_role === "mentor") {
    actions.push(el("button", { type: "button", class: "primary", onclick: () => act("accept") }, "Accept request"));
    actions.push(el("button", { type: "button", onclick: () => act("decline") }, "Decline"));
  }
  if (c.blocked_by_me) actions.push(el("button", { type: "button", onclick: () => act("unblock") }, "Unblock"));
  else if (!c.blocked_by_other) actions.push(el("button", { type: "button", onclick: () => act("block") }, "Block"));
  fill(byId("thread-actions"), ...actions);
  const pinned = byId("pinned");
  pinned.hidden = !c.pinned_lessons.length;
  fill(pinned, ...c.pinned_lessons.map((p) => el("li", {}, "📌 ", el("a", { href: p.url }, p.title))));
  byId("send-form").hidden = !c.can_send;
  byId("attach-form").hidden = !c.can_send;
  byId("pin-form").hidden = !c.can_send || c.my_role !== "mentor";
}

function addMessages(list) {
  for (const m of list) thread.messages.set(m.seq, m);
  while (thread.messages.has(thread.lastSeq + 1)) thread.lastSeq += 1;
  renderMessages();
}

/** Read whatever came after the last message shown (after a drop, a resync or a gap). */
let catching = null;
async function catchUp() {
  const conv = thread.conv;
  if (!conv) return;
  if (catching) return catching;
  catching = (async () => {
    for (;;) {
      const page = await api(`${API}/conversations/${conv.id}/messages?after_seq=${thread.lastSeq}&limit=200`);
      if (thread.conv?.id !== conv.id) return;
      addMessages(page.messages);
      if (page.messages.length < 200) return;
    }
  })().finally(() => { catching = null; });
  return catching;
}

function onFrame(data) {
  const c = thread.conv;
  if (!c || data.conversation_id !== c.id) return;
  switch (data.type) {
    case "chat.message": {
      const known = thread.messages.get(data.seq);
      // A message comes twice (the API's publish and the outbox's), and a removed one
      // comes again removed: a copy never brings back what a moderator removed.
      if (!known?.removed) thread.messages.set(data.seq, data);
      if (thread.loading) {
        // merged when the history is in
      } else if (data.seq > thread.lastSeq + 1) {
        catchUp(); // a gap: fill it from the record
      } else if (!known || data.removed) {
        addMessages([]);
      }
      if (data.sender_id !== me.id) byId("typing").textContent = "";
      refreshList();
      break;
    }
    case "chat.read":
      if (data.user_id !== me.id) {
        c.other_read_seq = Math.max(c.other_read_seq, data.seq);
        renderMessages();
      }
      break;
    case "chat.typing":
      if (data.user_id !== me.id && Date.parse(data.until) > Date.now()) {
        byId("typing").textContent = `${c.other_name} is typing…`;
        clearTimeout(thread.typingTimer);
        thread.typingTimer = window.setTimeout(() => { byId("typing").textContent = ""; },
          Math.min(8000, Date.parse(data.until) - Date.now()));
      }
      break;
    case "chat.state":
      reloadConversation();
      break;
    default:
      break;
  }
}

let listTimer = 0;
function refreshList() {
  clearTimeout(listTimer);
  listTimer = window.setTimeout(() => loadConversations().catch(() => {}), 400);
}

async function reloadConversation() {
  if (!thread.conv) return;
  thread.conv = await api(`${API}/conversations/${thread.conv.id}`);
  renderThreadHeader();
  renderMessages();
  refreshList();
}

async function openConversation(id) {
  thread.conv = await api(`${API}/conversations/${id}`);
  thread.messages = new Map();
  thread.lastSeq = 0;
  thread.loading = true;
  thread.readSent = thread.conv.my_read_seq;
  history.replaceState(null, "", `/chat?c=${id}`);
  renderThreadHeader();
  // Watch first, then read the history: frames during the read are merged by seq.
  await watch(id, true);
  const page = await api(`${API}/conversations/${id}/messages?limit=100`);
  const first = page.messages.length ? page.messages[0].seq : page.last_seq + 1;
  thread.lastSeq = first - 1;
  thread.loading = false;
  addMessages(page.messages);
  await catchUp();
  renderConversations();
  // Into the message box, unless the person already went on meanwhile (a report being
  // written): taking the focus mid-word would put their words in the message box.
  const active = document.activeElement;
  if (!(active instanceof HTMLInputElement || active instanceof HTMLTextAreaElement)) {
    byId("body").focus();
  }
}

/** A first message to someone without a conversation yet (a linked contact, or a mentor). */
function composeTo(userId, name) {
  thread.conv = null;
  thread.messages = new Map();
  byId("thread-heading").textContent = `New message to ${name}`;
  byId("thread-status").textContent = "";
  fill(byId("thread-actions"));
  fill(byId("messages"));
  byId("pinned").hidden = true;
  byId("attach-form").hidden = true;
  byId("pin-form").hidden = true;
  const form = /** @type {HTMLFormElement} */ (byId("send-form"));
  form.hidden = false;
  form.dataset.to = userId;
  byId("body").focus();
}

async function act(action) {
  try {
    thread.conv = await api(`${API}/conversations/${thread.conv.id}/${action}`, { method: "POST" });
    renderThreadHeader();
    renderMessages();
    refreshList();
  } catch (error) {
    flash(error instanceof ApiError ? error.message : String(error));
  }
}

/** POST with one key, retried once with the same key if the answer was lost. */
async function sendOnce(path, body) {
  const key = newKey();
  try {
    return await api(path, { method: "POST", body, headers: { "Idempotency-Key": key } });
  } catch (error) {
    if (error instanceof ApiError && error.status === 0) {
      return api(path, { method: "POST", body, headers: { "Idempotency-Key": key } });
    }
    throw error;
  }
}

async function onSend(event) {
  event.preventDefault();
  const form = /** @type {HTMLFormElement} */ (event.currentTarget);
  clearFormError(form);
  const { body } = formValues(form);
  const text = String(body || "").trim();
  if (!text) {
    showFormError(form, new ApiError(422, { detail: "Write a message first.", errors: [{ field: "body", message: "Write a message first." }] }));
    return;
  }
  try {
    if (!thread.conv && form.dataset.to) {
      const sent = await sendOnce(`${API}/conversations`, { with_user_id: form.dataset.to, body: text });
      delete form.dataset.to;
      form.reset();
      await loadConversations();
      await openConversation(sent.conversation_id);
      return;
    }
    const sent = await sendOnce(`${API}/conversations/${thread.conv.id}/messages`, { body: text });
    form.reset();
    addMessages([sent]);
  } catch (error) {
    showFormError(form, error);
  }
}

async function onAttach(event) {
  event.preventDefault();
  const form = /** @type {HTMLFormElement} */ (event.currentTarget);
  clearFormError(form);
  const input = /** @type {HTMLInputElement} */ (byId("file"));
  const file = input.files?.[0];
  if (!file) {
    showFormError(form, new ApiError(422, { detail: "Choose a file.", errors: [{ field: "file", message: "Choose a file." }] }));
    return;
  }
  try {
    const sent = await uploadFile(`${API}/conversations/${thread.conv.id}/attachments`, file, {
      fields: { idempotency_key: newKey() },
      tooLarge: "This file is too large. Send a smaller one.",
    });
    form.reset();
    addMessages([sent]);
  } catch (error) {
    showFormError(form, error);
  }
}

async function onPin(event) {
  event.preventDefault();
  const form = /** @type {HTMLFormElement} */ (event.currentTarget);
  clearFormError(form);
  const raw = String(formValues(form).lesson_id || "");
  const id = (raw.match(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i) || [""])[0];
  if (!id) {
    const message = "Paste the lesson's link or its id.";
    showFormError(form, new ApiError(422, { detail: message, errors: [{ field: "lesson_id", message }] }));
    return;
  }
  try {
    const sent = await sendOnce(`${API}/conversations/${thread.conv.id}/messages`, { lesson_id: id });
    form.reset();
    addMessages([sent]);
    thread.conv = await api(`${API}/conversations/${thread.conv.id}`);
    renderThreadHeader();
  } catch (error) {
    showFormError(form, error);
  }
}

async function download(attachment) {
  try {
    const token = await accessToken();
    const response = await fetch(attachment.url, { headers: { Authorization: `Bearer ${token}` } });
    if (!response.ok) throw new Error("the file could not be downloaded");
    const url = URL.createObjectURL(await response.blob());
    const link = el("a", { href: url, download: attachment.file_name });
    document.body.append(link);
    link.click();
    link.remove();
    window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
  } catch (error) {
    flash(String(error instanceof Error ? error.message : error));
  }
}

function reportForm(item, message) {
  if (item.querySelector("form")) return;
  const id = `report-${message.seq}`;
  const form = el("form", { novalidate: true },
    el("div", { class: "field" },
      el("label", { for: id }, "Why are you reporting this message?"),
      el("input", { id, name: "reason", autocomplete: "off", "aria-describedby": `${id}-error` }),
      el("p", { class: "field-error", id: `${id}-error` })),
    el("p", { class: "form-error", role: "alert" }),
    el("button", { type: "submit" }, "Send report"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFormError(form);
    try {
      await api(`${API}/messages/${message.id}/report`, { method: "POST", body: { reason: String(formValues(form).reason || "") } });
      reported.add(message.id);
      // The form may have moved to a redrawn item since it opened.
      form.parentElement?.querySelector(":scope > .chat-report")?.remove();
      form.replaceWith(el("p", { class: "hint", role: "status" }, REPORTED));
    } catch (error) {
      showFormError(form, error);
    }
  });
  item.append(form);
  /** @type {HTMLInputElement} */ (form.querySelector("input")).focus();
}

function markRead() {
  const c = thread.conv;
  if (!c || document.visibilityState !== "visible") return;
  if (thread.lastSeq <= thread.readSent) return;
  thread.readSent = thread.lastSeq;
  api(`${API}/conversations/${c.id}/read`, { method: "POST", body: { seq: thread.lastSeq } })
    // Reading the conversation reads its "New message" notices: the Inbox badge follows.
    .then(() => { refreshList(); refreshInboxCount(); })
    .catch(() => { thread.readSent = 0; });
}

function onTyping() {
  const c = thread.conv;
  if (!c || !c.can_send) return;
  const now = Date.now();
  if (now - thread.lastTypingSent < 3000) return;
  thread.lastTypingSent = now;
  api(`${API}/conversations/${c.id}/typing`, { method: "POST" }).catch(() => {}); // best effort
}

async function onSearch(event) {
  event.preventDefault();
  const form = /** @type {HTMLFormElement} */ (event.currentTarget);
  clearFormError(form);
  const q = String(formValues(form).q || "").trim();
  const results = byId("search-results");
  if (!q) {
    results.hidden = true;
    return;
  }
  try {
    const hits = await api(`${API}/search?q=${encodeURIComponent(q)}`);
    results.hidden = false;
    fill(results, ...(hits.length ? hits.map((h) => el("li", {},
      el("button", { type: "button", class: "link-button", onclick: () => openConversation(h.conversation_id) },
        h.other_name),
      el("p", { class: "hint" }, `${when(h.message.created_at)} · ${preview(h.message)}`))) : [el("li", { class: "hint" }, "No messages match.")]));
  } catch (error) {
    showFormError(form, error);
  }
}

async function main() {
  me = await signedInShell();
  stream.start();
  let wasLive = false;
  stream.addEventListener("state", (event) => {
    const { state } = /** @type {CustomEvent} */ (event).detail;
    // Back after a drop: the stream replays what it still holds; the record fills the rest.
    if (state === "live" && wasLive) catchUp().catch(() => {});
    if (state === "live") wasLive = true;
  });
  document.addEventListener("visibilitychange", markRead);
  byId("send-form").addEventListener("submit", onSend);
  byId("attach-form").addEventListener("submit", onAttach);
  byId("pin-form").addEventListener("submit", onPin);
  byId("search-form").addEventListener("submit", onSearch);
  byId("body").addEventListener("input", onTyping);
  await Promise.all([loadConversations(), loadContacts()]);
  const params = new URLSearchParams(location.search);
  const withUser = params.get("with");
  const wanted = params.get("c");
  if (wanted) {
    await openConversation(wanted);
  } else if (withUser) {
    const existing = conversations.find((c) => c.other_id === withUser);
    if (existing) await openConversation(existing.id);
    else {
      let name = "this mentor";
      try {
        name = (await api(`/api/v1/users/${withUser}`)).name || name;
      } catch {
        // the name is a courtesy
      }
      composeTo(withUser, name);
    }
  }
  document.body.dataset.ready = "true";
}

main().catch((error) => {
  if (error instanceof Error && /not signed in|may not use/.test(error.message)) return;
  flash(`Could not load your messages: ${error instanceof Error ? error.message : error}`);
});
