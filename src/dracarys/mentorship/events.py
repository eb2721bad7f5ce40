"""Topics mentorship emits (payload ids are strings, money as amount_minor + currency)."""

from __future__ import annotations

SESSION_BOOKED = "session.booked"  # {session_id, booking_id, mentee_id, mentor_id, starts_at}
SESSION_PAID = "session.paid"  # {session_id, mentee_id, mentor_id, amount_minor, currency}
SESSION_ATTENDED = "session.attended"  # {session_id, mentor_id, mentee_id}
SESSION_COMPLETED = "session.completed"  # {session_id, mentor_id, mentee_ids}
SESSION_RATED = "session.rated"  # {session_id, rater_id, rated_id, rating}
SESSION_REFUNDED = "session.refunded"  # {session_id, mentee_id, amount_minor, currency}
SESSION_CANCELLED = "session.cancelled"  # {session_id, booking_id, mentee_id, cancelled_by}
SESSION_RESCHEDULED = "session.rescheduled"  # {session_id, starts_at, ends_at}
# {session_id, user_id, lead: "24h" | "1h", starts_at, title}
SESSION_REMINDER = "session.reminder"
