"""Curriculum: programs, cohorts, modules, lessons, assessments, assignments, certificates."""
