"""Awarding: one rule applied to one user for one related entity, at most once ever —
from consumed events, in batches, or by staff through the award endpoint (idempotent per
key) — with money-tied awards held as pending points until the refund window closes, and
voided or clawed back by a refund."""
