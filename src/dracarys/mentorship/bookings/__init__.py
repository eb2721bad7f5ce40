"""Booking a seat in a session, cancelling it and moving it."""
