// Community search (/community/search): PostgreSQL full-text search over the posts of
// the spaces the member may read, filtered by space, tag, author and solved; each hit with
// its snippet, matches marked (the server marks them with « and »; the page escapes the
// text and turns the marks into <mark>).

import { api } from "../api.js";
import { byId, clearFormError, el, fill, flash, formValues, showFormError, signedInShell, when } from "../ui.js";

const API = "/api/v1/community";

function snippet(text) {
  const node = el("p", {});
  for (const [i, part] of text.split(/[«»]/).entries()) {
    node.append(i % 2 ? el("mark", {}, part) : part);
  }
  return node;
}

async function search(form) {
  const values = formValues(form);
  const params = new URLSearchParams();
  for (const name of ["q", "space", "tag", "author", "solved"]) {
    if (values[name]) params.set(name, String(values[name]));
  }
  const hits = await api(`${API}/search?${params}`);
  byId("search-note").textContent = hits.length ? `${hits.length} post${hits.length === 1 ? "" : "s"} found.` : "Nothing matches.";
  fill(byId("search-results"), ...hits.map((h) => el("li", {},
    el("a", { href: `/community/t/${h.topic_id}#post-${h.seq}` }, h.topic_title),
    el("p", { class: "hint" }, [h.space_slug, `@${h.author_handle}`, h.solved ? "solved" : "", when(h.created_at)].filter(Boolean).join(" · ")),
    snippet(h.snippet))));
}

async function main() {
  await signedInShell();
  const spaces = await api(`${API}/spaces`);
  byId("search-space").append(...spaces.map((s) => el("option", { value: s.slug }, s.title)));
  const form = /** @type {HTMLFormElement} */ (byId("search-form"));
  const q = new URLSearchParams(location.search).get("q");
  if (q) /** @type {HTMLInputElement} */ (byId("search-q")).value = q;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFormError(form);
    try {
      await search(form);
    } catch (error) {
      showFormError(form, error);
    }
  });
  if (q) await search(form);
  document.body.dataset.ready = "true";
}

main().catch((error) => flash(`Could not load search: ${error.message}`));
