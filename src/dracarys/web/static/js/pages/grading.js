// The grading queue: submissions to the mentor's programs, unscored first, each scored on
// every criterion of its rubric (0 to the criterion's most) with written feedback, and
// its attached file downloadable.

import { api } from "../api.js";
import { dateTime, downloadFile } from "../learning.js";
import { byId, clearFormError, el, flash, showFormError, signedInShell } from "../ui.js";

await signedInShell();

function gradingForm(submission) {
  const key = submission.id.slice(0, 8);
  const scored = submission.scores || {};
  const form = el("form", { novalidate: true, "aria-label": `Score ${submission.learner_name}'s ${submission.assignment_title}` });
  for (const [index, criterion] of submission.rubric.entries()) {
    const id = `score-${key}-${index}`;
    form.append(el("div", { class: "field" },
      el("label", { for: id }, `${criterion.name} (0 to ${criterion.max_points})`),
      el("input", {
        id, name: `scores.${criterion.name}`, type: "number", min: 0, max: criterion.max_points,
        value: scored[criterion.name] ?? "", required: true, "aria-describedby": `${id}-error`,
        dataset: { criterion: criterion.name },
      }),
      el("p", { class: "field-error", id: `${id}-error` })));
  }
  const feedbackId = `feedback-${key}`;
  form.append(
    el("div", { class: "field" }, el("label", { for: feedbackId }, "Feedback for the learner"),
      el("textarea", { id: feedbackId, name: "feedback", rows: 4, "aria-describedby": `${feedbackId}-error` }, submission.feedback || ""),
      el("p", { class: "field-error", id: `${feedbackId}-error` })),
    el("p", { class: "form-error", role: "alert" }),
    el("button", { type: "submit", class: "primary" }, submission.reviewed_at ? "Update the score" : "Save the score"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFormError(form);
    const scores = {};
    for (const input of form.querySelectorAll("input[data-criterion]")) {
      if (input.value === "") {
        showFormError(form, new Error(`Score “${input.dataset.criterion}”.`));
        input.focus();
        return;
      }
      scores[input.dataset.criterion] = Number(input.value);
    }
    try {
      await api(`/api/v1/submissions/${submission.id}/feedback`, {
        method: "PUT", body: { scores, feedback: form.elements.namedItem("feedback").value },
      });
      flash(`Scored ${submission.learner_name}'s “${submission.assignment_title}”.`, "info");
      await showQueue();
    } catch (failure) {
      showFormError(form, failure);
    }
  });
  return form;
}

function item(submission) {
  const attachment = submission.attachment;
  const download = attachment ? el("button", { type: "button", class: "link-button" }, `Download ${attachment.file_name}`) : null;
  download?.addEventListener("click", () => downloadFile(`/api/v1/submission-attachments/${attachment.id}`, attachment.file_name)
    .catch((failure) => flash(failure.message)));
  return el("li", { dataset: { submissionId: submission.id } },
    el("h2", { class: "h3" }, `${submission.assignment_title} · ${submission.learner_name}`),
    el("p", { class: "hint" }, `${submission.program_title} · handed in ${dateTime(submission.submitted_at)}`,
      submission.reviewed_at ? ` · scored ${submission.total_points} of ${submission.max_points}` : " · waiting for a score"),
    el("p", { class: "pre-wrap" }, submission.body),
    download,
    gradingForm(submission));
}

async function showQueue() {
  const queue = await api("/api/v1/teaching/submissions");
  const waiting = queue.filter((s) => !s.reviewed_at).length;
  byId("grading-status").textContent = waiting
    ? `${waiting} submission${waiting > 1 ? "s" : ""} waiting for a score.`
    : "Nothing is waiting for a score.";
  byId("grading-queue").replaceChildren(...queue.map(item));
}

await showQueue();
