// My sessions: the member's bookings, upcoming and past. Joining opens the video room the
// server gives participants (in the window the server allows); cancelling first shows the
// refund the server quotes by the same rule the cancellation applies, then cancels;
// moving a 1:1 session picks another free slot of the same session type; invitations
// download as `.ics`; the private calendar feed link; rating the mentor after a session.

import { ApiError, accessToken, api } from "../api.js";
import { byId, clearFormError, el, flash, money, showFormError, signedInShell, when } from "../ui.js";

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
    lines.replaceChildren(
      el("div", { dataset: { line: "paid" } }, el("dt", {}, "You paid"), el("dd", {}, money(quote.paid_minor, quote.currency))),
      el("div", { dataset: { line: "refund" }, class: "checkout-total" }, el("dt", {}, "Refund to your wallet"), el("dd", {}, refund)));
    policy.textContent = quote.policy;
    deadline.textContent = `Everything comes back if you cancel before ${when(quote.full_refund_until)}.`;
    confirm.textContent = `Cancel and refund ${refund}`;
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
      status(`Cancelled: ${cancelled.session.title}. ${money(cancelled.refunded_minor, cancelled.currency)} went back to your wallet.`);
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
        method: "POST", body: { rating: Number(data.get("rating")), comment: String(data.get("comment") || "") },
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
  const bookings = await api("/api/v1/bookings");
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
