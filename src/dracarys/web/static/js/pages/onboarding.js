// Onboarding: a stepped preference quiz (PUT /api/v1/matches/quiz, read back with GET so
// a returning member sees and changes their answers), then the programs
// (GET /api/v1/matches/programs) and mentors (GET /api/v1/matches) suggested from it with
// the reasons for each, then the onboarding cohort offer (GET /api/v1/onboarding/cohort):
// join it like any cohort (POST /api/v1/cohorts/{id}/join) or answer "not now". A suggested
// program's open cohort is enrolled in through the checkout, as every purchase is.

import { ApiError, api } from "../api.js";
import { openCheckout } from "../checkout.js";
import { DASH, byId, el, flash, money, num, signedInShell, when } from "../ui.js";

const STEPS = 7;
const MEMBERS = ["mentee", "mentor"];
const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
// A currency to start the budget in, guessed from the browser's timezone.
const ZONE_CURRENCIES = {
  "Africa/Nairobi": "KES", "Africa/Lagos": "NGN", "Africa/Johannesburg": "ZAR",
  "Africa/Kampala": "UGX", "Africa/Dar_es_Salaam": "TZS", "Africa/Accra": "GHS",
  "Asia/Kolkata": "INR", "Europe/London": "GBP",
};

const form = /** @type {HTMLFormElement} */ (byId("quiz-form"));
let step = 1;
/** @type {Record<string, any> | null} */
let answers = null;
/** @type {string | null} when the answers were last saved */
let savedAt = null;
/** @type {Record<string, any> | null} */
let offer = null;
let joinKey = crypto.randomUUID();

// ---- money typed in major units -------------------------------------------------------

function minorDigits(currency) {
  try {
    return new Intl.NumberFormat("en-US", { style: "currency", currency })
      .resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    return 2;
  }
}

/** "2,500.5" KES → 250050; null unless a plain amount with at most the currency's decimals. */
function toMinor(text, currency) {
  const match = /^(\d+)(?:\.(\d*))?$/.exec(text.replace(/[,\s]/g, ""));
  const digits = minorDigits(currency);
  if (!match || (match[2] || "").length > digits) return null;
  const fraction = ((match[2] || "") + "0".repeat(digits)).slice(0, digits);
  const minor = BigInt(match[1]) * 10n ** BigInt(digits) + BigInt(fraction || "0");
  return minor > BigInt(Number.MAX_SAFE_INTEGER) ? null : Number(minor);
}

/** 250050 KES → "2500.50", as typed back into the budget field. */
function toMajorText(minor, currency) {
  const digits = minorDigits(currency);
  const text = String(minor).padStart(digits + 1, "0");
  return digits ? `${text.slice(0, -digits)}.${text.slice(-digits)}` : text;
}

const words = (value) => String(value).replaceAll("_", " ");

// ---- views ----------------------------------------------------------------------------

// While the page first renders, focus stays where the browser put it (the skip link is the
// first stop, as on every page); later steps and views take it.
let firstRender = true;

function showView(name) {
  for (const view of ["quiz", "results", "cohort"]) byId(`${view}-view`).hidden = view !== name;
  byId("onboarding-intro").hidden = name !== "quiz";
  const heading = byId({ quiz: "quiz-heading", results: "results-heading", cohort: "cohort-heading" }[name]);
  if (!firstRender) heading.focus();
}

// ---- the quiz -------------------------------------------------------------------------

function stepOf(number) {
  return /** @type {HTMLFieldSetElement} */ (form.querySelector(`.quiz-step[data-step="${number}"]`));
}

function showStep(number, focus = true) {
  step = number;
  for (const fieldset of form.querySelectorAll(".quiz-step")) {
    if (fieldset instanceof HTMLElement) fieldset.hidden = fieldset.dataset.step !== String(number);
  }
  const legend = stepOf(number).querySelector("legend")?.textContent || "";
  byId("step-status").textContent = `Step ${number} of ${STEPS}: ${legend}`;
  /** @type {HTMLProgressElement} */ (byId("step-progress")).value = number;
  byId("quiz-back").hidden = number === 1;
  byId("quiz-next").textContent = number === STEPS ? "See my suggestions" : "Next";
  const first = stepOf(number).querySelector("input, select");
  if (focus && !firstRender && first instanceof HTMLElement) first.focus();
}

const checked = (name) =>
  [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((input) => /** @type {HTMLInputElement} */ (input).value);
const fieldValue = (id) => /** @type {HTMLInputElement | HTMLSelectElement} */ (byId(id)).value.trim();

/** The first problem with a step's answers, as {field, message}, or null. */
function problemIn(number) {
  switch (number) {
    case 1:
      return checked("experience").length ? null : { field: "experience", message: "Choose how much you have traded." };
    case 2:
      return checked("markets").length ? null : { field: "markets", message: "Pick at least one market." };
    case 3:
      return checked("goals").length ? null : { field: "goals", message: "Pick at least one goal." };
    case 4: {
      const currency = fieldValue("currency");
      const digits = minorDigits(currency);
      return toMinor(fieldValue("budget"), currency) !== null ? null : {
        field: "budget_minor",
        message: `Type your budget as an amount in ${currency}, e.g. 2500` +
          (digits ? ` (at most ${digits} digits after the point).` : " (whole units)."),
      };
    }
    case 5:
      return fieldValue("timezone") ? null : { field: "timezone", message: "Type your timezone, e.g. Africa/Nairobi." };
    case 6:
      return checked("languages").length ? null : { field: "languages", message: "Pick at least one language." };
    default:
      return null;
  }
}

function clearErrors() {
  for (const slot of form.querySelectorAll(".field-error, .form-error")) slot.textContent = "";
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
}

/** Show a message by the field it is about, on the step that asks it. */
function showProblem(field, message) {
  const leaf = field.split(/[.[]/)[0];
  const holder = [...form.querySelectorAll(".quiz-step")].find((fieldset) =>
    fieldset instanceof HTMLElement && (fieldset.dataset.fields || "").split(" ").includes(leaf));
  const slot = form.querySelector(`#${CSS.escape(leaf)}-error`);
  if (!(holder instanceof HTMLElement) || !slot) {
    byId("quiz-error").textContent = message;
    return;
  }
  showStep(Number(holder.dataset.step), false);
  slot.textContent = message;
  const inputs = [...form.querySelectorAll(`[name="${CSS.escape(leaf)}"]`)];
  for (const input of inputs) input.setAttribute("aria-invalid", "true");
  const first = inputs[0];
  if (first instanceof HTMLElement) first.focus();
}

function collectAnswers() {
  const currency = fieldValue("currency");
  return {
    experience: checked("experience")[0],
    style: fieldValue("style"),
    markets: checked("markets"),
    goals: checked("goals"),
    budget_minor: toMinor(fieldValue("budget"), currency),
    currency,
    timezone: fieldValue("timezone"),
    languages: checked("languages"),
    weekly_hours: Number(fieldValue("weekly_hours")),
  };
}

function fillForm(saved) {
  for (const input of form.querySelectorAll("input[type=radio], input[type=checkbox]")) {
    const box = /** @type {HTMLInputElement} */ (input);
    const value = saved[box.name];
    box.checked = Array.isArray(value) ? value.includes(box.value) : value === box.value;
  }
  for (const [id, value] of [["style", saved.style], ["currency", saved.currency], ["timezone", saved.timezone]]) {
    /** @type {HTMLInputElement | HTMLSelectElement} */ (byId(id)).value = value;
  }
  if (saved.weekly_hours) /** @type {HTMLSelectElement} */ (byId("weekly_hours")).value = String(saved.weekly_hours);
  /** @type {HTMLInputElement} */ (byId("budget")).value = toMajorText(saved.budget_minor, saved.currency);
}

function fillDefaults() {
  /** @type {HTMLInputElement} */ (byId("timezone")).value = browserZone;
  const currency = ZONE_CURRENCIES[browserZone] || (browserZone.startsWith("Europe/") ? "EUR" : "USD");
  /** @type {HTMLSelectElement} */ (byId("currency")).value = currency;
  const spoken = navigator.languages.map((tag) => tag.slice(0, 2).toLowerCase());
  let any = false;
  for (const input of form.querySelectorAll('input[name="languages"]')) {
    const box = /** @type {HTMLInputElement} */ (input);
    box.checked = spoken.includes(box.value);
    any ||= box.checked;
  }
  if (!any) /** @type {HTMLInputElement} */ (form.querySelector('input[name="languages"][value="en"]')).checked = true;
}

async function submitQuiz() {
  for (let number = 1; number <= STEPS; number += 1) {
    const problem = problemIn(number);
    if (problem) {
      showProblem(problem.field, problem.message);
      return;
    }
  }
  const body = collectAnswers();
  const button = byId("quiz-next");
  button.setAttribute("disabled", "");
  try {
    await api("/api/v1/matches/quiz", { method: "PUT", body });
    const saved = await api("/api/v1/matches/quiz");
    answers = saved.answers;
    savedAt = saved.updated_at;
    await showResults();
  } catch (error) {
    if (error instanceof ApiError && error.field) showProblem(error.field, error.errors[0].message);
    else byId("quiz-error").textContent = error instanceof Error ? error.message : String(error);
  } finally {
    button.removeAttribute("disabled");
  }
}

// ---- results --------------------------------------------------------------------------

function reasonList(reasons, whose) {
  if (!reasons.length) return el("p", { class: "hint" }, "Nothing in your answers points to it in particular.");
  return el("ul", { class: "reasons", "aria-label": `Why ${whose}` }, ...reasons.map((r) => el("li", {}, r)));
}

function programItem(suggestion) {
  const p = suggestion.program;
  const price = p.price_minor ? money(p.price_minor, p.currency) : "Free";
  const length = p.total_minutes ? `${num(p.total_minutes / 60, 1)} h of lessons` : null;
  return el("li", { dataset: { programId: p.id } },
    el("div", { class: "suggestion-head" }, el("strong", {}, p.title),
      el("span", { class: "badge ok" }, `${suggestion.score}/100 match`)),
    el("div", { class: "hint" }, [words(p.difficulty), price, length, p.topics.map(words).join(", ")].filter(Boolean).join(" · ")),
    p.description ? el("p", {}, p.description) : null,
    reasonList(suggestion.reasons, p.title),
    // An open cohort is among the reasons, with its date; say so when there is none.
    p.next_cohort ? enrolment(p) : el("p", { class: "hint" }, "No cohort is open for enrolment yet."));
}

/** "Enrol" for a program's next cohort: the checkout shows the price and takes the seat. */
function enrolment(program) {
  const cohort = program.next_cohort;
  const status = el("p", { class: "hint", role: "status", dataset: { enrolStatus: cohort.id } });
  const error = el("p", { class: "form-error", role: "alert" });
  const button = el("button", { type: "button" }, `Enrol in ${cohort.title}`);
  button.addEventListener("click", async () => {
    error.textContent = "";
    try {
      const joined = await openCheckout({ kind: "cohort", id: cohort.id });
      if (joined === null) return;
      button.remove();
      status.textContent = `You are enrolled in ${cohort.title} of “${program.title}”.`;
    } catch (failure) {
      error.textContent = failure instanceof Error ? failure.message : String(failure);
    }
  });
  // The cohort's date and seats are among the reasons above.
  return el("div", { class: "enrol" }, button, status, error);
}

function mentorItem(match) {
  const m = match.mentor;
  const rating = m.rating_average === null ? "no ratings yet" : `rated ${num(m.rating_average, 1)} (${m.rating_count})`;
  return el("li", { dataset: { mentorId: m.id } },
    el("div", { class: "suggestion-head" }, el("strong", {}, m.name),
      el("span", { class: "badge ok" }, `${match.score}/100 match`)),
    el("div", { class: "hint" }, [m.headline, m.specialties.map(words).join(", ")].filter(Boolean).join(" · ")),
    el("div", { class: "hint" },
      [`${money(m.hourly_rate_minor, m.currency)} an hour`, rating, m.languages.join("/"), m.timezone].filter(Boolean).join(" · ")),
    reasonList(match.reasons, m.name),
    el("a", { href: `/mentors/${m.id}` }, `See ${m.name}'s profile and book`));
}

function summary(saved) {
  const rows = [
    ["Experience", words(saved.experience)],
    ["Style", saved.style === "undecided" ? "not sure yet" : words(saved.style)],
    ["Markets", saved.markets.map(words).join(", ") || DASH],
    ["Goals", saved.goals.map(words).join(", ") || DASH],
    ["Budget per session", money(saved.budget_minor, saved.currency)],
    ["Timezone", saved.timezone],
    ["Languages", saved.languages.join(", ") || DASH],
    ["Time", saved.weekly_hours ? `${saved.weekly_hours} h a week` : DASH],
  ];
  byId("answers-summary").replaceChildren(...rows.map(([term, value]) =>
    el("div", {}, el("dt", {}, term), el("dd", {}, value))));
}

async function showResults() {
  if (!answers) return;
  summary(answers);
  byId("answers-saved").textContent = savedAt ? `Saved ${when(savedAt)}.` : "";
  showView("results");
  const [programs, matches] = await Promise.all([
    api("/api/v1/matches/programs"),
    api("/api/v1/matches"),
  ]);
  const programList = byId("programs");
  programList.replaceChildren(...programs.suggestions.map(programItem));
  if (!programs.suggestions.length) {
    programList.append(el("li", { class: "hint" }, "No program covers what you picked yet: change your answers, or see the mentors."));
  }
  const mentorList = byId("matches");
  mentorList.replaceChildren(...matches.matches.map(mentorItem));
  if (!matches.matches.length) mentorList.append(el("li", { class: "hint" }, "No mentor is taking mentees yet."));
}

// ---- the onboarding cohort ------------------------------------------------------------

async function rewardPoints() {
  try {
    const page = await api("/api/v1/points/rules", { auth: false });
    const rule = page.rules.find((r) => r.code === "onboarding_cohort_joined" && r.active !== false);
    return rule ? rule.points : null;
  } catch {
    return null;
  }
}

function cohortFacts(cohort) {
  return el("dl", { class: "stats" },
    el("div", {}, el("dt", {}, "Starts"), el("dd", {}, when(cohort.starts_at))),
    el("div", {}, el("dt", {}, "Ends"), el("dd", {}, when(cohort.ends_at))),
    el("div", {}, el("dt", {}, "Seats left"), el("dd", {}, num(cohort.seats_left, 0))));
}

function renderOffer(points) {
  const box = byId("cohort-offer");
  const actions = byId("cohort-actions");
  const cohort = offer?.cohort;
  actions.hidden = !(offer && cohort && (offer.status === "open" || offer.status === "declined"));
  if (!offer || !cohort || offer.status === "none") {
    box.replaceChildren(el("p", {}, "No onboarding cohort has room right now. The next one will be offered on this page."));
    return;
  }
  if (offer.status === "joined") {
    box.replaceChildren(
      el("p", {}, el("strong", {}, `You are in ${cohort.title} of “${cohort.program_title}”.`)),
      cohortFacts(cohort));
    return;
  }
  const reward = points ? `Joining is free and earns ${num(points, 0)} points.` : "Joining is free.";
  const parts = [
    el("h3", { class: "subhead" }, cohort.program_title),
    cohort.program_description ? el("p", {}, cohort.program_description) : null,
    el("p", {}, `${cohort.title}: learn the platform with the others who start with you. ${reward}`),
    cohortFacts(cohort),
    offer.status === "declined"
      ? el("p", { class: "hint" }, `You said not now on ${when(offer.declined_at)}; the seat is still yours to take.`)
      : null,
  ];
  box.replaceChildren(...parts.filter((part) => part !== null));
}

async function showCohort() {
  byId("cohort-error").textContent = "";
  byId("cohort-status").textContent = "";
  showView("cohort");
  const [current, points] = await Promise.all([api("/api/v1/onboarding/cohort"), rewardPoints()]);
  offer = current;
  renderOffer(points);
  return points;
}

async function joinCohort() {
  if (!offer?.cohort) return;
  byId("cohort-error").textContent = "";
  const button = byId("join-cohort");
  button.setAttribute("disabled", "");
  try {
    await api(`/api/v1/cohorts/${offer.cohort.id}/join`, { method: "POST", body: { idempotency_key: joinKey } });
    joinKey = crypto.randomUUID();
    const points = await showCohort();
    byId("cohort-status").textContent = points
      ? `You joined. ${num(points, 0)} points are on their way to your balance.`
      : "You joined.";
  } catch (error) {
    byId("cohort-error").textContent = error instanceof Error ? error.message : String(error);
  } finally {
    button.removeAttribute("disabled");
  }
}

async function skipCohort() {
  byId("cohort-error").textContent = "";
  try {
    offer = await api("/api/v1/onboarding/cohort/decline", { method: "POST" });
    renderOffer(await rewardPoints());
    byId("cohort-status").textContent = "Not now: noted. You can join from this page whenever you like.";
  } catch (error) {
    byId("cohort-error").textContent = error instanceof Error ? error.message : String(error);
  }
}

// ---- wiring ---------------------------------------------------------------------------

function wire() {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors();
    const problem = problemIn(step);
    if (problem) showProblem(problem.field, problem.message);
    else if (step < STEPS) showStep(step + 1);
    else await submitQuiz();
  });
  form.addEventListener("input", (event) => {
    const target = event.target;
    if (!(target instanceof HTMLInputElement || target instanceof HTMLSelectElement)) return;
    const name = target.name === "currency" ? "budget_minor" : target.name;
    const slot = form.querySelector(`#${CSS.escape(name)}-error`);
    if (slot) slot.textContent = "";
    for (const input of form.querySelectorAll(`[name="${CSS.escape(name)}"]`)) input.removeAttribute("aria-invalid");
    byId("quiz-error").textContent = "";
  });
  byId("quiz-back").addEventListener("click", () => {
    clearErrors();
    showStep(Math.max(1, step - 1));
  });
  byId("edit-answers").addEventListener("click", () => {
    showView("quiz");
    showStep(1);
  });
  byId("to-cohort").addEventListener("click", () => showCohort().catch((e) => flash(e.message)));
  byId("back-to-results").addEventListener("click", () => showResults().catch((e) => flash(e.message)));
  byId("join-cohort").addEventListener("click", joinCohort);
  byId("skip-cohort").addEventListener("click", skipCohort);
  const zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [browserZone];
  byId("timezones").replaceChildren(...zones.map((zone) => el("option", { value: zone })));
}

async function main() {
  const me = await signedInShell();
  if (!MEMBERS.includes(me.role)) {
    byId("onboarding-intro").hidden = true;
    byId("role-note").hidden = false;
    return;
  }
  wire();
  try {
    const saved = await api("/api/v1/matches/quiz");
    answers = saved.answers;
    savedAt = saved.updated_at;
    if (answers) {
      fillForm(answers);
      await showResults();
    } else {
      fillDefaults();
      showView("quiz");
      showStep(1);
    }
  } catch (error) {
    flash(`Could not load your onboarding: ${error.message}`);
  }
  firstRender = false;
}

main();
