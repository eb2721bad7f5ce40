"""Curriculum: programs and their cohorts, modules and lessons, enrolment, progress,
assessments with certificates, and assignments.

Other domains may know a cohort (`cohort_of`: its program, owner, price and head count)
and its members (`is_cohort_member`, `cohort_members`), who a cohort links and which
lessons a user may open (`cohort_pairs`, `lesson_link`, for chat), and link a cohort live session's
recording to a lesson of the cohort's program (`link_lesson_recording`). Mentorship uses
these for cohort live sessions; the curriculum knows nothing of mentorship. The checkout
asks what joining a cohort would cost, and under which refund policy (`cohort_offer`).

Onboarding: mentorship holds the newcomer's quiz and asks the curriculum for programs
that fit the answers (`suggest_programs` with `ProgramPreferences`, answered with
`ProgramSuggestions`, each with its reasons).

A certificate is public to anyone holding its signed id (`verify_certificate`, answering a
`CertificateView`): the certificate page shows it, and social shares it.

The events the curriculum writes are its public vocabulary too: a payload struct each,
with its topic (`events.py`)."""

from dracarys.curriculum.assessments.models import CertificateView
from dracarys.curriculum.assessments.service import verify_certificate
from dracarys.curriculum.courses.models import Cohort
from dracarys.curriculum.courses.service import cohort_of, link_lesson_recording
from dracarys.curriculum.demo import seed_curriculum_demo
from dracarys.curriculum.enrolment.service import (
    cohort_members,
    cohort_offer,
    cohort_pairs,
    course_unlock_terms,
    grant_course_unlock,
    is_cohort_member,
    lesson_link,
)
from dracarys.curriculum.events import (
    AssessmentPassed,
    CertificateGranted,
    CohortJoined,
    CohortLeft,
    LessonCompleted,
    OnboardingCohortJoined,
)
from dracarys.curriculum.onboarding.models import ProgramPreferences, ProgramSuggestions
from dracarys.curriculum.onboarding.service import suggest_programs

__all__ = [
    "AssessmentPassed",
    "CertificateGranted",
    "CertificateView",
    "Cohort",
    "CohortJoined",
    "CohortLeft",
    "LessonCompleted",
    "OnboardingCohortJoined",
    "ProgramPreferences",
    "ProgramSuggestions",
    "cohort_members",
    "cohort_of",
    "cohort_offer",
    "cohort_pairs",
    "course_unlock_terms",
    "grant_course_unlock",
    "is_cohort_member",
    "lesson_link",
    "link_lesson_recording",
    "seed_curriculum_demo",
    "suggest_programs",
    "verify_certificate",
]
