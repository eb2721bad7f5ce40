"""Assignments, submissions and rubric feedback."""
