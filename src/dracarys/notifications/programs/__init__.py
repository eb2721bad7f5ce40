"""Drip programs: marketing e-mail sequences defined as data, enrolment by events and by
the inactivity query, idempotent sending by the scheduler, click/open tracking and the
marketing suppression list (see service.py)."""
