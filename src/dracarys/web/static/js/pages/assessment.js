// An assessment: its questions (one answer, several answers, or a number), graded by the
// server the moment they are handed in, with each question marked right or not, the score
// against the pass mark, the attempts left, and the certificate when this pass earns it.

import { api } from "../api.js";
import { pageId, showRefusal, titled } from "../learning.js";
import { byId, clearFormError, el, fill, showFormError, signedInShell } from "../ui.js";

const assessmentId = pageId("assessment", "assessmentId");
const me = await signedInShell();

let assessment = await api(`/api/v1/assessments/${assessmentId}`).catch(showRefusal);
if (!assessment) throw new Error("this assessment is not open to you");
const program = await api(`/api/v1/programs/${assessment.program_id}`);
byId("back-to-course").setAttribute("href", `/courses/${program.id}`);
byId("back-to-course").textContent = `Back to ${program.title}`;
titled(assessment.title);
byId("assessment-heading").textContent = "Questions";
const form = /** @type {HTMLFormElement} */ (byId("assessment-form"));

function rules() {
  const left = assessment.max_attempts - assessment.attempts_used;
  byId("assessment-rules").textContent =
    `Pass mark ${assessment.pass_mark_percent}%. Attempts used: ${assessment.attempts_used} of ${assessment.max_attempts}` +
    (assessment.passed ? ". You have passed." : left > 0 ? "." : ". No attempt is left.");
}

function questionBlock(question, index) {
  const name = `answer-${question.id}`;
  const legend = el("legend", {}, `${index + 1}. ${question.prompt}`,
    el("span", { class: "hint" }, ` (${question.points} point${question.points > 1 ? "s" : ""})`));
  const verdict = el("p", { class: "verdict", id: `${name}-verdict`, "aria-live": "polite" });
  if (question.kind === "numeric") {
    return el("fieldset", { class: "question", dataset: { questionId: question.id } }, legend,
      el("div", { class: "field" }, el("label", { for: name }, "Your answer (a number)"),
        el("input", { id: name, name, inputmode: "decimal", autocomplete: "off", "aria-describedby": `${name}-verdict` })),
      verdict);
  }
  const type = question.kind === "single" ? "radio" : "checkbox";
  return el("fieldset", { class: "question", dataset: { questionId: question.id }, "aria-describedby": `${name}-verdict` }, legend,
    ...question.options.map((option, at) => el("label", { class: "check" },
      el("input", { type, name, value: String(at) }), option)),
    question.kind === "multiple" ? el("p", { class: "hint" }, "Choose every right answer.") : null,
    verdict);
}

function answers() {
  /** @type {Record<string, number[] | number>} */
  const given = {};
  for (const question of assessment.questions) {
    const name = `answer-${question.id}`;
    if (question.kind === "numeric") {
      const text = form.elements.namedItem(name).value.trim().replace(",", ".");
      if (text === "" || Number.isNaN(Number(text))) throw new Error(`Answer question ${assessment.questions.indexOf(question) + 1} with a number.`);
      given[question.id] = Number(text);
    } else {
      given[question.id] = [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((box) => Number(box.value));
    }
  }
  return given;
}

function showResult(result) {
  for (const question of assessment.questions) {
    const verdict = byId(`answer-${question.id}-verdict`);
    const right = result.correct[question.id];
    verdict.textContent = right ? "✓ Right" : "✗ Not right";
    verdict.className = `verdict ${right ? "up" : "down"}`;
  }
  const certificate = result.certificate;
  fill(byId("assessment-result"),
    el("h3", { id: "assessment-score" }, `${result.passed ? "Passed" : "Not passed"}: ${result.score_percent}% (pass mark ${assessment.pass_mark_percent}%)`),
    el("p", {}, result.passed ? "Well done." : result.attempts_left > 0
      ? `You have ${result.attempts_left} attempt${result.attempts_left > 1 ? "s" : ""} left.`
      : "No attempt is left."),
    certificate
      ? el("p", {}, "You earned the course certificate. ", el("a", { href: certificate.verification_url }, "Open your certificate"))
      : null);
}

function render() {
  rules();
  const closed = assessment.passed || assessment.attempts_used >= assessment.max_attempts;
  const mentor = me.id === program.owner_id;
  fill(form,
    ...assessment.questions.map(questionBlock),
    el("p", { class: "form-error", role: "alert" }),
    mentor ? el("p", { class: "hint" }, "You are this course's mentor: learners answer here, and see the questions as you do.") : null,
    closed || mentor ? null : el("button", { type: "submit", class: "primary" }, "Hand in my answers"));
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearFormError(form);
  try {
    const result = await api(`/api/v1/assessments/${assessmentId}/attempts`, {
      method: "POST", body: { answers: answers() },
    });
    assessment = { ...assessment, attempts_used: result.attempt_no, passed: assessment.passed || result.passed };
    rules();
    showResult(result);
    if (assessment.passed || result.attempts_left === 0) form.querySelector("button[type=submit]")?.remove();
  } catch (failure) {
    showFormError(form, failure);
  }
});

render();
