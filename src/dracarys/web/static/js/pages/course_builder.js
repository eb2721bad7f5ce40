// The course builder: a program's details and price (typed in major units with its
// currency), its cohorts, modules and lessons in order (moved up and down through the
// reorder APIs), lessons written in Markdown with a live preview rendered by the server
// exactly as the reader shows it, images uploaded into a lesson, and auto-graded
// assessments and rubric-scored assignments, each edited afterwards (questions until a
// learner attempts it, the rubric until work is scored on it); modules renamed in place.

import { api } from "../api.js";
import { fieldProblem, renamedFields, toMajorText, toMinor } from "../amounts.js";
import { dateTime, duration, pageId, uploadFile } from "../learning.js";
import { byId, clearFormError, el, flash, showFormError, signedInShell } from "../ui.js";

const programId = pageId("builder", "programId");
/** @type {any} the program as getProgram last answered */
let program = null;
/** What the lesson editor edits: a new lesson of a module, or a lesson. */
/** @type {{moduleId: string, lessonId: string | null} | null} */
let editing = null;

async function load() {
  program = await api(`/api/v1/programs/${programId}`);
  document.title = `${program.title} · Course builder · Dracarys`;
  byId("view-as-learner").setAttribute("href", `/courses/${program.id}`);
  showCohorts();
  showModules();
}

// ---- the program --------------------------------------------------------------------------

function fillProgramForm() {
  const form = /** @type {HTMLFormElement} */ (byId("program-form"));
  form.elements.namedItem("title").value = program.title;
  form.elements.namedItem("description").value = program.description;
  form.elements.namedItem("difficulty").value = program.difficulty;
  form.elements.namedItem("currency").value = program.currency;
  form.elements.namedItem("price").value = toMajorText(program.price_minor, program.currency);
  byId("program-published").checked = program.published;
  for (const box of form.querySelectorAll("input[name=topic]")) box.checked = program.topics.includes(box.value);
  /** @type {HTMLFieldSetElement} */ (byId("program-fields")).disabled = false;
}

byId("program-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = /** @type {HTMLFormElement} */ (event.currentTarget);
  clearFormError(form);
  const currency = form.elements.namedItem("currency").value;
  try {
    let price;
    try {
      price = toMinor(form.elements.namedItem("price").value || "0", currency);
    } catch (problem) {
      throw fieldProblem("price", problem.message);
    }
    const body = {
      title: form.elements.namedItem("title").value.trim(),
      description: form.elements.namedItem("description").value,
      difficulty: form.elements.namedItem("difficulty").value,
      price_minor: price,
      currency,
      published: byId("program-published").checked,
      topics: [...form.querySelectorAll("input[name=topic]:checked")].map((box) => box.value),
    };
    program = await api(`/api/v1/programs/${programId}`, { method: "PUT", body });
    byId("program-status").textContent = `Saved${program.published ? "; published" : "; not published yet"}.`;
  } catch (failure) {
    showFormError(form, renamedFields(failure, { price_minor: "price" }));
  }
});

// ---- cohorts ------------------------------------------------------------------------------

function showCohorts() {
  const list = byId("cohort-list");
  list.replaceChildren(...program.cohorts.map((c) => el("li", { dataset: { cohortId: c.id } },
    el("strong", {}, c.title),
    el("div", { class: "hint" }, `${dateTime(c.starts_at)} to ${dateTime(c.ends_at)} · ${c.enrolled} of ${c.capacity} seats taken`))));
  if (!program.cohorts.length) list.append(el("li", { class: "muted" }, "No cohort yet: learners join a cohort to take the course."));
}

byId("cohort-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = /** @type {HTMLFormElement} */ (event.currentTarget);
  clearFormError(form);
  const value = (name) => form.elements.namedItem(name).value;
  try {
    if (!value("starts_at")) throw fieldProblem("starts_at", "Choose when the cohort starts.");
    if (!value("ends_at")) throw fieldProblem("ends_at", "Choose when the cohort ends.");
    if (!value("capacity")) throw fieldProblem("capacity", "Say how many seats the cohort has.");
    await api(`/api/v1/programs/${programId}/cohorts`, {
      method: "POST",
      body: {
        title: value("title").trim(),
        starts_at: new Date(value("starts_at")).toISOString(),
        ends_at: new Date(value("ends_at")).toISOString(),
        capacity: Number(value("capacity")),
      },
    });
    form.reset();
    await load();
    flash("Cohort opened.", "info");
  } catch (failure) {
    showFormError(form, failure);
  }
});

// ---- modules and lessons ------------------------------------------------------------------

/** Move `ids[index]` by `step` (−1 up, +1 down) and return the new order. */
function moved(ids, index, step) {
  const order = [...ids];
  [order[index], order[index + step]] = [order[index + step], order[index]];
  return order;
}

function moveButtons(label, ids, index, save) {
  const up = el("button", { type: "button", class: "small", "aria-label": `Move ${label} up`, disabled: index === 0 }, "↑");
  const down = el("button", { type: "button", class: "small", "aria-label": `Move ${label} down`, disabled: index === ids.length - 1 }, "↓");
  up.addEventListener("click", () => save(moved(ids, index, -1)));
  down.addEventListener("click", () => save(moved(ids, index, 1)));
  return [up, down];
}

async function reorder(path, ids) {
  try {
    program = await api(path, { method: "PUT", body: { ids } });
    showModules();
  } catch (failure) {
    flash(failure instanceof Error ? failure.message : String(failure));
  }
}

/** Titles of assessments and assignments, fetched once each: the outline has their ids. */
const taskTitles = new Map();

/** A link to an assessment or assignment as learners see it, titled once known. */
function taskLink(kind, id) {
  const label = kind === "assessment" ? "Assessment" : "Assignment";
  const link = el("a", { href: `/${kind}s/${id}` }, taskTitles.get(id) ? `${label}: ${taskTitles.get(id)}` : label);
  if (!taskTitles.has(id)) {
    api(`/api/v1/${kind}s/${id}`).then((task) => {
      taskTitles.set(id, task.title);
      link.textContent = `${label}: ${task.title}`;
    }).catch(() => {}); // the link works without its title
  }
  const edit = el("button", { type: "button", class: "small" }, `Edit ${label.toLowerCase()}`);
  edit.addEventListener("click", () => (kind === "assessment" ? editAssessment(id) : editAssignment(id)));
  return el("li", {}, link, " ", edit);
}

/** Rename a module in place: the heading becomes a labelled field with Save and Cancel. */
function renameModule(module, head) {
  const input = el("input", { id: `rename-${module.id}`, name: "title", value: module.title, maxlength: 200, required: true,
    "aria-describedby": `rename-${module.id}-error` });
  const save = el("button", { type: "submit", class: "primary small" }, "Save name");
  const cancel = el("button", { type: "button", class: "small" }, "Cancel");
  const form = el("form", { class: "row rename-form", novalidate: true },
    el("div", { class: "field" }, el("label", { for: input.id }, `New name of ${module.title}`), input,
      el("p", { class: "field-error", id: `rename-${module.id}-error` })),
    save, cancel, el("p", { class: "form-error", role: "alert" }));
  cancel.addEventListener("click", () => showModules());
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFormError(form);
    try {
      program = await api(`/api/v1/modules/${module.id}`, { method: "PUT", body: { title: input.value.trim() } });
      showModules();
      flash(`Module renamed to “${input.value.trim()}”.`, "info");
    } catch (failure) {
      showFormError(form, failure);
    }
  });
  head.replaceWith(form);
  input.focus();
}

function showModules() {
  const moduleIds = program.modules.map((m) => m.id);
  byId("module-list").replaceChildren(...program.modules.map((module, index) => {
    const lessonIds = module.lessons.map((l) => l.id);
    const lessons = el("ol", { class: "outline", "aria-label": `Lessons of ${module.title}` },
      ...module.lessons.map((lesson, at) => {
        const edit = el("button", { type: "button", class: "small" }, `Edit “${lesson.title}”`);
        edit.addEventListener("click", () => openLessonEditor(module.id, lesson.id));
        return el("li", { dataset: { lessonId: lesson.id } },
          el("span", {}, `${lesson.title} (${duration(lesson.estimated_minutes)})`), " ",
          ...moveButtons(`lesson ${lesson.title}`, lessonIds, at,
            (ids) => reorder(`/api/v1/modules/${module.id}/lesson-order`, ids)),
          " ", edit);
      }));
    const add = el("button", { type: "button" }, `Add a lesson to ${module.title}`);
    add.addEventListener("click", () => openLessonEditor(module.id, null));
    const tasks = [
      ...module.assessment_ids.map((id) => taskLink("assessment", id)),
      ...module.assignment_ids.map((id) => taskLink("assignment", id)),
    ];
    const rename = el("button", { type: "button", class: "small" }, `Rename ${module.title}`);
    const head = el("div", { class: "row module-head" }, el("h3", {}, module.title),
      ...moveButtons(`module ${module.title}`, moduleIds, index,
        (ids) => reorder(`/api/v1/programs/${programId}/module-order`, ids)), rename);
    rename.addEventListener("click", () => renameModule(module, head));
    return el("li", { dataset: { moduleId: module.id } },
      head,
      lessons,
      tasks.length ? el("ul", { class: "tasks", "aria-label": `Assessments and assignments of ${module.title}` }, ...tasks) : null,
      add);
  }));
  if (!program.modules.length) byId("module-list").append(el("li", { class: "muted" }, "No module yet: add one below."));
  for (const id of ["assessment-module", "assignment-module"]) {
    const select = /** @type {HTMLSelectElement} */ (byId(id));
    const chosen = select.value;
    select.replaceChildren(...program.modules.map((m) => el("option", { value: m.id }, m.title)));
    if (chosen) select.value = chosen;
  }
}

byId("module-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = /** @type {HTMLFormElement} */ (event.currentTarget);
  clearFormError(form);
  try {
    await api(`/api/v1/programs/${programId}/modules`, {
      method: "POST", body: { title: form.elements.namedItem("title").value.trim() },
    });
    form.reset();
    await load();
  } catch (failure) {
    showFormError(form, failure);
  }
});

// ---- the lesson editor --------------------------------------------------------------------

const lessonForm = /** @type {HTMLFormElement} */ (byId("lesson-form"));
const markdownBox = /** @type {HTMLTextAreaElement} */ (byId("lesson-body_markdown"));
let previewTimer = 0;
let previewAsked = 0;

async function preview() {
  const asked = ++previewAsked;
  try {
    const rendered = await api("/api/v1/lesson-previews", {
      method: "POST", body: { body_markdown: markdownBox.value },
    });
    // Only the latest text's preview is shown, whatever order the answers come in.
    if (asked === previewAsked) byId("lesson-preview").innerHTML = rendered.body_html;
  } catch (failure) {
    if (asked === previewAsked) byId("lesson-preview").textContent = failure instanceof Error ? failure.message : String(failure);
  }
}

markdownBox.addEventListener("input", () => {
  window.clearTimeout(previewTimer);
  previewTimer = window.setTimeout(preview, 250);
});

async function openLessonEditor(moduleId, lessonId) {
  editing = { moduleId, lessonId };
  clearFormError(lessonForm);
  lessonForm.reset();
  const module = program.modules.find((m) => m.id === moduleId);
  if (lessonId) {
    const lesson = await api(`/api/v1/lessons/${lessonId}`);
    lessonForm.elements.namedItem("title").value = lesson.title;
    lessonForm.elements.namedItem("estimated_minutes").value = String(lesson.estimated_minutes);
    markdownBox.value = lesson.body_markdown;
    byId("lesson-editor-heading").textContent = `Edit lesson: ${lesson.title}`;
  } else {
    lessonForm.elements.namedItem("estimated_minutes").value = "15";
    byId("lesson-editor-heading").textContent = `New lesson in ${module ? module.title : "this module"}`;
  }
  byId("lesson-editor").hidden = false;
  await preview();
  lessonForm.elements.namedItem("title").focus();
}

byId("lesson-cancel").addEventListener("click", () => {
  byId("lesson-editor").hidden = true;
  editing = null;
});

byId("lesson-image").addEventListener("change", async (event) => {
  const input = /** @type {HTMLInputElement} */ (event.currentTarget);
  const file = input.files?.[0];
  if (!file) return;
  try {
    const asset = await uploadFile(`/api/v1/programs/${programId}/assets`, file);
    const at = markdownBox.selectionEnd ?? markdownBox.value.length;
    const alt = file.name.replace(/\.[^.]+$/, "").replace(/[[\]]/g, "") || "chart";
    const image = `\n\n![${alt}](${asset.url})\n\n`;
    markdownBox.value = markdownBox.value.slice(0, at) + image + markdownBox.value.slice(at);
    input.value = "";
    await preview();
  } catch (failure) {
    showFormError(lessonForm, failure);
  }
});

lessonForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!editing) return;
  clearFormError(lessonForm);
  const body = {
    title: lessonForm.elements.namedItem("title").value.trim(),
    estimated_minutes: Number(lessonForm.elements.namedItem("estimated_minutes").value),
    body_markdown: markdownBox.value,
  };
  try {
    if (!body.estimated_minutes) throw fieldProblem("estimated_minutes", "Say how many minutes the lesson takes to study.");
    if (editing.lessonId) {
      await api(`/api/v1/lessons/${editing.lessonId}`, { method: "PUT", body });
    } else {
      const created = await api(`/api/v1/modules/${editing.moduleId}/lessons`, { method: "POST", body });
      editing = { moduleId: editing.moduleId, lessonId: created.id };
    }
    await load();
    flash(`Lesson “${body.title}” saved.`, "info");
  } catch (failure) {
    showFormError(lessonForm, failure);
  }
});

// ---- assessments --------------------------------------------------------------------------

let questionCount = 0;

/** A question block, empty or holding `given` (a question as the draft returns it). */
function addQuestion(given = null) {
  questionCount += 1;
  const n = questionCount;
  const id = (name) => `q${n}-${name}`;
  const field = (name, label, control, hint = null) => el("div", { class: "field" },
    el("label", { for: id(name) }, label), control, hint ? el("p", { class: "hint", id: `${id(name)}-hint` }, hint) : null,
    el("p", { class: "field-error", id: `${id(name)}-error` }));
  const kind = el("select", { id: id("kind"), dataset: { part: "kind" } },
    el("option", { value: "single" }, "One right answer"),
    el("option", { value: "multiple" }, "Several right answers"),
    el("option", { value: "numeric" }, "A number"));
  const choice = el("div", { dataset: { part: "choice" } },
    field("options", "Answers to choose from, one per line",
      el("textarea", { id: id("options"), rows: 3, dataset: { part: "options" }, "aria-describedby": `${id("options")}-error` })),
    field("correct", "Number of the right answer(s), e.g. 2 or 1, 3",
      el("input", { id: id("correct"), dataset: { part: "correct" }, autocomplete: "off", "aria-describedby": `${id("correct")}-error` })));
  const numeric = el("div", { class: "row", dataset: { part: "numeric" }, hidden: true },
    field("answer", "The right number", el("input", { id: id("answer"), inputmode: "decimal", dataset: { part: "answer" }, "aria-describedby": `${id("answer")}-error` })),
    field("tolerance", "How far off still counts", el("input", { id: id("tolerance"), inputmode: "decimal", value: "0", dataset: { part: "tolerance" }, "aria-describedby": `${id("tolerance")}-error` })));
  kind.addEventListener("change", () => {
    choice.hidden = kind.value === "numeric";
    numeric.hidden = kind.value !== "numeric";
  });
  const remove = el("button", { type: "button", class: "small" }, `Remove question ${n}`);
  const block = el("fieldset", { class: "question", dataset: { question: String(n) } },
    el("legend", {}, `Question ${n}`),
    field("prompt", "Question", el("input", { id: id("prompt"), dataset: { part: "prompt" }, "aria-describedby": `${id("prompt")}-error` })),
    field("kind", "Kind of answer", kind),
    choice, numeric, remove);
  remove.addEventListener("click", () => block.remove());
  byId("question-list").append(block);
  if (given) {
    // Kept as they were: an edit sends back the same ids (attempts' answers name them) and
    // the points each question weighs.
    block.dataset.questionId = given.id;
    block.dataset.points = String(given.points);
    /** @type {HTMLInputElement} */ (block.querySelector("[data-part=prompt]")).value = given.prompt;
    kind.value = given.kind;
    kind.dispatchEvent(new Event("change"));
    if (given.kind === "numeric") {
      /** @type {HTMLInputElement} */ (block.querySelector("[data-part=answer]")).value = String(given.answer);
      /** @type {HTMLInputElement} */ (block.querySelector("[data-part=tolerance]")).value = String(given.tolerance);
    } else {
      /** @type {HTMLTextAreaElement} */ (block.querySelector("[data-part=options]")).value = given.options.join("\n");
      /** @type {HTMLInputElement} */ (block.querySelector("[data-part=correct]")).value =
        given.correct.map((c) => c + 1).join(", ");
    }
  }
}

/** The questions as the API takes them; a field problem names the control to fix. */
function readQuestions() {
  const blocks = [...byId("question-list").querySelectorAll("fieldset.question")];
  if (!blocks.length) throw new Error("Add at least one question.");
  const kept = new Set(blocks.map((block) => block.dataset.questionId).filter(Boolean));
  let next = 0;
  const freshId = () => {
    do next += 1; while (kept.has(`q${next}`));
    kept.add(`q${next}`);
    return `q${next}`;
  };
  return blocks.map((block, index) => {
    const part = (name) => /** @type {HTMLInputElement} */ (block.querySelector(`[data-part="${name}"]`));
    const problem = (name, message) => {
      const control = part(name);
      control.setAttribute("aria-invalid", "true");
      const slot = document.getElementById(`${control.id}-error`);
      if (slot) slot.textContent = message;
      control.focus();
      return new Error(`Question ${index + 1}: ${message}`);
    };
    const prompt = part("prompt").value.trim();
    if (!prompt) throw problem("prompt", "Write the question.");
    const kind = part("kind").value;
    const question = {
      id: block.dataset.questionId || freshId(), kind, prompt,
      ...(block.dataset.points ? { points: Number(block.dataset.points) } : {}),
    };
    if (kind === "numeric") {
      const answer = Number(part("answer").value.replace(",", "."));
      if (part("answer").value.trim() === "" || Number.isNaN(answer)) throw problem("answer", "Type the right number.");
      const tolerance = Number(part("tolerance").value.replace(",", ".") || "0");
      if (Number.isNaN(tolerance) || tolerance < 0) throw problem("tolerance", "Type zero or a positive number.");
      return { ...question, answer, tolerance };
    }
    const options = part("options").value.split("\n").map((line) => line.trim()).filter(Boolean);
    if (options.length < 2) throw problem("options", "Give at least two answers to choose from, one per line.");
    const correct = part("correct").value.split(/[\s,]+/).filter(Boolean).map(Number);
    if (!correct.length || correct.some((c) => !Number.isInteger(c) || c < 1 || c > options.length)) {
      throw problem("correct", `Type the number of a right answer, from 1 to ${options.length}.`);
    }
    if (kind === "single" && correct.length !== 1) throw problem("correct", "This question has one right answer: type one number.");
    return { ...question, options, correct: correct.map((c) => c - 1) };
  });
}

byId("add-question").addEventListener("click", () => addQuestion());
addQuestion();

/** The assessment being edited (null: the form creates a new one). */
let editingAssessment = null;

function resetAssessmentForm() {
  const form = /** @type {HTMLFormElement} */ (byId("assessment-form"));
  editingAssessment = null;
  form.reset();
  clearFormError(form);
  byId("question-list").replaceChildren();
  questionCount = 0;
  addQuestion();
  byId("assessment-editor-heading").textContent = "New assessment";
  byId("assessment-submit").textContent = "Create assessment";
  for (const id of ["assessment-stop", "assessment-lock"]) byId(id).hidden = true;
  for (const id of ["assessment-module", "add-question"]) /** @type {HTMLButtonElement} */ (byId(id)).disabled = false;
}

async function editAssessment(id) {
  let draft;
  try {
    draft = await api(`/api/v1/assessments/${id}/draft`);
  } catch (failure) {
    flash(failure instanceof Error ? failure.message : String(failure));
    return;
  }
  resetAssessmentForm();
  editingAssessment = draft;
  const form = /** @type {HTMLFormElement} */ (byId("assessment-form"));
  const set = (name, value) => { /** @type {HTMLInputElement} */ (form.elements.namedItem(name)).value = String(value); };
  set("module_id", draft.module_id);
  set("title", draft.title);
  set("pass_mark_percent", draft.pass_mark_percent);
  set("max_attempts", draft.max_attempts);
  /** @type {HTMLSelectElement} */ (byId("assessment-module")).disabled = true;
  byId("question-list").replaceChildren();
  questionCount = 0;
  for (const question of draft.questions) addQuestion(question);
  const lock = byId("assessment-lock");
  if (draft.questions_locked) {
    lock.textContent = `${draft.attempts} attempt${draft.attempts === 1 ? " was" : "s were"} graded against these ` +
      "questions, so they stay as they are; the title, pass mark and attempts allowed can change.";
    for (const block of byId("question-list").querySelectorAll("fieldset.question")) block.setAttribute("disabled", "");
    /** @type {HTMLButtonElement} */ (byId("add-question")).disabled = true;
  }
  lock.hidden = !draft.questions_locked;
  byId("assessment-editor-heading").textContent = `Edit assessment: ${draft.title}`;
  byId("assessment-submit").textContent = "Save changes to the assessment";
  byId("assessment-stop").hidden = false;
  byId("assessment-editor-heading").scrollIntoView({ block: "start" });
  /** @type {HTMLInputElement} */ (byId("assessment-title")).focus();
}

byId("assessment-stop").addEventListener("click", resetAssessmentForm);

byId("assessment-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = /** @type {HTMLFormElement} */ (event.currentTarget);
  clearFormError(form);
  const value = (name) => form.elements.namedItem(name).value;
  try {
    if (!value("module_id")) throw fieldProblem("module_id", "Add a module first, then choose it.");
    const questions = readQuestions();
    const body = {
      title: value("title").trim(),
      pass_mark_percent: Number(value("pass_mark_percent")),
      max_attempts: Number(value("max_attempts")),
      questions,
    };
    const editing = editingAssessment;
    await (editing
      ? api(`/api/v1/assessments/${editing.id}`, { method: "PUT", body })
      : api(`/api/v1/modules/${value("module_id")}/assessments`, { method: "POST", body }));
    if (editing) taskTitles.set(editing.id, body.title);
    resetAssessmentForm();
    await load();
    flash(editing ? "Assessment saved." : "Assessment created.", "info");
  } catch (failure) {
    const general = form.querySelector(".form-error");
    if (failure instanceof Error && !("status" in failure) && general) general.textContent = failure.message;
    else showFormError(form, failure);
  }
});

// ---- assignments --------------------------------------------------------------------------

let criterionCount = 0;

/** A rubric row, empty or holding `given` ({name, max_points}). */
function addCriterion(given = null) {
  criterionCount += 1;
  const n = criterionCount;
  const row = el("div", { class: "row criterion", dataset: { criterion: String(n) } },
    el("div", { class: "field" }, el("label", { for: `c${n}-name` }, `Criterion ${n}`),
      el("input", { id: `c${n}-name`, dataset: { part: "name" }, maxlength: 100 })),
    el("div", { class: "field" }, el("label", { for: `c${n}-points` }, `Criterion ${n}: most points`),
      el("input", { id: `c${n}-points`, type: "number", min: 1, max: 1000, value: "10", dataset: { part: "points" } })));
  byId("rubric-list").append(row);
  if (given) {
    /** @type {HTMLInputElement} */ (row.querySelector("[data-part=name]")).value = given.name;
    /** @type {HTMLInputElement} */ (row.querySelector("[data-part=points]")).value = String(given.max_points);
  }
}

byId("add-criterion").addEventListener("click", () => addCriterion());
addCriterion();

/** The assignment being edited (null: the form creates a new one). */
let editingAssignment = null;

function resetAssignmentForm() {
  const form = /** @type {HTMLFormElement} */ (byId("assignment-form"));
  editingAssignment = null;
  form.reset();
  clearFormError(form);
  byId("rubric-list").replaceChildren();
  criterionCount = 0;
  addCriterion();
  byId("assignment-editor-heading").textContent = "New assignment";
  byId("assignment-submit").textContent = "Create assignment";
  byId("rubric-fieldset").removeAttribute("disabled");
  for (const id of ["assignment-stop", "assignment-lock"]) byId(id).hidden = true;
  /** @type {HTMLSelectElement} */ (byId("assignment-module")).disabled = false;
}

async function editAssignment(id) {
  let draft;
  try {
    draft = await api(`/api/v1/assignments/${id}/draft`);
  } catch (failure) {
    flash(failure instanceof Error ? failure.message : String(failure));
    return;
  }
  resetAssignmentForm();
  editingAssignment = draft;
  const form = /** @type {HTMLFormElement} */ (byId("assignment-form"));
  const set = (name, value) => { /** @type {HTMLInputElement} */ (form.elements.namedItem(name)).value = value; };
  set("module_id", draft.module_id);
  set("title", draft.title);
  set("instructions", draft.instructions);
  /** @type {HTMLSelectElement} */ (byId("assignment-module")).disabled = true;
  byId("rubric-list").replaceChildren();
  criterionCount = 0;
  for (const criterion of draft.rubric) addCriterion(criterion);
  const lock = byId("assignment-lock");
  if (draft.rubric_locked) {
    lock.textContent = `${draft.graded} submission${draft.graded === 1 ? " was" : "s were"} scored on this rubric, ` +
      "so it stays as it is; the title and instructions can change.";
    byId("rubric-fieldset").setAttribute("disabled", "");
  }
  lock.hidden = !draft.rubric_locked;
  byId("assignment-editor-heading").textContent = `Edit assignment: ${draft.title}`;
  byId("assignment-submit").textContent = "Save changes to the assignment";
  byId("assignment-stop").hidden = false;
  byId("assignment-editor-heading").scrollIntoView({ block: "start" });
  /** @type {HTMLInputElement} */ (byId("assignment-title")).focus();
}

byId("assignment-stop").addEventListener("click", resetAssignmentForm);

byId("assignment-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = /** @type {HTMLFormElement} */ (event.currentTarget);
  clearFormError(form);
  const value = (name) => form.elements.namedItem(name).value;
  try {
    if (!value("module_id")) throw fieldProblem("module_id", "Add a module first, then choose it.");
    const rubric = [...byId("rubric-list").querySelectorAll(".criterion")]
      .map((row) => ({
        name: row.querySelector("[data-part=name]").value.trim(),
        max_points: Number(row.querySelector("[data-part=points]").value),
      }))
      .filter((c) => c.name);
    if (!rubric.length) {
      byId("assignment-rubric-error").textContent = "Name at least one criterion the work is scored on.";
      return;
    }
    byId("assignment-rubric-error").textContent = "";
    const body = { title: value("title").trim(), instructions: value("instructions"), rubric };
    const editing = editingAssignment;
    await (editing
      ? api(`/api/v1/assignments/${editing.id}`, { method: "PUT", body })
      : api(`/api/v1/modules/${value("module_id")}/assignments`, { method: "POST", body }));
    if (editing) taskTitles.set(editing.id, body.title);
    resetAssignmentForm();
    await load();
    flash(editing ? "Assignment saved." : "Assignment created.", "info");
  } catch (failure) {
    showFormError(form, failure);
  }
});

// ---- start --------------------------------------------------------------------------------

await signedInShell();
await load();
fillProgramForm();
