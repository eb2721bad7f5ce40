// The course catalogue: published programs, narrowed by topic, difficulty, price (free or
// paid) and mentor, each linking to its program page.

import { api } from "../api.js";
import { capitalised, dateTime, priceText, words } from "../learning.js";
import { byId, el, signedInShell } from "../ui.js";

await signedInShell();
const programs = (await api("/api/v1/programs")).filter((p) => p.published);
const form = /** @type {HTMLFormElement} */ (byId("course-filters"));

function fillChoices(select, values) {
  for (const [value, label] of values) select.append(el("option", { value }, label));
}
fillChoices(byId("filter-topic"), [...new Set(programs.flatMap((p) => p.topics))].sort().map((t) => [t, capitalised(t)]));
fillChoices(byId("filter-mentor"), [...new Map(programs.map((p) => [p.owner_id, p.owner_name || "A mentor"]))]
  .sort((a, b) => a[1].localeCompare(b[1])));

/** The next cohort still to start, with its seats, as the card says it. */
function nextCohortText(p) {
  const now = Date.now();
  const next = p.cohorts.find((c) => new Date(c.starts_at).getTime() > now);
  if (!next) return "No cohort open to join yet";
  const seats = Math.max(0, next.capacity - next.enrolled);
  return `Next cohort starts ${dateTime(next.starts_at)} · ${seats ? `${seats} seat${seats > 1 ? "s" : ""} left` : "full"}`;
}

function card(p) {
  return el("li", { class: "card course-card", dataset: { programId: p.id } },
    el("h2", {}, el("a", { href: `/courses/${p.id}` }, p.title)),
    el("p", { class: "hint" }, [p.owner_name ? `by ${p.owner_name}` : null, capitalised(p.difficulty)].filter(Boolean).join(" · ")),
    el("p", { class: "course-price" }, priceText(p)),
    el("p", { class: "hint" }, nextCohortText(p)),
    p.description ? el("p", { class: "course-description" }, p.description.length > 180 ? `${p.description.slice(0, 177)}…` : p.description) : null,
    p.topics.length ? el("p", { class: "hint" }, `Topics: ${p.topics.map(words).join(", ")}`) : null);
}

function show() {
  const value = (name) => form.elements.namedItem(name).value;
  const shown = programs.filter((p) =>
    (!value("topic") || p.topics.includes(value("topic"))) &&
    (!value("difficulty") || p.difficulty === value("difficulty")) &&
    (!value("price") || (value("price") === "free") === (p.price_minor === 0)) &&
    (!value("mentor") || p.owner_id === value("mentor")));
  byId("course-list").replaceChildren(...shown.map(card));
  byId("course-count").textContent = programs.length
    ? `${shown.length} of ${programs.length} course${programs.length > 1 ? "s" : ""} shown.`
    : "No course is published yet.";
}

async function showMine() {
  const mine = await api("/api/v1/me/enrolments");
  byId("my-courses-card").hidden = mine.length === 0;
  byId("my-courses").replaceChildren(...mine.map((e) => el("li", { dataset: { programId: e.program_id } },
    el("a", { href: `/courses/${e.program_id}` }, e.program_title),
    el("div", { class: "hint" }, `${e.cohort_title} · ${dateTime(e.starts_at)} to ${dateTime(e.ends_at)}`))));
}

form.addEventListener("change", show);
form.addEventListener("submit", (event) => event.preventDefault());
show();
await showMine();
