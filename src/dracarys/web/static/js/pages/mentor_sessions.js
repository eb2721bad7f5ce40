// Teaching sessions, for mentors: the week's sessions in the mentor's timezone (previous
// and next week) with each mentee's seat and attendance — attendance is recorded by the
// server when mentor and mentee are both in the room — joining, marking a session
// completed (which releases its escrow), calling one off, rating each mentee and linking
// a recording; the availability editor (weekly hours, date overrides, the default
// schedule) with a preview of the slots mentees see; session types; and packages of
// sessions (offer, withdraw, offer again).

import { api } from "../api.js";
import { fieldProblem, renamedFields, toMinor } from "../amounts.js";
import { byId, clearFormError, el, flash, money, showFormError, signedInShell } from "../ui.js";

const KINDS = { one_on_one: "1:1", group: "Group", workshop: "Workshop" };
const WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
const browserTimezone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";

/** @type {any} */ let me = null;
/** @type {string | null} the week shown: its first day (YYYY-MM-DD), null for this week */
let weekStart = null;
/** @type {any[]} */ let schedules = [];
/** @type {any[]} */ let sessionTypes = [];
let rowCounter = 0;
/** Each week load's number: a slower, older answer never replaces a newer one. */
let weekRequest = 0;

function status(text) {
  byId("mentor-sessions-status").textContent = text;
}

function sentence(error) {
  const text = error instanceof Error ? error.message : String(error);
  return text ? text[0].toUpperCase() + text.slice(1) + (/[.!?]$/.test(text) ? "" : ".") : text;
}

/** A calendar date (YYYY-MM-DD) moved by whole days, without time zones getting involved. */
function addDays(isoDate, days) {
  const d = new Date(`${isoDate}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/** The instant's calendar date in `zone`. */
function dateIn(iso, zone) {
  return new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" })
    .format(new Date(iso));
}

function timeIn(iso, zone) {
  return new Intl.DateTimeFormat("en-GB", { timeZone: zone, hour: "2-digit", minute: "2-digit" }).format(new Date(iso));
}

function dayLabel(isoDate) {
  return new Intl.DateTimeFormat("en-GB", { timeZone: "UTC", weekday: "long", day: "numeric", month: "short" })
    .format(new Date(`${isoDate}T00:00:00Z`));
}

// ---- the week -------------------------------------------------------------------------

async function loadWeek() {
  const query = new URLSearchParams({ days: "7" });
  if (weekStart) query.set("start_date", weekStart);
  const request = ++weekRequest;
  const week = await api(`/api/v1/mentor/sessions?${query}`);
  if (request !== weekRequest) return;
  weekStart = week.start_date;
  const last = addDays(week.start_date, 6);
  byId("week-heading").textContent = `Week of ${dayLabel(week.start_date)} – ${dayLabel(last)}`;
  byId("week-zone").textContent = `Times in your timezone, ${week.timezone}.`;
  const days = [];
  for (let i = 0; i < 7; i += 1) {
    const day = addDays(week.start_date, i);
    const sessions = week.sessions.filter((entry) => dateIn(entry.session.starts_at, week.timezone) === day);
    const headingId = `day-${day}`;
    days.push(el("li", { class: "week-day", dataset: { date: day } },
      el("h3", { id: headingId }, dayLabel(day)),
      sessions.length
        ? el("ul", { class: "feed", "aria-labelledby": headingId }, ...sessions.map((entry) => sessionItem(entry, week.timezone)))
        : el("p", { class: "hint" }, "No sessions.")));
  }
  byId("week").replaceChildren(...days);
}

function attendance(seat, sessionStatus) {
  if (seat.status === "cancelled") return "cancelled their seat";
  if (seat.attended_at) return "attended";
  if (seat.joined_at) return "in the room, waiting for you";
  return sessionStatus === "completed" ? "did not join" : "not joined yet";
}

function sessionItem(entry, zone) {
  const s = entry.session;
  const live = entry.attendees.filter((a) => a.status !== "cancelled");
  const joinBox = el("div", { class: "join-box", role: "status", "aria-live": "polite" });
  const error = el("p", { class: "form-error session-error", role: "alert" });
  const actions = [];
  if (s.status === "scheduled") {
    actions.push(
      el("button", { type: "button", class: "primary", onclick: () => join(s, joinBox) }, `Join ${s.title}`),
      el("button", { type: "button", onclick: () => complete(s, error) }, "Mark completed"),
      el("button", { type: "button", onclick: () => callOff(s, live.length) }, "Call off…"));
  }
  return el("li", { class: "calendar-session", dataset: { sessionId: s.id, status: s.status } },
    el("div", {}, el("strong", {}, `${timeIn(s.starts_at, zone)}–${timeIn(s.ends_at, zone)} ${s.title}`),
      el("span", { class: "hint" }, ` · ${KINDS[s.kind] || s.kind} · ${s.booked}/${s.capacity} booked · ${s.status}`)),
    live.length || entry.attendees.length
      ? el("ul", { class: "attendees", "aria-label": `Mentees of ${s.title}` }, ...entry.attendees.map((a) =>
        el("li", { dataset: { menteeId: a.mentee_id } }, `${a.name || "A mentee"}: ${attendance(a, s.status)}`,
          s.status === "completed" && a.status === "confirmed"
            ? a.my_rating ? el("span", { class: "hint" }, ` · you rated ${a.my_rating} of 5`) : ratingForm(s, a)
            : null)))
      : el("p", { class: "hint" }, "Nobody booked yet."),
    actions.length ? el("div", { class: "row" }, ...actions) : null,
    joinBox, error,
    // A recording exists once the session has been held; a cohort's goes to a lesson
    // from the course pages.
    s.status === "completed" && !s.cohort_id ? recordingForm(s) : null);
}

async function join(session, box) {
  box.replaceChildren();
  try {
    const joined = await api(`/api/v1/sessions/${session.id}/join`, { method: "POST" });
    box.append(el("a", { href: joined.room_url, target: "_blank", rel: "noopener", class: "button primary" },
      "Open the video room (new tab)"), el("span", { class: "hint" }, ` ${joined.room_url}`));
    box.querySelector("a")?.focus();
    await loadWeek();
    const again = document.querySelector(`[data-session-id="${session.id}"] .join-box`);
    again?.replaceChildren(...box.childNodes);
  } catch (error) {
    box.append(el("span", { class: "form-error", role: "alert" }, sentence(error)));
  }
}

async function complete(session, error) {
  error.textContent = "";
  try {
    await api(`/api/v1/sessions/${session.id}/complete`, { method: "POST" });
    status(`${session.title} is completed; its payments go to your wallet.`);
    await loadWeek();
  } catch (problem) {
    error.textContent = sentence(problem);
  }
}

function callOff(session, booked) {
  const error = el("p", { class: "form-error", role: "alert" });
  const keep = el("button", { type: "button" }, "Keep it");
  const confirm = el("button", { type: "button", class: "primary" }, "Call it off");
  const dialog = el("dialog", { class: "checkout", "aria-labelledby": "calloff-title" },
    el("h2", { id: "calloff-title" }, `Call off ${session.title}?`),
    el("p", {}, booked
      ? `${booked} mentee${booked === 1 ? "" : "s"} booked: each gets everything they paid back.`
      : "Nobody booked it yet."),
    error, el("div", { class: "row checkout-actions" }, keep, confirm));
  keep.addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => dialog.remove());
  confirm.addEventListener("click", async () => {
    try {
      await api(`/api/v1/sessions/${session.id}/cancel`, { method: "POST", body: {} });
      dialog.close();
      status(`${session.title} is called off; everyone booked was refunded in full.`);
      await loadWeek();
    } catch (problem) {
      error.textContent = sentence(problem);
    }
  });
  document.body.append(dialog);
  dialog.showModal();
  keep.focus();
}

function ratingForm(session, seat) {
  const id = `${session.id}-${seat.mentee_id}`;
  const who = seat.name || "the mentee";
  const form = el("form", { class: "rating-form", novalidate: true, "aria-label": `Rate ${who}` },
    el("div", { class: "row" },
      el("div", { class: "field" },
        el("label", { for: `rating-${id}` }, `Your rating of ${who}`),
        el("select", { id: `rating-${id}`, name: "rating" }, ...[5, 4, 3, 2, 1].map((n) => el("option", { value: n }, `${n} of 5`)))),
      el("div", { class: "field grow" },
        el("label", { for: `comment-${id}` }, "Comment (optional)"),
        el("textarea", { id: `comment-${id}`, name: "comment", rows: 2, maxlength: 2000, "aria-describedby": `comment-${id}-error` }),
        el("p", { class: "field-error", id: `comment-${id}-error` }))),
    el("p", { class: "form-error", role: "alert" }),
    el("button", { type: "submit", class: "primary" }, `Rate ${who}`));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFormError(form);
    const data = new FormData(form);
    try {
      await api(`/api/v1/sessions/${session.id}/ratings`, {
        method: "POST",
        body: { rating: Number(data.get("rating")), comment: String(data.get("comment") || ""), rated_id: seat.mentee_id },
      });
      status(`You rated ${who} ${data.get("rating")} of 5.`);
      await loadWeek();
    } catch (error) {
      showFormError(form, error);
    }
  });
  return form;
}

function recordingForm(session) {
  const id = `recording-${session.id}`;
  const form = el("form", { class: "recording-form", novalidate: true },
    el("div", { class: "field" },
      el("label", { for: id }, `Recording link for ${session.title}`),
      el("div", { class: "row" },
        el("input", { id, name: "recording_url", type: "url", placeholder: "https://…", value: session.recording_url || "",
          "aria-describedby": `${id}-error` }),
        el("button", { type: "submit" }, "Save recording link")),
      el("p", { class: "field-error", id: `${id}-error` })),
    el("p", { class: "form-error", role: "alert" }));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFormError(form);
    const url = String(new FormData(form).get("recording_url") || "").trim();
    try {
      if (!/^https:\/\/\S+$/.test(url)) throw fieldProblem("recording_url", "Paste the recording's https:// link.");
      await api(`/api/v1/sessions/${session.id}/recording`, { method: "PUT", body: { recording_url: url } });
      status(`The recording of ${session.title} is linked; its mentees see it with the session.`);
    } catch (error) {
      showFormError(form, error);
    }
  });
  return form;
}

// ---- availability ---------------------------------------------------------------------

function timeInput(name, label, value, rowId) {
  const id = `${rowId}-${name}`;
  return el("div", { class: "field" }, el("label", { for: id }, label),
    el("input", { id, name, type: "time", value: value || "", "data-row-field": name }));
}

function weeklyRow(hours = { weekday: 0, start: "09:00", end: "17:00" }) {
  rowCounter += 1;
  const rowId = `weekly-${rowCounter}`;
  const row = el("li", { class: "row interval-row", dataset: { kind: "weekly" } },
    el("div", { class: "field" }, el("label", { for: `${rowId}-weekday` }, "Day"),
      el("select", { id: `${rowId}-weekday`, "data-row-field": "weekday" },
        ...WEEKDAYS.map((name, index) => el("option", { value: index, selected: index === hours.weekday }, name)))),
    timeInput("start", "From", hours.start, rowId),
    // Midnight as an end is the end of the day: 24:00 on the wire, 00:00 in a time input.
    timeInput("end", "To", hours.end === "24:00" ? "00:00" : hours.end, rowId),
    el("button", { type: "button", class: "remove", onclick: () => row.remove(), "aria-label": "Remove these hours" }, "Remove"));
  return row;
}

function overrideRow(date = "", interval = null) {
  rowCounter += 1;
  const rowId = `override-${rowCounter}`;
  const row = el("li", { class: "row interval-row", dataset: { kind: "override" } },
    el("div", { class: "field" }, el("label", { for: `${rowId}-date` }, "Date"),
      el("input", { id: `${rowId}-date`, type: "date", value: date, "data-row-field": "date" })),
    timeInput("start", "From (empty: away all day)", interval?.start, rowId),
    timeInput("end", "To", interval?.end === "24:00" ? "00:00" : interval?.end, rowId),
    el("button", { type: "button", class: "remove", onclick: () => row.remove(), "aria-label": "Remove this override" }, "Remove"));
  return row;
}

function rowValue(row, field) {
  const control = row.querySelector(`[data-row-field="${field}"]`);
  const value = control ? /** @type {HTMLInputElement} */ (control).value : "";
  return field === "end" && value === "00:00" ? "24:00" : value;
}

function fillSchedule(schedule) {
  /** @type {HTMLInputElement} */ (byId("sch-name")).value = schedule?.name ?? "Weekly hours";
  /** @type {HTMLInputElement} */ (byId("sch-timezone")).value = schedule?.timezone ?? browserTimezone;
  /** @type {HTMLInputElement} */ (byId("sch-default")).checked = schedule ? schedule.is_default : !schedules.length;
  const weekly = schedule ? schedule.weekly_hours
    : [0, 1, 2, 3, 4].map((weekday) => ({ weekday, start: "09:00", end: "17:00" }));
  byId("weekly-rows").replaceChildren(...weekly.map((h) => weeklyRow(h)));
  const overrides = [];
  for (const o of schedule?.date_overrides ?? []) {
    if (!o.intervals.length) overrides.push(overrideRow(o.date));
    for (const interval of o.intervals) overrides.push(overrideRow(o.date, interval));
  }
  byId("override-rows").replaceChildren(...overrides);
}

function schedulePayload() {
  const weekly = [...byId("weekly-rows").children].map((row) => ({
    weekday: Number(rowValue(row, "weekday")), start: rowValue(row, "start"), end: rowValue(row, "end"),
  }));
  for (const hours of weekly) {
    if (!hours.start || !hours.end) throw fieldProblem("weekly_hours", `Give ${WEEKDAYS[hours.weekday]}'s hours a start and an end.`);
  }
  /** @type {Map<string, {start: string, end: string}[]>} */
  const byDate = new Map();
  for (const row of byId("override-rows").children) {
    const date = rowValue(row, "date");
    const start = rowValue(row, "start");
    const end = rowValue(row, "end");
    if (!date) throw fieldProblem("date_overrides", "Choose the date of each override.");
    if (Boolean(start) !== Boolean(end)) throw fieldProblem("date_overrides", `Give ${date}'s hours a start and an end, or neither to be away.`);
    const intervals = byDate.get(date) ?? [];
    if (start) intervals.push({ start, end });
    byDate.set(date, intervals);
  }
  return {
    name: /** @type {HTMLInputElement} */ (byId("sch-name")).value.trim(),
    timezone: /** @type {HTMLInputElement} */ (byId("sch-timezone")).value.trim(),
    is_default: /** @type {HTMLInputElement} */ (byId("sch-default")).checked,
    weekly_hours: weekly,
    date_overrides: [...byDate].map(([date, intervals]) => ({ date, intervals })),
  };
}

async function loadSchedules(selectId = null) {
  schedules = await api(`/api/v1/mentors/${me.id}/schedules`);
  const pick = /** @type {HTMLSelectElement} */ (byId("schedule-pick"));
  pick.replaceChildren(...schedules.map((s) => el("option", { value: s.id }, `${s.name}${s.is_default ? " (default)" : ""}`)),
    el("option", { value: "" }, "New schedule"));
  pick.value = selectId ?? schedules.find((s) => s.is_default)?.id ?? schedules[0]?.id ?? "";
  fillSchedule(schedules.find((s) => s.id === pick.value));
  const forType = /** @type {HTMLSelectElement} */ (byId("st-schedule_id"));
  forType.replaceChildren(el("option", { value: "" }, "The default schedule"),
    ...schedules.map((s) => el("option", { value: s.id }, s.name)));
}

function wireSchedules() {
  const form = /** @type {HTMLFormElement} */ (byId("schedule-form"));
  const pick = /** @type {HTMLSelectElement} */ (byId("schedule-pick"));
  pick.addEventListener("change", () => {
    clearFormError(form);
    fillSchedule(schedules.find((s) => s.id === pick.value));
  });
  byId("add-weekly").addEventListener("click", () => {
    const row = weeklyRow();
    byId("weekly-rows").append(row);
    row.querySelector("select")?.focus();
  });
  byId("add-override").addEventListener("click", () => {
    const row = overrideRow();
    byId("override-rows").append(row);
    row.querySelector("input")?.focus();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFormError(form);
    try {
      const body = schedulePayload();
      const saved = pick.value
        ? await api(`/api/v1/schedules/${pick.value}`, { method: "PUT", body })
        : await api("/api/v1/schedules", { method: "POST", body });
      await loadSchedules(saved.id);
      status(`Saved the schedule “${saved.name}”.`);
      await loadPreview();
    } catch (error) {
      showFormError(form, error);
    }
  });
}

// ---- session types and the slot preview -----------------------------------------------

async function loadTypes() {
  sessionTypes = await api(`/api/v1/mentors/${me.id}/session-types`);
  byId("types").replaceChildren(...sessionTypes.map((t) =>
    el("li", { dataset: { typeId: t.id } }, el("strong", {}, t.title), el("div", { class: "hint" },
      `${KINDS[t.kind] || t.kind} · ${t.duration_minutes} min · ${money(t.price_minor, t.currency)} · ` +
      `${t.capacity} seat${t.capacity === 1 ? "" : "s"} · ${t.active ? "offered" : "withdrawn"}`))));
  if (!sessionTypes.length) byId("types").append(el("li", { class: "hint" }, "You offer no session types yet."));
  const packageType = /** @type {HTMLSelectElement} */ (byId("pk-session_type_id"));
  packageType.replaceChildren(...sessionTypes.filter((t) => t.active).map((t) =>
    el("option", { value: t.id }, `${t.title} (${money(t.price_minor, t.currency)} each)`)));
  const preview = /** @type {HTMLSelectElement} */ (byId("preview-type"));
  const chosen = preview.value;
  preview.replaceChildren(...sessionTypes.filter((t) => t.active).map((t) => el("option", { value: t.id }, t.title)));
  if (chosen && sessionTypes.some((t) => t.id === chosen)) preview.value = chosen;
}

function wireTypes() {
  const form = /** @type {HTMLFormElement} */ (byId("type-form"));
  const kind = /** @type {HTMLSelectElement} */ (byId("st-kind"));
  const capacity = /** @type {HTMLInputElement} */ (byId("st-capacity"));
  kind.addEventListener("change", () => {
    if (kind.value === "one_on_one") capacity.value = "1";
    else if (capacity.value === "1") capacity.value = kind.value === "group" ? "8" : "30";
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFormError(form);
    const data = new FormData(form);
    const currency = String(data.get("currency"));
    try {
      let priceMinor;
      try {
        priceMinor = toMinor(String(data.get("price") || ""), currency);
      } catch (error) {
        throw fieldProblem("price", /** @type {Error} */ (error).message);
      }
      const created = await api("/api/v1/session-types", {
        method: "POST",
        body: {
          title: String(data.get("title") || "").trim(),
          kind: kind.value,
          duration_minutes: Number(data.get("duration_minutes")),
          price_minor: priceMinor,
          currency,
          capacity: Number(data.get("capacity")),
          min_notice_minutes: Number(data.get("min_notice_minutes")),
          schedule_id: data.get("schedule_id") || null,
        },
      }).catch((error) => { throw renamedFields(error, { price_minor: "price" }); });
      form.reset();
      status(`You now offer “${created.title}” at ${money(created.price_minor, created.currency)}.`);
      await loadTypes();
      /** @type {HTMLSelectElement} */ (byId("preview-type")).value = created.id;
      await loadPreview();
    } catch (error) {
      showFormError(form, error);
    }
  });
}

// ---- packages -------------------------------------------------------------------------

async function loadPackages() {
  const offers = await api("/api/v1/mentor/packages");
  byId("packages").replaceChildren(...offers.map((offer) => {
    const toggle = el("button", { type: "button" }, offer.active ? `Withdraw ${offer.title}` : `Offer ${offer.title} again`);
    toggle.addEventListener("click", async () => {
      try {
        await api(`/api/v1/mentor/packages/${offer.id}/active`, { method: "PUT", body: { active: !offer.active } });
        status(offer.active ? `“${offer.title}” is withdrawn: purchases keep their sessions.` : `“${offer.title}” is on sale again.`);
        await loadPackages();
      } catch (error) {
        flash(sentence(error));
      }
    });
    return el("li", { dataset: { packageId: offer.id } }, el("strong", {}, offer.title),
      el("div", { class: "hint" }, `${offer.sessions} × ${offer.session_title} · ${money(offer.price_minor, offer.currency)} ` +
        `(${money(offer.single_price_minor, offer.currency)} one by one) · book within ${offer.valid_days} days · ` +
        `${offer.active ? "on sale" : "withdrawn"}`),
      toggle);
  }));
  if (!offers.length) byId("packages").append(el("li", { class: "hint" }, "You offer no packages yet."));
}

function wirePackages() {
  const form = /** @type {HTMLFormElement} */ (byId("package-form"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFormError(form);
    const data = new FormData(form);
    const type = sessionTypes.find((t) => t.id === data.get("session_type_id"));
    try {
      if (!type) throw fieldProblem("session_type_id", "offer a session type first: a package bundles sessions of one");
      let priceMinor;
      try {
        priceMinor = toMinor(String(data.get("price") || ""), type.currency);
      } catch (error) {
        throw fieldProblem("price", /** @type {Error} */ (error).message);
      }
      const created = await api("/api/v1/mentor/packages", {
        method: "POST",
        body: {
          title: String(data.get("title") || "").trim(),
          session_type_id: type.id,
          sessions: Number(data.get("sessions")),
          price_minor: priceMinor,
          valid_days: Number(data.get("valid_days")),
        },
      }).catch((error) => { throw renamedFields(error, { price_minor: "price" }); });
      form.reset();
      status(`You now offer “${created.title}”: ${created.sessions} sessions for ${money(created.price_minor, created.currency)}.`);
      await Promise.all([loadPackages(), loadTypes()]);
    } catch (error) {
      showFormError(form, error);
    }
  });
}

async function loadPreview() {
  const typeId = /** @type {HTMLSelectElement} */ (byId("preview-type")).value;
  const zoneInput = /** @type {HTMLInputElement} */ (byId("preview-timezone"));
  const list = byId("preview-slots");
  byId("preview-error").textContent = "";
  list.replaceChildren();
  if (!typeId) {
    list.append(el("li", { class: "hint" }, "Offer a session type to see its slots."));
    return;
  }
  const zone = zoneInput.value.trim() || browserTimezone;
  try {
    const result = await api(`/api/v1/session-types/${typeId}/slots?${new URLSearchParams({ timezone: zone, days: "7" })}`);
    let format;
    try {
      format = new Intl.DateTimeFormat("en-GB", { timeZone: result.timezone, weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
    } catch {
      format = new Intl.DateTimeFormat("en-GB", { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
    }
    list.replaceChildren(...result.slots.slice(0, 60).map((slot) =>
      el("li", {}, format.format(new Date(slot.starts_at)), slot.spots_left > 1 ? ` (${slot.spots_left} seats)` : "")));
    if (!result.slots.length) list.append(el("li", { class: "hint" }, "No open slot in the next 7 days."));
  } catch (error) {
    byId("preview-error").textContent = sentence(error);
  }
}

// ---- start ----------------------------------------------------------------------------

async function main() {
  me = await signedInShell();
  wireSchedules();
  wireTypes();
  wirePackages();
  byId("week-prev").addEventListener("click", () => {
    weekStart = addDays(weekStart ?? new Date().toISOString().slice(0, 10), -7);
    loadWeek().catch((error) => flash(sentence(error)));
  });
  byId("week-next").addEventListener("click", () => {
    weekStart = addDays(weekStart ?? new Date().toISOString().slice(0, 10), 7);
    loadWeek().catch((error) => flash(sentence(error)));
  });
  /** @type {HTMLInputElement} */ (byId("preview-timezone")).value = browserTimezone;
  byId("preview-type").addEventListener("change", loadPreview);
  byId("preview-timezone").addEventListener("change", loadPreview);
  try {
    await Promise.all([loadWeek(), loadSchedules(), loadTypes(), loadPackages()]);
    await loadPreview();
  } catch (error) {
    flash(`Could not load your sessions: ${sentence(error)}`);
  }
}

main();
