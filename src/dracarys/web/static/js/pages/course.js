// A program's page: what it teaches and who teaches it, price, cohorts with their dates
// and seats, enrolment through the checkout (free, or paid into escrow), and for an
// enrolled learner their progress, the next lesson, and the certificate once earned.

import { ApiError, api } from "../api.js";
import { openCheckout } from "../checkout.js";
import { capitalised, dateTime, duration, pageId, priceText, showRefusal, words } from "../learning.js";
import { byId, el, fill, money, signedInShell } from "../ui.js";

const programId = pageId("course", "programId");
const me = await signedInShell();

/** The learner's progress, or null when they have not joined a cohort. */
async function progressOf() {
  try {
    return await api(`/api/v1/programs/${programId}/progress`);
  } catch (failure) {
    if (failure instanceof ApiError && failure.status === 404) return null;
    throw failure;
  }
}

function about(program) {
  document.title = `${program.title} · Dracarys`;
  const heading = document.querySelector("main h1");
  if (heading) heading.textContent = program.title;
  fill(byId("course-about"),
    program.description ? el("p", { class: "pre-wrap" }, program.description) : null,
    el("dl", { class: "stats" },
      el("div", {}, el("dt", {}, "Mentor"), el("dd", {}, program.owner_name || "—")),
      el("div", {}, el("dt", {}, "Level"), el("dd", {}, capitalised(program.difficulty))),
      el("div", {}, el("dt", {}, "Price"), el("dd", { id: "course-price" }, priceText(program))),
      el("div", {}, el("dt", {}, "Study time"), el("dd", {}, duration(program.total_minutes)))),
    program.topics.length ? el("p", { class: "hint" }, `Topics: ${program.topics.map(words).join(", ")}`) : null);
}

function cohorts(program, enrolled, mine) {
  const box = byId("course-cohorts");
  const now = Date.now();
  const open = program.cohorts.filter((c) => new Date(c.starts_at).getTime() > now);
  box.replaceChildren(...program.cohorts.map((c) => {
    const seatsLeft = Math.max(0, c.capacity - c.enrolled);
    const canJoin = !enrolled && program.owner_id !== me.id && seatsLeft > 0 && open.includes(c);
    const button = canJoin ? el("button", { type: "button", class: "primary" }, `Enrol in ${c.title}`) : null;
    button?.addEventListener("click", () => enrol(program, c));
    return el("div", { class: "cohort", dataset: { cohortId: c.id } },
      el("h3", {}, c.title),
      el("p", { class: "hint" }, `${dateTime(c.starts_at)} to ${dateTime(c.ends_at)}`),
      el("p", { class: "hint" }, seatsLeft ? `${seatsLeft} of ${c.capacity} seats left` : "Full"),
      button);
  }));
  if (!program.cohorts.length) box.append(el("p", { class: "muted" }, "No cohort is open yet."));
  if (!enrolled) return;
  const joined = mine.find((e) => e.program_id === program.id);
  byId("enrol-status").textContent = joined
    ? `You are enrolled in ${joined.cohort_title}.`
    : "You are enrolled in this course.";
  if (joined && new Date(joined.starts_at).getTime() > now) box.append(leaving(program, joined));
}

/** Leaving before the cohort starts refunds what was paid; asked twice, never by accident. */
function leaving(program, joined) {
  const paid = joined.amount_minor > 0 ? ` and get ${money(joined.amount_minor, joined.currency)} back` : "";
  const ask = el("button", { type: "button" }, `Leave ${joined.cohort_title}`);
  const confirm = el("button", { type: "button", hidden: true }, `Yes, leave${paid}`);
  ask.addEventListener("click", () => {
    confirm.hidden = false;
    confirm.focus();
  });
  confirm.addEventListener("click", async () => {
    byId("enrol-error").textContent = "";
    try {
      await api(`/api/v1/cohorts/${joined.cohort_id}/leave`, { method: "POST" });
      byId("enrol-status").textContent = `You left ${joined.cohort_title}${paid ? `; ${money(joined.amount_minor, joined.currency)} is back in your wallet` : ""}.`;
      const note = byId("enrol-status").textContent;
      await show();
      byId("enrol-status").textContent = note;
    } catch (failure) {
      byId("enrol-error").textContent = failure instanceof Error ? failure.message : String(failure);
    }
  });
  return el("div", { class: "row spaced", id: "leave-cohort" },
    el("p", { class: "hint" }, `Until ${joined.cohort_title} starts you may leave${paid}.`), ask, confirm);
}

async function enrol(program, cohort) {
  byId("enrol-error").textContent = "";
  try {
    const joined = await openCheckout({ kind: "cohort", id: cohort.id });
    if (joined === null) return;
    byId("enrol-status").textContent = `You are enrolled in ${cohort.title} of “${program.title}”.`;
    await show();
  } catch (failure) {
    byId("enrol-error").textContent = failure instanceof Error ? failure.message : String(failure);
  }
}

function progressPanel(progress) {
  const card = byId("progress-card");
  card.hidden = progress === null;
  if (!progress) return;
  const certificate = progress.certificate;
  fill(byId("course-progress"),
    el("label", { for: "course-progress-bar" }, `${progress.percent_complete}% complete`),
    el("progress", { id: "course-progress-bar", class: "progress", max: 100, value: progress.percent_complete }),
    el("dl", { class: "stats spaced" },
      el("div", {}, el("dt", {}, "Lessons done"), el("dd", {}, `${progress.completed_lessons} of ${progress.total_lessons}`)),
      el("div", {}, el("dt", {}, "Time left"), el("dd", {}, duration(progress.minutes_remaining))),
      el("div", {}, el("dt", {}, "Assessments passed"), el("dd", {}, `${progress.passed_assessments} of ${progress.total_assessments}`))),
    progress.next_lesson
      ? el("p", {}, el("a", { class: "button primary", href: `/lessons/${progress.next_lesson.id}` }, `Continue: ${progress.next_lesson.title}`))
      : el("p", {}, "Every lesson is done."),
    certificate
      ? el("p", { id: "course-certificate" }, "You earned the certificate. ",
        el("a", { href: certificate.verification_url }, "Open your certificate"), " · ",
        el("a", { href: certificate.pdf_url }, "Download it as PDF"))
      : null);
}

async function outline(program, readable, done) {
  const items = await Promise.all(program.modules.map(async (module) => {
    const [assessments, assignments] = readable
      ? await Promise.all([
        Promise.all(module.assessment_ids.map((id) => api(`/api/v1/assessments/${id}`))),
        Promise.all(module.assignment_ids.map((id) => api(`/api/v1/assignments/${id}`))),
      ])
      : [[], []];
    const lessonItem = (lesson) => el("li", {},
      readable ? el("a", { href: `/lessons/${lesson.id}` }, lesson.title) : lesson.title,
      el("span", { class: "hint" }, ` · ${duration(lesson.estimated_minutes)}${done.includes(lesson.id) ? " · done" : ""}`));
    return el("li", {},
      el("h3", {}, module.title),
      el("ul", { "aria-label": `${module.title}: lessons and tasks` },
        ...module.lessons.map(lessonItem),
        ...assessments.map((a) => el("li", {}, el("a", { href: `/assessments/${a.id}` }, `Assessment: ${a.title}`),
          el("span", { class: "hint" }, a.passed ? " · passed" : ` · pass mark ${a.pass_mark_percent}%`))),
        ...assignments.map((a) => el("li", {}, el("a", { href: `/assignments/${a.id}` }, `Assignment: ${a.title}`))),
        ...(!readable && (module.assessment_ids.length || module.assignment_ids.length)
          ? [el("li", { class: "hint" }, `${module.assessment_ids.length} assessment(s), ${module.assignment_ids.length} assignment(s)`)]
          : [])));
  }));
  byId("course-outline").replaceChildren(...items);
}

async function show() {
  const program = await api(`/api/v1/programs/${programId}`).catch(showRefusal);
  if (!program) return;
  const [progress, mine] = await Promise.all([progressOf(), api("/api/v1/me/enrolments")]);
  const owner = program.owner_id === me.id || ["admin", "reviewer"].includes(me.role);
  about(program);
  cohorts(program, progress !== null, mine);
  progressPanel(progress);
  await outline(program, progress !== null || owner, progress ? progress.completed_lesson_ids : []);
}

await show();
