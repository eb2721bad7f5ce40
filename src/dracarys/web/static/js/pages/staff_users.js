// Members (staff): find one by full e-mail address, account id or the start of their
// @handle; each found member opens on their own page. The query is kept in the address,
// so going back shows it again.

import { api } from "../api.js";
import { byId, clearFormError, el, fillTable, showFormError, signedInShell, when } from "../ui.js";

const STATUS = { active: "Active", banned: "Banned" };

async function search(query) {
  const form = /** @type {HTMLFormElement} */ (byId("search-form"));
  clearFormError(form);
  let found;
  try {
    found = await api(`/api/v1/admin/users?q=${encodeURIComponent(query)}`);
  } catch (error) {
    showFormError(form, error);
    byId("search-status").textContent = "";
    return;
  }
  history.replaceState(null, "", `?q=${encodeURIComponent(query)}`);
  byId("users-download").dataset.download = `/api/v1/admin/users.csv?q=${encodeURIComponent(query)}`;
  byId("search-status").textContent = found.length
    ? `Found ${found.length === 1 ? "one member" : `${found.length} members`}.`
    : "No member has this e-mail address, id or handle.";
  fillTable(byId("results"), found.map((m) => el("tr", { dataset: { user: m.id } },
    el("td", {}, el("a", { href: `/staff/users/${m.id}` }, m.name || m.id)),
    el("td", {}, m.handle ? `@${m.handle}` : ""),
    el("td", {}, m.role),
    el("td", {}, STATUS[m.status] || m.status),
    el("td", { class: "num" }, String(m.kyc_level)),
    el("td", {}, when(m.created_at)))),
  "Nobody found yet.");
}

async function main() {
  await signedInShell();
  const input = /** @type {HTMLInputElement} */ (byId("search-q"));
  byId("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    search(input.value.trim());
  });
  const query = new URLSearchParams(location.search).get("q");
  if (query) {
    input.value = query;
    await search(query);
  }
}

main().catch((error) => {
  if (error instanceof Error && /not signed in|may not use/.test(error.message)) return;
  byId("search-status").textContent = `Could not load: ${error instanceof Error ? error.message : error}`;
});
