// Teach: the mentor's programs (published or draft), each opening the course builder, and
// a new program (a draft until published in the builder).

import { api } from "../api.js";
import { priceText } from "../learning.js";
import { byId, clearFormError, el, showFormError, signedInShell } from "../ui.js";

const me = await signedInShell();

async function showPrograms() {
  const programs = (await api("/api/v1/programs")).filter((p) => p.owner_id === me.id);
  const list = byId("my-programs");
  list.replaceChildren(...programs.map((p) => el("li", { dataset: { programId: p.id } },
    el("a", { href: `/teach/programs/${p.id}` }, p.title), " ",
    el("span", { class: p.published ? "badge ok" : "badge warn" }, p.published ? "Published" : "Draft"),
    el("div", { class: "hint" }, priceText(p)))));
  if (!programs.length) list.append(el("li", { class: "muted" }, "You have no program yet: create one."));
}

byId("new-program-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = /** @type {HTMLFormElement} */ (event.currentTarget);
  clearFormError(form);
  try {
    const created = await api("/api/v1/programs", {
      method: "POST", body: { title: form.elements.namedItem("title").value.trim() },
    });
    location.assign(`/teach/programs/${created.id}`);
  } catch (failure) {
    showFormError(form, failure);
  }
});

await showPrograms();
