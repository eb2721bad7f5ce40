// Admins' drip programs: each program with its enrolments (running, finished, ended by
// an exit condition), its steps with sent / opened / clicked, pause and resume, and one
// step's wait and texts edited (the server checks them; its messages go by the field).

import { api } from "../api.js";
import {
  byId, clearFormError, el, fillTable, flash, showFormError, signedInShell,
} from "../ui.js";

const API = "/api/v1/staff/drips";
const EXITS = {
  course_completed: "completed the course",
  left_course: "left the course",
  first_booking: "made a first booking",
  active_again: "was active again",
  unsubscribed: "unsubscribed",
};
const TRIGGERS = {
  "user.signed_up": "Signing up",
  "cohort.joined": "Joining a course",
  inactivity: "Inactivity",
};

const form = /** @type {HTMLFormElement} */ (byId("step-form"));
/** @type {{code: string, position: number} | null} */
let editing = null;

/** 90 minutes as "1 h 30 min", 2880 as "2 days". */
function wait(minutes) {
  if (minutes === 0) return "At once";
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const mins = minutes % 60;
  const parts = [];
  if (days) parts.push(`${days} day${days === 1 ? "" : "s"}`);
  if (hours) parts.push(`${hours} h`);
  if (mins) parts.push(`${mins} min`);
  return parts.join(" ");
}

function rate(part, whole) {
  return whole ? `${part} (${Math.round((100 * part) / whole)}%)` : String(part);
}

function edit(program, step) {
  editing = { code: program.code, position: step.position };
  clearFormError(form);
  const set = (name, value) => {
    /** @type {HTMLInputElement} */ (form.elements.namedItem(name)).value = String(value);
  };
  set("delay_minutes", step.delay_minutes);
  for (const name of ["subject_en", "body_en", "subject_sw", "body_sw"]) set(name, step[name]);
  byId("edit-heading").textContent = `Edit step ${step.position} of ${program.name}`;
  byId("edit-card").hidden = false;
  byId("edit-heading").focus();
}

async function setPaused(program, paused) {
  try {
    await api(`${API}/${program.code}/${paused ? "pause" : "resume"}`, { method: "POST" });
    flash(`${program.name} is ${paused ? "paused" : "sending again"}.`, "ok");
    await load();
  } catch (error) {
    flash(error instanceof Error ? error.message : String(error));
  }
}

function programCard(program) {
  const headingId = `program-${program.code}`;
  const rows = el("tbody", {});
  fillTable(rows, program.steps.map((step) => el("tr", { dataset: { step: String(step.position) } },
    el("td", {}, String(step.position)),
    el("td", {}, wait(step.delay_minutes)),
    el("td", {}, step.subject_en),
    el("td", {}, String(step.sent)),
    el("td", {}, rate(step.opened, step.sent)),
    el("td", {}, rate(step.clicked, step.sent)),
    el("td", {}, el("button", { type: "button", onclick: () => edit(program, step) },
      `Edit step ${step.position}`)))),
  "This program has no steps.");
  const counts = program.enrolments;
  const trigger = TRIGGERS[program.trigger] || program.trigger;
  return el("section", { class: "card", "aria-labelledby": headingId, dataset: { program: program.code } },
    el("h2", { id: headingId }, `${program.name}${program.paused ? " (paused)" : ""}`),
    el("p", {}, program.description),
    el("p", { class: "hint" },
      `Starts on: ${trigger}${program.inactive_after_days ? ` (${program.inactive_after_days} days)` : ""}. ` +
      `Ends when the member ${program.exit_conditions.map((c) => EXITS[c] || c).join(", or ")}.`),
    el("p", { dataset: { counts: program.code } },
      `Enrolled now: ${counts.running} · finished every step: ${counts.finished} · ended early: ${counts.exited}`),
    el("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": `${program.name} steps` },
      el("table", {},
        el("thead", {}, el("tr", {},
          el("th", {}, "Step"), el("th", {}, "Wait"), el("th", {}, "Subject (English)"),
          el("th", {}, "Sent"), el("th", {}, "Opened"), el("th", {}, "Clicked"), el("th", {}, "Change"))),
        rows)),
    el("button", { type: "button", class: program.paused ? "primary" : "",
      onclick: () => setPaused(program, !program.paused) },
    program.paused ? `Resume ${program.name}` : `Pause ${program.name}`));
}

async function load() {
  const programs = await api(`${API}`);
  byId("programs").replaceChildren(...programs.map(programCard));
  byId("drips-status").textContent = `${programs.length} program${programs.length === 1 ? "" : "s"}.`;
  document.body.dataset.ready = "true";
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!editing) return;
  clearFormError(form);
  const text = (name) => /** @type {HTMLInputElement} */ (form.elements.namedItem(name)).value;
  const delay = text("delay_minutes").trim();
  if (!/^\d{1,6}$/.test(delay)) {
    showFormError(form, new Error("Type the wait as a whole number of minutes, such as 1440 for a day."));
    return;
  }
  const body = {
    delay_minutes: Number(delay),
    subject_en: text("subject_en"), body_en: text("body_en"),
    subject_sw: text("subject_sw"), body_sw: text("body_sw"),
  };
  try {
    await api(`${API}/${editing.code}/steps/${editing.position}`, { method: "PUT", body });
    flash(`Step ${editing.position} saved.`, "ok");
    byId("edit-card").hidden = true;
    editing = null;
    await load();
  } catch (error) {
    showFormError(form, error);
  }
});

byId("edit-cancel").addEventListener("click", () => {
  byId("edit-card").hidden = true;
  editing = null;
});

async function main() {
  await signedInShell();
  await load();
}

main().catch((error) => {
  if (error instanceof Error && /not signed in|may not use/.test(error.message)) return;
  byId("drips-status").textContent =
    `Could not load the programs: ${error instanceof Error ? error.message : error}`;
});
