"""Onboarding: programs suggested from a newcomer's quiz answers, and the onboarding cohort."""
