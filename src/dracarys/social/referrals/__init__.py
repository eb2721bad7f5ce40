"""Referral codes, links with first-party attribution, and qualification at the referee's
first paid session (see `service`)."""
