"""Topics the curriculum emits (payload ids are strings)."""

from __future__ import annotations

LESSON_COMPLETED = "lesson.completed"  # {user_id, lesson_id, lesson_title}
ASSESSMENT_PASSED = "assessment.passed"  # {user_id, assessment_id}
# {user_id, program_id, certificate_id, verification_url}
CERTIFICATE_GRANTED = "certificate.granted"
COHORT_JOINED = "cohort.joined"  # {user_id, cohort_id, program_id, amount_minor, currency}
COHORT_LEFT = "cohort.left"  # {user_id, cohort_id, program_id, refunded_minor, currency}
# A member joined a cohort of an onboarding program (the points reward of onboarding).
ONBOARDING_COHORT_JOINED = "onboarding.cohort_joined"  # {user_id, cohort_id}
