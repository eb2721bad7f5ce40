// A mentor's public profile (/mentors/{id}): who they are (GET /api/v1/mentors/{id}), their
// session types with the next open slots in the viewer's timezone, booked through the
// checkout; their packages of sessions, bought through the checkout too; their verified
// signal track record with the signal book's equity chart; their
// reviews and their courses. Visitors see the profile too and are asked to sign up to book;
// the track record (a signed-in read) is for members, who can share it (share.js).

import { minorDigits } from "../amounts.js";
import { ApiError, api, currentSession } from "../api.js";
import { LineSeries, ACCENT, fitWhenSized, makeChart } from "../charts.js";
import { openCheckout } from "../checkout.js";
import { shareButton } from "../share.js";
import { trackRecordStats } from "../signals.js";
import { DASH, byId, el, flash, money, num, signedInShell, when } from "../ui.js";

const mentorId = byId("profile").dataset.mentorId || "";
const viewerTimezone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
const SLOTS_SHOWN = 6;
const words = (value) => String(value).replaceAll("_", " ");

/** Public reads work signed out; `api` adds the session when there is one. */
function read(path) {
  return api(path, { auth: Boolean(currentSession()) });
}

function showFacts(mentor) {
  byId("headline").textContent = mentor.headline || mentor.specialties.map(words).join(", ");
  const fact = (label, value) => el("div", {}, el("dt", {}, label), el("dd", {}, value));
  byId("facts").replaceChildren(
    fact("Hourly rate", money(mentor.hourly_rate_minor, mentor.currency)),
    fact("Rating", mentor.rating_average === null ? "not rated yet" : `${num(mentor.rating_average, 2)} of 5 (${mentor.rating_count})`),
    fact("Sessions held", num(mentor.total_sessions, 0)),
    fact("Next free", mentor.next_available_at ? when(mentor.next_available_at) : "none in 14 days"),
    fact("Specialties", mentor.specialties.map(words).join(", ") || DASH),
    fact("Languages", mentor.languages.join(", ") || DASH),
    fact("Timezone", mentor.timezone || DASH));
  byId("bio").textContent = mentor.bio || "This mentor has not written a bio yet.";
}

function showActions(mentor, signedIn) {
  const actions = byId("profile-actions");
  if (!signedIn) {
    actions.replaceChildren(
      el("a", { href: "/signup", class: "button primary" }, `Create an account to book ${mentor.name}`),
      el("a", { href: "/signin", class: "button" }, "Sign in"));
    return;
  }
  const follow = el("button", { type: "button" }, `Follow ${mentor.name}'s signals`);
  follow.addEventListener("click", async () => {
    try {
      const subscription = await openCheckout({ kind: "signal_feed", id: mentor.id });
      if (subscription) flash(`You now follow ${mentor.name}'s signals: see the Signal feed.`, "info");
    } catch (error) {
      flash(error instanceof ApiError && error.problem.extra?.disclaimer_version
        ? "Accept the risk disclaimer on the Signal feed page before your first subscription."
        : error.message);
    }
  });
  // Chat: a booking, a paid feed or a cohort opens the conversation; otherwise the first
  // message is a request the mentor accepts.
  const message = el("a", { href: `/chat?with=${mentor.id}`, class: "button" }, `Message ${mentor.name}`);
  actions.replaceChildren(follow, message);
}

async function slotButtons(type, signedIn) {
  const query = new URLSearchParams({ timezone: viewerTimezone, days: "14" });
  let slots = [];
  try {
    slots = (await read(`/api/v1/session-types/${type.id}/slots?${query}`)).slots;
  } catch {
    return [el("p", { class: "hint" }, "Open slots could not be loaded just now.")];
  }
  if (!slots.length) return [el("p", { class: "hint" }, "No open slots in the next 14 days.")];
  if (!signedIn) {
    return [el("p", { class: "hint" }, `Next open: ${when(slots[0].starts_at)}. Sign up to book.`)];
  }
  return [el("div", { class: "row slots", role: "group", "aria-label": `Open slots for ${type.title}` },
    ...slots.slice(0, SLOTS_SHOWN).map((slot) => el("button", {
      type: "button", onclick: () => book(type, slot),
    }, `${when(slot.starts_at)}${slot.spots_left > 1 ? ` (${slot.spots_left} spots)` : ""}`)))];
}

async function showSessionTypes(signedIn) {
  const list = byId("session-types");
  const types = (await read(`/api/v1/mentors/${mentorId}/session-types`)).filter((t) => t.active);
  if (!types.length) {
    list.replaceChildren(el("li", { class: "hint" }, "This mentor offers no sessions yet."));
    return;
  }
  const items = await Promise.all(types.map(async (type) => el("li", { dataset: { sessionTypeId: type.id } },
    el("strong", {}, type.title),
    el("div", { class: "hint" }, [words(type.kind), `${type.duration_minutes} min`,
      type.capacity > 1 ? `up to ${type.capacity} people` : null,
      money(type.price_minor, type.currency)].filter(Boolean).join(" · ")),
    ...(await slotButtons(type, signedIn)))));
  list.replaceChildren(...items);
}

/** The checkout shows the quote; the booking is made only on "Confirm and pay". */
async function book(type, slot) {
  byId("booking-error").textContent = "";
  byId("booking-status").textContent = "";
  try {
    const booking = await openCheckout({ kind: "session", id: type.id, startsAt: slot.starts_at });
    if (!booking) return;
    const paid = booking.amount_minor ? `${money(booking.amount_minor, booking.currency)} held in escrow` : "free";
    byId("booking-status").textContent = `Booked: ${booking.session.title}, ${when(booking.session.starts_at)} (${paid}).`;
    await showSessionTypes(true);
  } catch (error) {
    byId("booking-error").textContent = error instanceof Error ? error.message : String(error);
    if (error instanceof ApiError && error.status === 409) await showSessionTypes(true);
  }
}

async function showPackages(signedIn) {
  const offers = await read(`/api/v1/mentors/${mentorId}/packages`);
  byId("packages-card").hidden = !offers.length;
  byId("packages").replaceChildren(...offers.map((offer) => {
    const saving = offer.single_price_minor - offer.price_minor;
    const buy = signedIn
      ? el("button", { type: "button", onclick: () => buyPackage(offer) }, `Buy ${offer.title}`)
      : el("p", { class: "hint" }, "Sign up to buy.");
    return el("li", { dataset: { packageId: offer.id } },
      el("strong", {}, offer.title),
      el("div", { class: "hint" }, [`${offer.sessions} × ${offer.duration_minutes} min ${offer.session_title}`,
        money(offer.price_minor, offer.currency),
        saving > 0 ? `save ${money(saving, offer.currency)}` : null,
        `book within ${offer.valid_days} days`].filter(Boolean).join(" · ")),
      buy);
  }));
}

async function buyPackage(offer) {
  byId("package-error").textContent = "";
  byId("package-status").textContent = "";
  try {
    const purchase = await openCheckout({ kind: "package", id: offer.id });
    if (!purchase) return;
    byId("package-status").replaceChildren(
      `Bought: ${purchase.title}, ${purchase.sessions} sessions (${money(purchase.paid_minor, purchase.currency)} held in escrow). `,
      el("a", { href: "/sessions" }, "Book them on My sessions"), ".");
  } catch (error) {
    byId("package-error").textContent = error instanceof Error ? error.message : String(error);
  }
}

async function showTrackRecord(signedIn, mentor) {
  const box = byId("track-record");
  const chartBox = byId("record-chart");
  if (!signedIn) {
    chartBox.hidden = true;
    box.replaceChildren(el("p", { class: "hint" }, "Sign in to see the verified track record."));
    return;
  }
  const [record, curve] = await Promise.all([
    api(`/api/v1/trading/mentors/${mentorId}/track-record`),
    api(`/api/v1/trading/mentors/${mentorId}/track-record/curve`),
  ]);
  box.replaceChildren(trackRecordStats(record),
    el("div", { class: "row" }, shareButton("track_record", mentorId, `${mentor.name}'s track record`)));
  if (!curve.points.length) {
    chartBox.hidden = true;
    box.append(el("p", { class: "hint" }, "No signal has been traded yet."));
    return;
  }
  const chart = makeChart(chartBox);
  const line = chart.addSeries(LineSeries, { color: ACCENT, lineWidth: 2 });
  const unit = 10 ** minorDigits(curve.currency);
  line.setData(curve.points.map((p) => ({
    time: Math.floor(Date.parse(p.market_time) / 1000), value: p.equity_minor / unit,
  })));
  fitWhenSized(chart);
  const last = curve.points.at(-1);
  chartBox.setAttribute("aria-label",
    `Equity of the signal book: ${money(curve.starting_cash_minor, curve.currency)} at the start, ` +
    `${money(last.equity_minor, curve.currency)} now, ${curve.points.length} marks`);
  window.__charts = { record: chart };
}

async function showReviews() {
  const reviews = await read(`/api/v1/mentors/${mentorId}/reviews`);
  const list = byId("reviews");
  list.replaceChildren(...reviews.slice(0, 20).map((review) => el("li", {},
    el("strong", {}, `${review.rating} of 5`),
    el("span", { class: "hint" }, ` · ${when(review.created_at)}`),
    review.comment ? el("p", {}, review.comment) : null)));
  if (!reviews.length) list.append(el("li", { class: "hint" }, "No reviews yet."));
}

async function showCourses() {
  const programs = (await read("/api/v1/programs")).filter((p) => p.owner_id === mentorId && p.published);
  const list = byId("courses");
  list.replaceChildren(...programs.map((program) => el("li", {},
    el("strong", {}, program.title),
    el("div", { class: "hint" }, [words(program.difficulty),
      program.price_minor ? money(program.price_minor, program.currency) : "Free",
      program.total_minutes ? `${num(program.total_minutes / 60, 1)} h of lessons` : null].filter(Boolean).join(" · ")),
    program.description ? el("p", {}, program.description) : null)));
  if (!programs.length) list.append(el("li", { class: "hint" }, "No courses yet."));
}

async function main() {
  const signedIn = Boolean(currentSession());
  if (signedIn) await signedInShell();
  else for (const id of ["signout", "whoami"]) byId(id).hidden = true;
  const status = byId("profile-status");
  let mentor;
  try {
    mentor = await read(`/api/v1/mentors/${mentorId}`);
  } catch (error) {
    status.textContent = error instanceof ApiError && error.status === 404
      ? "There is no mentor taking mentees at this address."
      : `Could not load the profile: ${error.message}`;
    return;
  }
  document.title = `${mentor.name} · Dracarys`;
  byId("page-title").textContent = mentor.name;
  status.textContent = "";
  byId("profile").hidden = false;
  showFacts(mentor);
  showActions(mentor, signedIn);
  const parts = [showSessionTypes(signedIn), showPackages(signedIn), showTrackRecord(signedIn, mentor),
    showReviews(), showCourses()];
  for (const result of await Promise.allSettled(parts)) {
    if (result.status === "rejected") flash(`Part of the profile could not be loaded: ${result.reason.message}`);
  }
  document.body.dataset.profileReady = "true";
}

main();
