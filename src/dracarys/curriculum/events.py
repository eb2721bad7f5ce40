"""The topics the curriculum produces, each with its payload (ids as strings on the wire,
money as `amount_minor` plus `currency`), emitted through the outbox with `emit_event`."""

from __future__ import annotations

import uuid
from typing import ClassVar

from dracarys.outbox import EventPayload

LESSON_COMPLETED = "lesson.completed"
ASSESSMENT_PASSED = "assessment.passed"
CERTIFICATE_GRANTED = "certificate.granted"
COHORT_JOINED = "cohort.joined"
COHORT_LEFT = "cohort.left"
# A member joined a cohort of an onboarding program (the points reward of onboarding).
ONBOARDING_COHORT_JOINED = "onboarding.cohort_joined"


class LessonCompleted(EventPayload, frozen=True, kw_only=True):
    """`timezone` is the learner's own (IANA name), so learning days count in it."""

    topic: ClassVar[str] = LESSON_COMPLETED
    user_id: uuid.UUID
    lesson_id: uuid.UUID
    lesson_title: str
    timezone: str | None


class AssessmentPassed(EventPayload, frozen=True, kw_only=True):
    topic: ClassVar[str] = ASSESSMENT_PASSED
    user_id: uuid.UUID
    assessment_id: uuid.UUID


class CertificateGranted(EventPayload, frozen=True, kw_only=True):
    """`certificate_id` is the certificate's public id, checkable at `verification_url`."""

    topic: ClassVar[str] = CERTIFICATE_GRANTED
    user_id: uuid.UUID
    program_id: uuid.UUID
    certificate_id: str
    verification_url: str


class CohortJoined(EventPayload, frozen=True, kw_only=True):
    topic: ClassVar[str] = COHORT_JOINED
    user_id: uuid.UUID
    cohort_id: uuid.UUID
    program_id: uuid.UUID
    amount_minor: int
    currency: str


class CohortLeft(EventPayload, frozen=True, kw_only=True):
    topic: ClassVar[str] = COHORT_LEFT
    user_id: uuid.UUID
    cohort_id: uuid.UUID
    program_id: uuid.UUID
    refunded_minor: int
    currency: str


class OnboardingCohortJoined(EventPayload, frozen=True, kw_only=True):
    topic: ClassVar[str] = ONBOARDING_COHORT_JOINED
    user_id: uuid.UUID
    cohort_id: uuid.UUID
