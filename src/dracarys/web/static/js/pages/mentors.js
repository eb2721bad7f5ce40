// Mentor discovery and booking: search (specialty, timezone, an hourly rate typed in major
// units of its currency, rating), each mentor's ratings, next free slot and verified signal
// track record, session types and open slots in the viewer's timezone, booking and
// following a mentor's signals through the checkout (a quote, then "Confirm and pay"), and
// the caller's bookings.

import { ApiError, api } from "../api.js";
import { fieldProblem, toMinor } from "../amounts.js";
import { openCheckout } from "../checkout.js";
import { trackRecordStats } from "../signals.js";
import {
  DASH, byId, clearFormError, el, flash, formValues, money, num, showFormError, signedInShell, when,
} from "../ui.js";

const viewerTimezone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
/** How far ahead the server looked for each card's next free slot. */
let nextFreeWithinDays = 14;

function mentorCard(m) {
  const record = el("div", { class: "hint" }, "Loading the verified track record…");
  api(`/api/v1/trading/mentors/${m.id}/track-record`)
    .then((r) => record.replaceWith(el("div", {}, el("p", { class: "hint" }, "Verified signal track record"), trackRecordStats(r))))
    .catch(() => record.replaceWith(el("p", { class: "hint" }, "No signal track record.")));
  return el("li", { dataset: { mentorId: m.id } },
    el("div", {}, el("a", { href: `/mentors/${m.id}` }, el("strong", {}, m.name)), m.headline ? el("span", { class: "hint" }, ` · ${m.headline}`) : null),
    el("div", { class: "hint" },
      [m.specialties.map((s) => s.replaceAll("_", " ")).join(", "), m.trading_style, m.languages.join("/"), m.timezone]
        .filter(Boolean).join(" · ")),
    el("dl", { class: "stats" },
      el("div", {}, el("dt", {}, "Hourly rate"), el("dd", {}, money(m.hourly_rate_minor, m.currency))),
      el("div", {}, el("dt", {}, "Rating"), el("dd", {}, m.rating_average === null ? DASH : `${num(m.rating_average, 2)} (${m.rating_count})`)),
      el("div", {}, el("dt", {}, "Sessions"), el("dd", {}, num(m.total_sessions, 0))),
      el("div", {}, el("dt", {}, "Next free"), el("dd", {},
        m.next_available_at ? when(m.next_available_at) : `none in ${nextFreeWithinDays} days`))),
    record,
    el("div", { class: "row" },
      el("button", { type: "button", class: "primary", onclick: () => openBooking(m) }, `Book ${m.name}`),
      el("button", { type: "button", onclick: () => followSignals(m) }, "Follow signals")));
}

async function search(form) {
  const v = formValues(form);
  const query = new URLSearchParams({ limit: "50" });
  for (const key of ["skill", "timezone", "min_rating"]) if (v[key]) query.set(key, String(v[key]));
  if (v.max_rate) {
    const currency = String(v.rate_currency);
    try {
      query.set("max_price", String(toMinor(String(v.max_rate), currency)));
    } catch (error) {
      throw fieldProblem("max_rate", /** @type {Error} */ (error).message);
    }
    query.set("currency", currency);
  }
  const result = await api(`/api/v1/mentors?${query}`);
  nextFreeWithinDays = result.next_free_within_days;
  const list = byId("results");
  list.replaceChildren(...result.mentors.map(mentorCard));
  if (!result.mentors.length) list.append(el("li", { class: "hint" }, "No mentor matches these filters."));
}

async function openBooking(mentor) {
  byId("booking-hint").hidden = true;
  byId("booking-panel").hidden = false;
  byId("booking-mentor").textContent = mentor.name;
  byId("booking-error").textContent = "";
  byId("booking-status").textContent = "";
  const types = (await api(`/api/v1/mentors/${mentor.id}/session-types`)).filter((t) => t.active);
  const select = /** @type {HTMLSelectElement} */ (byId("session-type"));
  select.replaceChildren(...types.map((t) =>
    el("option", { value: t.id }, `${t.title} · ${t.kind} · ${t.duration_minutes} min · ${money(t.price_minor, t.currency)}`)));
  if (!types.length) select.append(el("option", { value: "" }, "This mentor offers no sessions yet"));
  select.onchange = () => loadSlots(select.value);
  select.focus();
  await loadSlots(select.value);
}

async function loadSlots(sessionTypeId) {
  const box = byId("slots");
  box.replaceChildren();
  if (!sessionTypeId) return;
  const query = new URLSearchParams({ timezone: viewerTimezone, days: "14" });
  const list = await api(`/api/v1/session-types/${sessionTypeId}/slots?${query}`);
  box.replaceChildren(...list.slots.slice(0, 40).map((slot) =>
    el("button", { type: "button", onclick: () => book(sessionTypeId, slot) },
      `${when(slot.starts_at)}${slot.spots_left > 1 ? ` (${slot.spots_left} spots)` : ""}`)));
  if (!list.slots.length) box.append(el("p", { class: "hint" }, "No open slots in the next 14 days."));
}

/** The checkout shows the quote; the booking is made only on "Confirm and pay". */
async function book(sessionTypeId, slot) {
  byId("booking-error").textContent = "";
  byId("booking-status").textContent = "";
  try {
    const booking = await openCheckout({ kind: "session", id: sessionTypeId, startsAt: slot.starts_at });
    if (!booking) return;
    byId("booking-status").textContent = `Booked: ${booking.session.title}, ${when(booking.session.starts_at)} ` +
      `(${booking.status}, ${money(booking.amount_minor, booking.currency)} ` +
      `${booking.amount_minor ? "held in escrow" : "to pay"}).`;
    await loadBookings();
    await loadSlots(sessionTypeId);
  } catch (error) {
    byId("booking-error").textContent = error.message;
    if (error instanceof ApiError && error.status === 409) await loadSlots(sessionTypeId);
  }
}

async function followSignals(mentor) {
  try {
    const subscription = await openCheckout({ kind: "signal_feed", id: mentor.id });
    if (subscription) flash(`You now follow ${mentor.name}'s signals: see the Signal feed.`, "info");
  } catch (error) {
    flash(error instanceof ApiError && error.problem.extra?.disclaimer_version
      ? "Accept the risk disclaimer on the Signal feed page before your first subscription."
      : error.message);
  }
}

async function loadBookings() {
  const bookings = await api("/api/v1/bookings");
  const list = byId("bookings");
  list.replaceChildren(...bookings.map((b) =>
    el("li", {}, el("strong", {}, b.session.title), el("div", { class: "hint" },
      `${when(b.session.starts_at)} · ${b.status} · ${money(b.amount_minor, b.currency)}` +
      (b.refunded_minor ? ` · refunded ${money(b.refunded_minor, b.currency)}` : "")))));
  if (!bookings.length) list.append(el("li", { class: "hint" }, "No bookings yet."));
}

async function main() {
  await signedInShell();
  const form = /** @type {HTMLFormElement} */ (byId("search-form"));
  /** @type {HTMLInputElement} */ (byId("timezone")).value = viewerTimezone;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFormError(form);
    try {
      await search(form);
    } catch (error) {
      showFormError(form, error);
    }
  });
  try {
    await Promise.all([search(form), loadBookings()]);
  } catch (error) {
    flash(`Could not load mentors: ${error.message}`);
  }
}

main();
