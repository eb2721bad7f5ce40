"""Assessments, attempts and the certificates passing them earns."""
