// The landing page: a signed-in browser goes on to its home; a visitor sees what the
// platform is, with its mentors and courses as the public API lists them.

import { currentSession, homeFor } from "../api.js";
import { byId, el, money, num } from "../ui.js";

const session = currentSession();
if (session) location.replace(homeFor(session.role));

/** @param {string} path */
async function publicJson(path) {
  const response = await fetch(path, { headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error(`${path} answered ${response.status}`);
  return response.json();
}

async function showMentors() {
  const list = byId("landing-mentors");
  try {
    const { mentors } = await publicJson("/api/v1/mentors?limit=6");
    list.replaceChildren(...mentors.map((mentor) => el("li", { class: "card" },
      el("h3", {}, el("a", { href: `/mentors/${mentor.id}` }, mentor.name)),
      el("p", {}, mentor.headline || mentor.specialties.join(", ")),
      el("p", { class: "muted" },
        mentor.rating_count
          ? `Rated ${num(mentor.rating_average, 1)} of 5 by ${mentor.rating_count} mentees · ${mentor.total_sessions} sessions held`
          : `${mentor.total_sessions} sessions held · not rated yet`),
      el("p", {}, `${money(mentor.hourly_rate_minor, mentor.currency)} an hour`),
    )));
    if (!mentors.length) list.replaceChildren(el("li", { class: "muted" }, "Mentors are joining; check back soon."));
  } catch {
    list.replaceChildren(el("li", { class: "muted" }, "Mentors could not be loaded just now."));
  }
}

async function showCourses() {
  const list = byId("landing-courses");
  try {
    const programs = await publicJson("/api/v1/programs");
    list.replaceChildren(...programs.slice(0, 6).map((program) => el("li", { class: "card" },
      el("h3", {}, program.title),
      el("p", {}, program.description),
      el("p", { class: "muted" }, `${program.difficulty} · ${Math.round(program.total_minutes / 60)} h of lessons`),
      el("p", {}, program.price_minor ? money(program.price_minor, program.currency) : "Free"),
    )));
    if (!programs.length) list.replaceChildren(el("li", { class: "muted" }, "Courses are on their way."));
  } catch {
    list.replaceChildren(el("li", { class: "muted" }, "Courses could not be loaded just now."));
  }
}

if (!session) {
  showMentors();
  showCourses();
}
