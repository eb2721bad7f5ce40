"""A learner's side of a program: lessons completed and how far they are."""

from __future__ import annotations

import uuid

from dracarys.curriculum.assessments.models import CertificateView
from dracarys.curriculum.courses.models import LessonBrief
from dracarys.models import Schema


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
