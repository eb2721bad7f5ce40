// The community's spaces (/community): topic channels and the groups the member may read
// (GET /api/v1/community/spaces), the member's @handle, and the form a mentor hosts a
// group with.

import { api } from "../api.js";
import { byId, clearFormError, el, fill, flash, formValues, money, showFormError, signedInShell } from "../ui.js";

const API = "/api/v1/community";

function spaceItem(space) {
  const bits = [`${space.topics} topic${space.topics === 1 ? "" : "s"}`];
  if (space.kind === "group") bits.push(space.visibility === "private" ? "members only" : "open to all");
  if (space.cohort_id) bits.push("follows a cohort");
  if (space.premium) bits.push(`premium, ${money(space.monthly_price_minor, space.currency)} a month`);
  return el("li", { dataset: { slug: space.slug } },
    el("a", { href: `/community/${space.slug}` }, space.title),
    el("p", { class: "hint" }, [space.description, bits.join(" · ")].filter(Boolean).join(" — ")));
}

async function loadSpaces() {
  const spaces = await api(`${API}/spaces`);
  const channels = spaces.filter((s) => s.kind === "channel");
  const groups = spaces.filter((s) => s.kind === "group");
  fill(byId("channels"), ...channels.map(spaceItem));
  fill(byId("groups"), ...(groups.length ? groups.map(spaceItem) : [el("li", { class: "hint" }, "No groups you can see yet.")]));
}

function showProfile(profile) {
  byId("profile-summary").textContent =
    `@${profile.handle} · reputation ${profile.reputation} · trust level ${profile.trust_level} ` +
    `(up to ${profile.posts_per_day} posts a day${profile.may_post_links ? "" : "; links open up at basic"})`;
  /** @type {HTMLInputElement} */ (byId("handle")).value = profile.handle;
  byId("moderation-link").hidden = !profile.moderates;
}

async function main() {
  const me = await signedInShell();
  await loadSpaces();
  showProfile(await api(`${API}/profile`));
  byId("handle-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = /** @type {HTMLFormElement} */ (event.currentTarget);
    clearFormError(form);
    try {
      showProfile(await api(`${API}/profile`, { method: "PUT", body: { handle: formValues(form).handle } }));
      flash("Handle saved.", "ok");
    } catch (error) {
      showFormError(form, error);
    }
  });
  if (me.role === "mentor") {
    byId("group-section").hidden = false;
    byId("group-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const form = /** @type {HTMLFormElement} */ (event.currentTarget);
      clearFormError(form);
      const values = formValues(form);
      const body = { title: values.title, slug: values.slug, visibility: values.visibility };
      if (values.cohort_id) body.cohort_id = values.cohort_id;
      try {
        const group = await api(`${API}/groups`, { method: "POST", body });
        location.assign(`/community/${group.slug}`);
      } catch (error) {
        showFormError(form, error);
      }
    });
  }
  document.body.dataset.ready = "true";
}

main().catch((error) => flash(`Could not load the community: ${error.message}`));
