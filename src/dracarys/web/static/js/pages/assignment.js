// An assignment: its instructions and rubric, handing in an answer with an optional file
// (checked by its bytes on the server: a PDF or an image), and the learner's submissions
// with the mentor's score on each criterion and written feedback once given.

import { api } from "../api.js";
import { fieldProblem } from "../amounts.js";
import { dateTime, downloadFile, pageId, showRefusal, titled, uploadFile } from "../learning.js";
import { byId, clearFormError, el, flash, showFormError, signedInShell } from "../ui.js";

const assignmentId = pageId("assignment", "assignmentId");
await signedInShell();

const assignment = await api(`/api/v1/assignments/${assignmentId}`).catch(showRefusal);
if (!assignment) throw new Error("this assignment is not open to you");
const program = await api(`/api/v1/programs/${assignment.program_id}`);
titled(assignment.title);
byId("assignment-heading").textContent = "The task";
byId("assignment-instructions").textContent = assignment.instructions || "No further instructions.";
byId("assignment-rubric").replaceChildren(...assignment.rubric.map((c) => el("li", {}, `${c.name}: up to ${c.max_points} points`)));
byId("back-to-course").setAttribute("href", `/courses/${program.id}`);
byId("back-to-course").textContent = `Back to ${program.title}`;

function submissionItem(s) {
  const attachment = s.attachment;
  const download = attachment ? el("button", { type: "button", class: "link-button" }, `Download ${attachment.file_name}`) : null;
  download?.addEventListener("click", () => downloadFile(`/api/v1/submission-attachments/${attachment.id}`, attachment.file_name)
    .catch((failure) => flash(failure.message)));
  const review = s.reviewed_at
    ? el("div", { class: "feedback" },
      el("p", {}, el("strong", {}, `Score: ${s.total_points} of ${s.max_points}`)),
      el("ul", { "aria-label": "Score per criterion" }, ...s.rubric.map((c) =>
        el("li", {}, `${c.name}: ${s.scores?.[c.name] ?? "—"} of ${c.max_points}`))),
      s.feedback ? el("blockquote", { class: "pre-wrap" }, s.feedback) : null)
    : el("p", { class: "hint" }, "Waiting for the mentor's score.");
  return el("li", { dataset: { submissionId: s.id } },
    el("p", { class: "hint" }, `Handed in ${dateTime(s.submitted_at)}`),
    el("p", { class: "pre-wrap" }, s.body),
    download, review);
}

async function showSubmissions() {
  const mine = await api(`/api/v1/assignments/${assignmentId}/submissions`);
  const list = byId("my-submissions");
  list.replaceChildren(...mine.slice().reverse().map(submissionItem));
  if (!mine.length) list.append(el("li", { class: "muted" }, "Nothing handed in yet."));
}

byId("submission-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = /** @type {HTMLFormElement} */ (event.currentTarget);
  clearFormError(form);
  const fileInput = /** @type {HTMLInputElement} */ (byId("submission-file"));
  const button = form.querySelector("button[type=submit]");
  if (!form.elements.namedItem("body").value.trim()) {
    // Checked here first, so no file is uploaded for a hand-in that would be refused.
    showFormError(form, fieldProblem("body", "Write your answer before handing it in."));
    return;
  }
  button.disabled = true;
  try {
    const file = fileInput.files?.[0];
    const attachment = file ? await uploadFile(`/api/v1/assignments/${assignmentId}/attachments`, file) : null;
    await api(`/api/v1/assignments/${assignmentId}/submissions`, {
      method: "POST",
      body: { body: form.elements.namedItem("body").value, ...(attachment ? { attachment_id: attachment.id } : {}) },
    });
    form.reset();
    byId("submission-status").textContent = "Handed in. Your mentor will score it against the rubric.";
    await showSubmissions();
  } catch (failure) {
    showFormError(form, failure);
  } finally {
    button.disabled = false;
  }
});

await showSubmissions();
