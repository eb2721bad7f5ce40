"""The course builder: programs, cohorts, modules, lessons, uploads, lesson recordings."""
