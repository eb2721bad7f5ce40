"""A learner's side of a program: lessons completed and how far they are."""

from __future__ import annotations

import uuid

import msgspec

from dracarys.curriculum.assessments.models import CertificateView
from dracarys.curriculum.courses.models import LessonBrief
from dracarys.wire import Schema


class ProgressView(Schema):
    program_id: uuid.UUID
    percent_complete: int
    completed_lessons: int
    total_lessons: int
    minutes_remaining: int
    next_lesson: LessonBrief | None
    passed_assessments: int
    total_assessments: int
    certificate: CertificateView | None = None
    # Which lessons are done, in study order (the reader marks them; the outline ticks them).
    completed_lesson_ids: list[uuid.UUID] = msgspec.field(default_factory=list)
