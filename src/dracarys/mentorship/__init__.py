"""Mentorship: discovery and matching, availability, booking, sessions and ratings."""
