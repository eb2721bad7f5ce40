// The lesson reader: the lesson as the server rendered it (Markdown made safe and code
// highlighted on the server, so the page inserts no HTML of its own making), its
// recordings, the learner's progress and time left, "mark complete" and the next lesson.

import { ApiError, api } from "../api.js";
import { dateTime, duration, pageId, showRefusal } from "../learning.js";
import { byId, el, fill, signedInShell } from "../ui.js";

const lessonId = pageId("lesson", "lessonId");
await signedInShell();

const lesson = await api(`/api/v1/lessons/${lessonId}`).catch(showRefusal);
if (!lesson) throw new Error("this lesson is not open to you");
const program = await api(`/api/v1/programs/${lesson.program_id}`);
const order = program.modules.flatMap((m) => m.lessons);
const position = order.findIndex((l) => l.id === lessonId);
const following = order[position + 1] || null;
const previous = position > 0 ? order[position - 1] : null;

document.title = `${lesson.title} · ${program.title} · Dracarys`;
const heading = document.querySelector("main h1");
if (heading) heading.textContent = lesson.title;
byId("back-to-course").setAttribute("href", `/courses/${program.id}`);
byId("back-to-course").textContent = `Back to ${program.title}`;

const body = byId("lesson-body");
// body_html is rendered and sanitised by the server (markdown-it, Pygments, nh3).
body.innerHTML = lesson.body_html || "<p>This lesson has no text yet.</p>";
body.prepend(el("p", { class: "hint" }, `${program.title} · about ${duration(lesson.estimated_minutes)}`));
if (lesson.recordings.length) {
  body.append(el("h2", {}, "Recordings"), el("ul", {}, ...lesson.recordings.map((r) =>
    el("li", {}, el("a", { href: r.recording_url, rel: "noopener noreferrer" }, r.title), ` (${dateTime(r.starts_at)})`))));
}

/** @param {any} progress */
function showProgress(progress, done) {
  byId("lesson-progress").replaceChildren(
    el("label", { for: "lesson-progress-bar" }, `${progress.percent_complete}% of the course complete`),
    el("progress", { id: "lesson-progress-bar", class: "progress", max: 100, value: progress.percent_complete }),
    el("p", {}, `${progress.completed_lessons} of ${progress.total_lessons} lessons done · ${duration(progress.minutes_remaining)} left`));
  const actions = byId("lesson-actions");
  const complete = el("button", { type: "button", class: "primary", disabled: done }, done ? "Completed" : "Mark complete");
  complete.addEventListener("click", async () => {
    byId("lesson-error").textContent = "";
    try {
      const after = await api(`/api/v1/lessons/${lessonId}/complete`, { method: "POST" });
      byId("lesson-status").textContent = "Lesson marked complete.";
      showProgress(after, true);
    } catch (failure) {
      byId("lesson-error").textContent = failure instanceof Error ? failure.message : String(failure);
    }
  });
  fill(actions, complete,
    previous ? el("a", { class: "button", href: `/lessons/${previous.id}` }, `Previous lesson: ${previous.title}`) : null,
    following
      ? el("a", { class: "button", href: `/lessons/${following.id}` }, `Next lesson: ${following.title}`)
      : el("a", { class: "button", href: `/courses/${program.id}` }, "Back to the course: assessments and assignments"));
}

try {
  const progress = await api(`/api/v1/programs/${program.id}/progress`);
  showProgress(progress, progress.completed_lesson_ids.includes(lessonId));
} catch (failure) {
  if (!(failure instanceof ApiError && failure.status === 404)) throw failure;
  // The mentor (or staff) reading along: no progress of their own.
  byId("lesson-progress").replaceChildren(el("p", { class: "hint" }, "You are reading as the course's mentor: no progress is kept."));
}
