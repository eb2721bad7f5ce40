// The inbox (/notifications): notifications newest first (GET /api/v1/notifications), by
// category, archived or not; read one, read all, archive one. New ones arrive live: the
// signed-in shell's badge stream re-dispatches each frame as `inbox:notification`.

import { api } from "../api.js";
import { byId, el, fill, flash, setInboxCount, signedInShell, when } from "../ui.js";

const LABELS = {
  sessions: "Sessions",
  payments: "Payments and payouts",
  payment_problems: "Payment problems",
  account: "Account and security",
  rewards: "Points, tiers, badges and certificates",
  signals: "Signals",
  community: "Community",
  chat: "Chat messages",
};

let nextBefore = null;

function filters() {
  return {
    category: /** @type {HTMLSelectElement} */ (byId("inbox-category")).value,
    archived: /** @type {HTMLSelectElement} */ (byId("inbox-archived")).value === "true",
  };
}

function note(unread) {
  byId("inbox-note").textContent = unread
    ? `${unread} unread.`
    : "You have read everything.";
}

async function markRead(item, node) {
  const changed = await api("/api/v1/notifications/read", { method: "POST", body: { ids: [item.id] } });
  item.read = true;
  node.replaceWith(itemNode(item));
  setInboxCount(changed.unread);
  note(changed.unread);
}

async function archive(item, node) {
  const changed = await api(`/api/v1/notifications/${item.id}/archive`, { method: "POST" });
  node.remove();
  setInboxCount(changed.unread);
  note(changed.unread);
}

function itemNode(item) {
  const node = el("li", { class: `inbox-item${item.read ? "" : " unread"}`, dataset: { id: item.id, kind: item.kind } });
  const act = (label, action) => el("button", {
    type: "button",
    class: "link-button",
    "aria-label": `${label}: ${item.title}`,
    onclick: () => action(item, node).catch((e) => flash(`Could not change it: ${e.message}`)),
  }, label);
  fill(node,
    el("span", { class: "inbox-title" }, item.read ? "" : el("span", { class: "badge warn" }, "New"), " ", item.title),
    el("span", {}, item.body),
    el("span", { class: "hint" }, [LABELS[item.category], when(item.created_at)].filter(Boolean).join(" · ")),
    el("span", { class: "inbox-actions" },
      item.link ? el("a", { href: item.link, "aria-label": `Open: ${item.title}` }, "Open") : null,
      item.read || item.archived ? null : act("Mark read", markRead),
      item.archived ? null : act("Archive", archive),
    ),
  );
  return node;
}

async function load(more = false) {
  const { category, archived } = filters();
  const params = new URLSearchParams({ limit: "30", archived: String(archived) });
  if (category) params.set("category", category);
  if (more && nextBefore) params.set("before", nextBefore);
  const page = await api(`/api/v1/notifications?${params}`);
  const list = byId("inbox-items");
  const nodes = page.items.map(itemNode);
  if (more) list.append(...nodes);
  else fill(list, ...nodes);
  if (!list.children.length) {
    list.append(el("li", { class: "hint" }, archived ? "Nothing archived." : "No notifications yet."));
  }
  nextBefore = page.next_before;
  byId("inbox-more").hidden = !nextBefore;
  setInboxCount(page.unread);
  note(page.unread);
}

function onLive(event) {
  const frame = event.detail;
  const { category, archived } = filters();
  if (archived || category) {
    // Not this view: the count rose; the list shows it when its filter is chosen.
    return;
  }
  const list = byId("inbox-items");
  list.querySelector("li.hint")?.remove();
  list.prepend(itemNode({
    id: frame.id, kind: frame.kind, title: frame.title, body: frame.body,
    created_at: frame.created_at, category: "", read: false, archived: false, link: null,
  }));
  note(Number(document.body.dataset.inboxUnread || 0));
}

async function main() {
  await signedInShell();
  window.addEventListener("inbox:notification", onLive);
  const reload = () => load().catch((e) => flash(`Could not load your notifications: ${e.message}`));
  byId("inbox-category").addEventListener("change", reload);
  byId("inbox-archived").addEventListener("change", reload);
  byId("inbox-more").addEventListener("click", () => load(true).catch((e) => flash(e.message)));
  byId("mark-all-read").addEventListener("click", async () => {
    try {
      const { category } = filters();
      const changed = await api("/api/v1/notifications/read-all", {
        method: "POST", body: category ? { category } : {},
      });
      setInboxCount(changed.unread);
      await load();
    } catch (e) {
      flash(`Could not mark them read: ${e.message}`);
    }
  });
  await reload();
  document.body.dataset.ready = "true";
}

main();
