"""Assignments: a mentor sets a task with a rubric, enrolled learners submit, and the
mentor scores every criterion (0 to its maximum) with written feedback."""

from __future__ import annotations

import uuid

import msgspec

from dracarys.curriculum.assignments import store
from dracarys.curriculum.assignments.models import (
    Assignment,
    AssignmentInput,
    AssignmentView,
    FeedbackInput,
    Submission,
    SubmissionInput,
    SubmissionView,
)
from dracarys.curriculum.courses.service import ensure_builder, module_for_builder
from dracarys.curriculum.enrolment.service import ensure_learner
from dracarys.db import transaction
from dracarys.errors import Forbidden, InvalidInput, NotFound
from dracarys.identity.access import CurrentUser
from dracarys.platform import Platform


def _assignment_view(assignment: Assignment) -> AssignmentView:
    return AssignmentView(
        id=assignment.id,
        module_id=assignment.module_id,
        title=assignment.title,
        instructions=assignment.instructions,
        rubric=[msgspec.to_builtins(c) for c in assignment.rubric],
    )


def _submission_view(submission: Submission) -> SubmissionView:
    return SubmissionView(
        id=submission.id,
        assignment_id=submission.assignment_id,
        user_id=submission.user_id,
        body=submission.body,
        submitted_at=submission.submitted_at,
        scores=submission.scores,
        total_points=submission.total_points,
        max_points=submission.max_points,
        feedback=submission.feedback,
        reviewed_at=submission.reviewed_at,
    )


async def create_assignment(
    platform: Platform, actor: CurrentUser, module_id: uuid.UUID, data: AssignmentInput
) -> AssignmentView:
    names = [c.name for c in data.rubric]
    if len(set(names)) != len(names):
        raise InvalidInput("rubric criteria need distinct names", field="rubric")
    assignment_id = uuid.uuid4()
    async with transaction(platform.pool) as conn:
        await module_for_builder(conn, actor, module_id)
        await store.insert_assignment(
            conn,
            assignment_id=assignment_id,
            module_id=module_id,
            title=data.title,
            instructions=data.instructions,
            rubric=[msgspec.to_builtins(c) for c in data.rubric],
            now=platform.clock.now(),
        )
        assignment = await store.assignment(conn, assignment_id)
    assert assignment is not None
    return _assignment_view(assignment)


async def submit_assignment(
    platform: Platform, actor: CurrentUser, assignment_id: uuid.UUID, data: SubmissionInput
) -> SubmissionView:
    submission_id = uuid.uuid4()
    async with transaction(platform.pool) as conn:
        assignment = await store.assignment(conn, assignment_id)
        if assignment is None:
            raise NotFound("no such assignment", field="assignment_id")
        if not await ensure_learner(conn, actor, assignment.program_id, assignment.owner_id):
            raise Forbidden("only enrolled learners submit assignments")
        await store.insert_submission(
            conn,
            submission_id=submission_id,
            assignment_id=assignment_id,
            user_id=actor.id,
            body=data.body,
            now=platform.clock.now(),
        )
        created = await store.submission(conn, submission_id)
    assert created is not None
    return _submission_view(created)


async def list_submissions(
    platform: Platform, actor: CurrentUser, assignment_id: uuid.UUID
) -> list[SubmissionView]:
    async with platform.pool.acquire() as conn:
        assignment = await store.assignment(conn, assignment_id)
        if assignment is None:
            raise NotFound("no such assignment", field="assignment_id")
        everyone = actor.id == assignment.owner_id or actor.is_staff
        submissions = await store.submissions_of(
            conn, assignment_id, None if everyone else actor.id
        )
    return [_submission_view(s) for s in submissions]


async def give_feedback(
    platform: Platform, actor: CurrentUser, submission_id: uuid.UUID, data: FeedbackInput
) -> SubmissionView:
    """The mentor scores every rubric criterion (0 to its maximum) and comments."""
    async with transaction(platform.pool) as conn:
        submission = await store.submission(conn, submission_id)
        if submission is None:
            raise NotFound("no such submission", field="submission_id")
        ensure_builder(actor, submission.owner_id)
        rubric = {c.name: c.max_points for c in submission.rubric}
        if set(data.scores) != set(rubric):
            missing = sorted(set(rubric) - set(data.scores)) or sorted(
                set(data.scores) - set(rubric)
            )
            raise InvalidInput(
                f"score exactly the rubric's criteria (check {missing[0]!r})", field="scores"
            )
        for name, points in data.scores.items():
            if points > rubric[name]:
                raise InvalidInput(
                    f"{name!r} is worth at most {rubric[name]} points", field=f"scores.{name}"
                )
        await store.set_feedback(
            conn,
            submission_id,
            scores=data.scores,
            total=sum(data.scores.values()),
            maximum=sum(rubric.values()),
            feedback=data.feedback,
            reviewer=actor.id,
            now=platform.clock.now(),
        )
        updated = await store.submission(conn, submission_id)
    assert updated is not None
    return _submission_view(updated)
