// My sessions: the member's bookings, upcoming and past. Joining opens the video room the
// server gives participants (in the window the server allows); cancelling first shows the
// refund the server quotes by the same rule the cancellation applies, then cancels;
// moving a 1:1 session picks another free slot of the same session type; invitations
// download as `.ics`; the private calendar feed link; rating the mentor after a session;
// packages bought: booking their sessions at a free slot, closing one (its unbooked
// sessions refunded, the amount shown first).

import { ApiError, accessToken, api } from "../api.js";
import { byId, clearFormError, el, fill, flash, money, showFormError, signedInShell, when } from "../ui.js";

const viewerTimezone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
const KINDS = { one_on_one: "1:1", group: "group", workshop: "workshop" };

function status(text) {
  byId("sessions-status").textContent = text;
}

/** A dialog with a heading, a body and actions; resolves when it closes. */
function openDialog(id, heading, body, actions) {
  const dialog = el("dialog", { class: "checkout", id, "aria-labelledby": `${id}-title` },
    el("h2", { id: `${id}-title` }, heading), ...body,
    el("div", { class: "row checkout-actions" }, ...actions));
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  return dialog;
}

// ---- joining and the invitation -------------------------------------------------------

async function join(booking, box) {
  box.replaceChildren();
  try {
    const session = await api(`/api/v1/sessions/${booking.session.id}/join`, { method: "POST" });
    box.append(el("a", { href: session.room_url, target: "_blank", rel: "noopener", class: "button primary" },
      "Open the video room (new tab)"),
    el("span", { class: "hint" }, ` ${session.room_url}`));
    box.querySelector("a")?.focus();
  } catch (error) {
    box.append(el("span", { class: "form-error", role: "alert" }, sentence(error)));
  }
}

/** The invitation needs the bearer token, so it is fetched and handed over as a file. */
async function downloadInvitation(booking) {
  const response = await fetch(`/api/v1/sessions/${booking.session.id}/invite.ics`, {
    headers: { Authorization: `Bearer ${await accessToken()}` },
  });
  if (!response.ok) {
    flash("Could not download the invitation; try again.");
    return;
  }
  const url = URL.createObjectURL(await response.blob());
  const link = el("a", { href: url, download: `dracarys-session-${booking.session.id}.ics` });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function sentence(error) {
  const text = error instanceof Error ? error.message : String(error);
  return text ? text[0].toUpperCase() + text.slice(1) + (/[.!?]$/.test(text) ? "" : ".") : text;
}

// ---- cancelling under the refund policy ----------------------------------------------

async function cancel(booking) {
  const quoteUrl = `/api/v1/bookings/${booking.id}/cancellation`;
  let quote;
  try {
    quote = await api(quoteUrl);
  } catch (error) {
    flash(sentence(error));
    return;
  }
  const lines = el("dl", { class: "checkout-lines" });
  const policy = el("p", { id: "cancel-policy" });
  const deadline = el("p", { class: "hint" });
  const error = el("p", { class: "form-error", role: "alert" });
  const confirm = el("button", { type: "button", class: "primary", id: "cancel-confirm" });
  const keep = el("button", { type: "button" }, "Keep the booking");
  const dialog = openDialog("cancel-dialog", "Cancel this session?", [
    el("p", {}, el("strong", {}, booking.session.title), ` · ${when(booking.session.starts_at)}`),
    lines, policy, deadline, error,
  ], [keep, confirm]);

  function render() {
    const refund = money(quote.refund_minor, quote.currency);
    fill(lines,
      el("div", { dataset: { line: "paid" } }, el("dt", {}, "You paid"), el("dd", {}, money(quote.paid_minor, quote.currency))),
      el("div", { dataset: { line: "refund" }, class: "checkout-total" }, el("dt", {}, "Refund to your wallet"), el("dd", {}, refund)),
      quote.returns_to_package
        ? el("div", { dataset: { line: "package" } }, el("dt", {}, "Back to your package"), el("dd", {}, "1 session"))
        : null);
    policy.textContent = quote.policy;
    deadline.textContent = `Everything comes back if you cancel before ${when(quote.full_refund_until)}.`;
    confirm.textContent = quote.returns_to_package
      ? "Cancel and put the session back in my package"
      : `Cancel and refund ${refund}`;
  }

  render();
  keep.addEventListener("click", () => dialog.close());
  keep.focus();
  confirm.addEventListener("click", async () => {
    confirm.disabled = true;
    error.textContent = "";
    try {
      // The amount shown is the amount confirmed: the server refuses a different refund.
      const cancelled = await api(`/api/v1/bookings/${booking.id}/cancel`, {
        method: "POST", body: { expected_refund_minor: quote.refund_minor },
      });
      dialog.close();
      status(quote.returns_to_package
        ? `Cancelled: ${cancelled.session.title}. The session went back to your package.`
        : `Cancelled: ${cancelled.session.title}. ${money(cancelled.refunded_minor, cancelled.currency)} went back to your wallet.`);
      await load();
    } catch (problem) {
      if (problem instanceof ApiError && problem.status === 409) {
        try {
          quote = await api(quoteUrl);
          render();
        } catch {
          // The session started meanwhile: the message below says so.
        }
      }
      confirm.disabled = false;
      error.textContent = sentence(problem);
    }
  });
}

// ---- moving a 1:1 session -------------------------------------------------------------

async function reschedule(booking) {
  const list = el("div", { class: "row slot-list", id: "reschedule-slots", role: "group", "aria-label": "Free slots" },
    el("p", { class: "hint" }, "Loading free slots…"));
  const error = el("p", { class: "form-error", role: "alert" });
  const close = el("button", { type: "button" }, "Keep the current time");
  const dialog = openDialog("reschedule-dialog", "Move this session", [
    el("p", {}, el("strong", {}, booking.session.title), ` · now ${when(booking.session.starts_at)}`),
    el("dl", { class: "checkout-lines" },
      el("div", { dataset: { line: "refund" } }, el("dt", {}, "Refund"), el("dd", {}, money(0, booking.currency))),
      el("div", { dataset: { line: "charge" } }, el("dt", {}, "Extra charge"), el("dd", {}, money(0, booking.currency)))),
    el("p", { class: "hint" }, `Your payment of ${money(booking.amount_minor, booking.currency)} stays in escrow for ` +
      "the new time. Choose a free slot (your timezone):"),
    list, error,
  ], [close]);
  close.addEventListener("click", () => dialog.close());
  close.focus();
  try {
    const query = new URLSearchParams({ timezone: viewerTimezone, days: "14" });
    const slots = await api(`/api/v1/session-types/${booking.session.session_type_id}/slots?${query}`);
    list.replaceChildren(...slots.slots.slice(0, 40).map((slot) =>
      el("button", { type: "button", onclick: () => move(slot) }, when(slot.starts_at))));
    if (!slots.slots.length) list.append(el("p", { class: "hint" }, "No free slot in the next 14 days."));
  } catch (problem) {
    error.textContent = sentence(problem);
  }

  async function move(slot) {
    error.textContent = "";
    try {
      const moved = await api(`/api/v1/bookings/${booking.id}/reschedule`, {
        method: "POST", body: { starts_at: slot.starts_at },
      });
      dialog.close();
      status(`Moved: ${moved.session.title} is now ${when(moved.session.starts_at)}. Nothing was refunded or charged.`);
      await load();
    } catch (problem) {
      error.textContent = sentence(problem);
    }
  }
}

// ---- packages -------------------------------------------------------------------------

/** Pick a free slot of the package's session type and book it with one of its sessions. */
async function bookFromPackage(purchase) {
  const key = crypto.randomUUID();
  const list = el("div", { class: "row slot-list", id: "package-slots", role: "group", "aria-label": "Free slots" },
    el("p", { class: "hint" }, "Loading free slots…"));
  const error = el("p", { class: "form-error", role: "alert" });
  const close = el("button", { type: "button" }, "Not now");
  const dialog = openDialog("package-book-dialog", `Book a session of ${purchase.title}`, [
    el("p", { class: "hint" }, `Already paid: this takes one of your ${purchase.remaining} remaining ` +
      `sessions with ${purchase.mentor_name || "the mentor"}. Choose a free slot (your timezone):`),
    list, error,
  ], [close]);
  close.addEventListener("click", () => dialog.close());
  close.focus();
  try {
    const query = new URLSearchParams({ timezone: viewerTimezone, days: "14" });
    const slots = await api(`/api/v1/session-types/${purchase.session_type_id}/slots?${query}`);
    list.replaceChildren(...slots.slots.slice(0, 40).map((slot) =>
      el("button", { type: "button", onclick: () => take(slot) }, when(slot.starts_at))));
    if (!slots.slots.length) list.append(el("p", { class: "hint" }, "No free slot in the next 14 days."));
  } catch (problem) {
    error.textContent = sentence(problem);
  }

  async function take(slot) {
    error.textContent = "";
    try {
      const booking = await api("/api/v1/sessions/book", {
        method: "POST",
        body: {
          session_type_id: purchase.session_type_id, starts_at: slot.starts_at,
          package_purchase_id: purchase.id, idempotency_key: key,
        },
      });
      dialog.close();
      status(`Booked from your package: ${booking.session.title}, ${when(booking.session.starts_at)}.`);
      await load();
    } catch (problem) {
      error.textContent = sentence(problem);
    }
  }
}

/** Closing refunds the unbooked sessions; the amount shown is the amount confirmed. */
function closePackage(purchase) {
  const refund = money(purchase.unused_minor, purchase.currency);
  const error = el("p", { class: "form-error", role: "alert" });
  const keep = el("button", { type: "button" }, "Keep the package");
  const confirm = el("button", { type: "button", class: "primary", id: "package-close-confirm" },
    `Close and refund ${refund}`);
  const dialog = openDialog("package-close-dialog", `Close ${purchase.title}?`, [
    el("dl", { class: "checkout-lines" },
      el("div", { dataset: { line: "unused" } }, el("dt", {}, "Sessions not booked"), el("dd", {}, String(purchase.remaining))),
      el("div", { dataset: { line: "refund" }, class: "checkout-total" }, el("dt", {}, "Refund to your wallet"), el("dd", {}, refund))),
    el("p", { class: "hint" }, "Sessions already booked stay booked and are paid to the mentor once held."),
    error,
  ], [keep, confirm]);
  keep.addEventListener("click", () => dialog.close());
  keep.focus();
  confirm.addEventListener("click", async () => {
    confirm.disabled = true;
    error.textContent = "";
    try {
      const closed = await api(`/api/v1/package-purchases/${purchase.id}/close`, {
        method: "POST", body: { expected_refund_minor: purchase.unused_minor },
      });
      dialog.close();
      status(`Closed: ${closed.title}. ${money(closed.refunded_minor, closed.currency)} went back to your wallet.`);
      await load();
    } catch (problem) {
      confirm.disabled = false;
      error.textContent = sentence(problem);
    }
  });
}

function packageItem(purchase) {
  const active = purchase.status === "active";
  const used = purchase.credits.filter((c) => c.status === "booked" || c.status === "spent").length;
  return el("li", { dataset: { purchaseId: purchase.id } },
    el("div", {}, el("strong", {}, purchase.title),
      el("span", { class: "hint" }, purchase.mentor_name ? ` · with ${purchase.mentor_name}` : "")),
    el("div", { class: "hint" }, [
      `${purchase.remaining} of ${purchase.sessions} sessions left to book`,
      `${used} booked or used`,
      `paid ${money(purchase.paid_minor, purchase.currency)}`,
      purchase.refunded_minor ? `refunded ${money(purchase.refunded_minor, purchase.currency)}` : null,
      active ? `book by ${when(purchase.expires_at)}` : "closed",
    ].filter(Boolean).join(" · ")),
    active && purchase.remaining
      ? el("div", { class: "row" },
        el("button", { type: "button", class: "primary", onclick: () => bookFromPackage(purchase) },
          `Book a session of ${purchase.title}`),
        el("button", { type: "button", onclick: () => closePackage(purchase) }, "Close package…"))
      : null);
}

// ---- rating ---------------------------------------------------------------------------

function ratingForm(booking) {
  const id = booking.id;
  const form = el("form", { class: "rating-form", novalidate: true, "aria-label": `Rate ${booking.session.title}` },
    el("div", { class: "row" },
      el("div", { class: "field" },
        el("label", { for: `rating-${id}` }, `Your rating of ${booking.mentor_name || "the mentor"}`),
        el("select", { id: `rating-${id}`, name: "rating", "aria-describedby": `rating-${id}-error` },
          ...[5, 4, 3, 2, 1].map((n) => el("option", { value: n }, `${n} of 5`))),
        el("p", { class: "field-error", id: `rating-${id}-error` })),
      el("div", { class: "field" },
        el("label", { for: `recommend-${id}` }, "How likely are you to recommend Dracarys to a friend? (optional)"),
        el("select", { id: `recommend-${id}`, name: "recommend", "aria-describedby": `recommend-${id}-error` },
          el("option", { value: "" }, "No answer"),
          ...[10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0].map((n) => el("option", { value: n }, `${n} of 10`))),
        el("p", { class: "field-error", id: `recommend-${id}-error` })),
      el("div", { class: "field grow" },
        el("label", { for: `comment-${id}` }, "Comment (optional)"),
        el("textarea", { id: `comment-${id}`, name: "comment", rows: 2, maxlength: 2000, "aria-describedby": `comment-${id}-error` }),
        el("p", { class: "field-error", id: `comment-${id}-error` }))),
    el("p", { class: "form-error", role: "alert" }),
    el("button", { type: "submit", class: "primary" }, `Rate ${booking.mentor_name || "the mentor"}`));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFormError(form);
    const data = new FormData(form);
    try {
      await api(`/api/v1/sessions/${booking.session.id}/ratings`, {
        method: "POST",
        body: {
          rating: Number(data.get("rating")),
          comment: String(data.get("comment") || ""),
          recommend: data.get("recommend") ? Number(data.get("recommend")) : null,
        },
      });
      status(`Thank you: you rated ${booking.session.title} ${data.get("rating")} of 5.`);
      await load();
    } catch (error) {
      showFormError(form, error);
    }
  });
  return form;
}

// ---- the lists ------------------------------------------------------------------------

function summary(b) {
  const s = b.session;
  return [
    el("div", {}, el("strong", {}, s.title),
      el("span", { class: "hint" }, ` · ${KINDS[s.kind] || s.kind}${b.mentor_name ? ` with ${b.mentor_name}` : ""}`)),
    el("div", { class: "hint" },
      `${when(s.starts_at)} – ${new Date(s.ends_at).toLocaleTimeString()} · ${money(b.amount_minor, b.currency)}` +
      (b.refunded_minor ? ` · refunded ${money(b.refunded_minor, b.currency)}` : "")),
  ];
}

function upcomingItem(b) {
  const joinBox = el("div", { class: "join-box", role: "status", "aria-live": "polite" });
  const oneOnOne = b.session.kind === "one_on_one" && b.session.session_type_id;
  const opens = new Date(new Date(b.session.starts_at).getTime() - 15 * 60_000).toISOString();
  return el("li", { dataset: { bookingId: b.id, sessionId: b.session.id } },
    ...summary(b),
    el("p", { class: "hint" }, `The room opens at ${when(opens)}.`),
    el("div", { class: "row" },
      el("button", { type: "button", class: "primary", onclick: () => join(b, joinBox) }, `Join ${b.session.title}`),
      el("button", { type: "button", onclick: () => downloadInvitation(b) }, "Download invitation (.ics)"),
      oneOnOne ? el("button", { type: "button", onclick: () => reschedule(b) }, "Move to another time") : null,
      el("button", { type: "button", onclick: () => cancel(b) }, "Cancel…")),
    joinBox);
}

function pastItem(b) {
  const s = b.session;
  const state = b.status === "cancelled" ? "Cancelled" : s.status === "completed" ? "Completed" : "Cancelled by the mentor";
  return el("li", { dataset: { bookingId: b.id, sessionId: s.id } },
    ...summary(b),
    el("p", { class: "hint" }, state),
    s.recording_url ? el("p", {}, el("a", { href: s.recording_url, target: "_blank", rel: "noopener" }, "Watch the recording")) : null,
    s.status === "completed" && b.status === "confirmed"
      ? b.my_rating ? el("p", { class: "rated" }, `You rated ${b.mentor_name || "the mentor"} ${b.my_rating} of 5.`) : ratingForm(b)
      : null);
}

async function load() {
  const [bookings, purchases] = await Promise.all([api("/api/v1/bookings"), api("/api/v1/package-purchases")]);
  byId("packages-card").hidden = !purchases.length;
  byId("packages").replaceChildren(...purchases.map(packageItem));
  const upcoming = bookings.filter((b) => b.status === "confirmed" && b.session.status === "scheduled")
    .sort((a, b) => a.session.starts_at.localeCompare(b.session.starts_at));
  const past = bookings.filter((b) => !upcoming.includes(b))
    .sort((a, b) => b.session.starts_at.localeCompare(a.session.starts_at));
  byId("upcoming").replaceChildren(...upcoming.map(upcomingItem));
  if (!upcoming.length) byId("upcoming").append(el("li", { class: "hint" }, "No upcoming sessions."));
  byId("past").replaceChildren(...past.map(pastItem));
  if (!past.length) byId("past").append(el("li", { class: "hint" }, "Nothing here yet."));
}

function wireFeed() {
  const form = /** @type {HTMLFormElement} */ (byId("feed-form"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFormError(form);
    try {
      const link = await api("/api/v1/calendar/feed-link", { method: "POST" });
      const input = /** @type {HTMLInputElement} */ (byId("feed-url"));
      input.value = link.url;
      byId("feed-field").hidden = false;
      byId("feed-create").textContent = "Make a new link (the old one stops working)";
      input.select();
      status("Your calendar feed link is ready: copy it into your calendar app.");
    } catch (error) {
      showFormError(form, error);
    }
  });
}

async function main() {
  await signedInShell();
  wireFeed();
  try {
    await load();
  } catch (error) {
    flash(`Could not load your sessions: ${error instanceof ApiError ? error.message : error}`);
  }
}

main();
