"""Mentorship: discovery and matching, availability, booking, sessions and ratings,
calendar sync, cohort live sessions and mentor compensation.

What others may call: who a booking links (`booking_pairs`, for chat), the scheduled
jobs (`emit_due_reminders`, `complete_ended_sessions`,
`expire_packages`), a mentor's month for the monthly bonus (`mentor_months`), what booking
a slot or buying a package would cost and under which refund policy (`session_offer`,
`package_offer`, for the checkout), the demo seeder, and the
onboarding quiz's choices for the page that asks them (`QUIZ_MARKETS`, `QUIZ_STYLES`).
Mentorship depends on the curriculum's public surface for cohort live sessions, never the
reverse. The events it writes are public too: a payload struct each, with its topic
(`events.py`)."""

from dracarys.mentorship.bookings.service import booking_pairs, session_offer
from dracarys.mentorship.compensation.service import mentor_months
from dracarys.mentorship.demo import seed_mentorship_demo
from dracarys.mentorship.discovery.models import MARKETS as QUIZ_MARKETS
from dracarys.mentorship.discovery.models import TRADING_STYLES as QUIZ_STYLES
from dracarys.mentorship.events import (
    PackageClosed,
    PackagePurchased,
    SessionAttended,
    SessionBooked,
    SessionCancelled,
    SessionCompleted,
    SessionPaid,
    SessionRated,
    SessionRefunded,
    SessionReminder,
    SessionRescheduled,
)
from dracarys.mentorship.packages.service import expire_packages, package_offer
from dracarys.mentorship.sessions.service import complete_ended_sessions, emit_due_reminders

__all__ = [
    "QUIZ_MARKETS",
    "QUIZ_STYLES",
    "PackageClosed",
    "PackagePurchased",
    "SessionAttended",
    "SessionBooked",
    "SessionCancelled",
    "SessionCompleted",
    "SessionPaid",
    "SessionRated",
    "SessionRefunded",
    "SessionReminder",
    "SessionRescheduled",
    "booking_pairs",
    "complete_ended_sessions",
    "emit_due_reminders",
    "expire_packages",
    "mentor_months",
    "package_offer",
    "seed_mentorship_demo",
    "session_offer",
]
