"""Auto-graded assessments (single and multiple choice, numbers within a tolerance) with a
limited number of attempts, and the certificate a learner earns by passing every
assessment of a program: its public id is signed, so a tampered one fails verification."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from datetime import UTC, datetime

import msgspec

from dracarys.curriculum import events
from dracarys.curriculum.assessments import store
from dracarys.curriculum.assessments.models import (
    Assessment,
    AssessmentDraft,
    AssessmentInput,
    AssessmentView,
    Attempt,
    AttemptInput,
    AttemptResult,
    Certificate,
    CertificatePdf,
    CertificateView,
    QuestionInput,
    QuestionView,
)
from dracarys.curriculum.courses.service import module_for_builder
from dracarys.curriculum.enrolment.service import ensure_learner
from dracarys.db import Connection, transaction, xact_lock
from dracarys.errors import Conflict, Forbidden, InvalidInput, NotFound
from dracarys.identity import CurrentUser, display_names
from dracarys.outbox import emit_event
from dracarys.platform import Platform

# ---- grading --------------------------------------------------------------------------


def _check_question(question: QuestionInput) -> None:
    field = f"questions.{question.id}"
    if question.kind == "numeric":
        if question.answer is None:
            raise InvalidInput("a numeric question needs its answer", field=field)
        return
    if len(question.options) < 2:
        raise InvalidInput("a choice question needs at least two options", field=field)
    if not question.correct or any(i >= len(question.options) for i in question.correct):
        raise InvalidInput("mark the right options by their index", field=field)
    if question.kind == "single" and len(question.correct) != 1:
        raise InvalidInput("a single-choice question has exactly one right option", field=field)


def grade(
    questions: list[QuestionInput], answers: dict[str, list[int] | float]
) -> tuple[int, dict[str, bool]]:
    """Score percent (floored) and which questions were right. Choice questions need the
    exact set of right options; numeric ones an answer within the tolerance."""
    earned = 0
    total = 0
    correct: dict[str, bool] = {}
    for question in questions:
        given = answers.get(question.id)
        total += question.points
        if question.kind == "numeric":
            right = (
                isinstance(given, int | float)
                and not isinstance(given, bool)
                and question.answer is not None
                and abs(float(given) - question.answer) <= question.tolerance + 1e-9
            )
        else:
            right = (
                isinstance(given, list)
                and set(given) == set(question.correct)
                and (question.kind == "multiple" or len(given) == 1)
            )
        correct[question.id] = right
        if right:
            earned += question.points
    return (100 * earned // total if total else 0), correct


# ---- assessments ----------------------------------------------------------------------


def _assessment_view(assessment: Assessment, attempts: list[Attempt]) -> AssessmentView:
    return AssessmentView(
        id=assessment.id,
        module_id=assessment.module_id,
        program_id=assessment.program_id,
        title=assessment.title,
        pass_mark_percent=assessment.pass_mark_percent,
        max_attempts=assessment.max_attempts,
        questions=[
            QuestionView(id=q.id, kind=q.kind, prompt=q.prompt, options=q.options, points=q.points)
            for q in assessment.questions
        ],
        attempts_used=len(attempts),
        passed=any(a.passed for a in attempts),
    )


def _check_questions(data: AssessmentInput) -> None:
    ids = [q.id for q in data.questions]
    if len(set(ids)) != len(ids):
        raise InvalidInput("question ids must be unique", field="questions")
    for question in data.questions:
        _check_question(question)


async def create_assessment(
    platform: Platform, actor: CurrentUser, module_id: uuid.UUID, data: AssessmentInput
) -> AssessmentView:
    _check_questions(data)
    assessment_id = uuid.uuid4()
    async with transaction(platform.pool) as conn:
        await module_for_builder(conn, actor, module_id)
        await store.insert_assessment(
            conn,
            assessment_id=assessment_id,
            module_id=module_id,
            title=data.title,
            pass_mark_percent=data.pass_mark_percent,
            max_attempts=data.max_attempts,
            questions=[msgspec.to_builtins(q) for q in data.questions],
            now=platform.clock.now(),
        )
        assessment = await store.assessment(conn, assessment_id)
    assert assessment is not None
    return _assessment_view(assessment, [])


async def _for_author(
    conn: Connection, actor: CurrentUser, assessment_id: uuid.UUID, *, lock: bool = False
) -> Assessment:
    assessment = await store.assessment(conn, assessment_id, lock="update" if lock else None)
    if assessment is None:
        raise NotFound("no such assessment", field="assessment_id")
    await module_for_builder(conn, actor, assessment.module_id)
    return assessment


async def assessment_draft(
    platform: Platform, actor: CurrentUser, assessment_id: uuid.UUID
) -> AssessmentDraft:
    async with platform.pool.acquire() as conn:
        assessment = await _for_author(conn, actor, assessment_id)
        attempts = await store.attempt_count(conn, assessment_id)
    return AssessmentDraft(
        id=assessment.id,
        module_id=assessment.module_id,
        title=assessment.title,
        pass_mark_percent=assessment.pass_mark_percent,
        max_attempts=assessment.max_attempts,
        questions=assessment.questions,
        attempts=attempts,
        questions_locked=attempts > 0,
    )


async def update_assessment(
    platform: Platform, actor: CurrentUser, assessment_id: uuid.UUID, data: AssessmentInput
) -> AssessmentView:
    """Edit an assessment. Once a learner has attempted it, its questions stay as they
    were graded (changing them is refused); title, pass mark and attempts may change and
    apply to attempts from now on."""
    _check_questions(data)
    async with transaction(platform.pool) as conn:
        # Attempts are counted under the row's lock (attempts take it shared), so none is
        # graded between this check and the write.
        assessment = await _for_author(conn, actor, assessment_id, lock=True)
        attempts = await store.attempt_count(conn, assessment_id)
        if attempts and data.questions != assessment.questions:
            raise Conflict(
                f"{attempts} attempt{'s' if attempts != 1 else ''} were graded against these "
                "questions, so they stay as they are; create a new assessment for new ones",
                field="questions",
            )
        await store.update_assessment(
            conn,
            assessment_id,
            title=data.title,
            pass_mark_percent=data.pass_mark_percent,
            max_attempts=data.max_attempts,
            questions=[msgspec.to_builtins(q) for q in data.questions],
        )
        updated = await store.assessment(conn, assessment_id)
    assert updated is not None
    return _assessment_view(updated, [])


async def get_assessment(
    platform: Platform, actor: CurrentUser, assessment_id: uuid.UUID
) -> AssessmentView:
    async with platform.pool.acquire() as conn:
        assessment = await store.assessment(conn, assessment_id)
        if assessment is None:
            raise NotFound("no such assessment", field="assessment_id")
        await ensure_learner(conn, actor, assessment.program_id, assessment.owner_id)
        return _assessment_view(assessment, await store.attempts(conn, assessment_id, actor.id))


async def submit_attempt(
    platform: Platform, actor: CurrentUser, assessment_id: uuid.UUID, data: AttemptInput
) -> AttemptResult:
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        assessment = await store.assessment(conn, assessment_id, lock="share")
        if assessment is None:
            raise NotFound("no such assessment", field="assessment_id")
        if not await ensure_learner(conn, actor, assessment.program_id, assessment.owner_id):
            raise Forbidden("only enrolled learners take assessments")
        known = {q.id for q in assessment.questions}
        unknown = sorted(set(data.answers) - known)
        if unknown:
            raise InvalidInput(f"no such question: {unknown[0]}", field="answers")
        # One attempt at a time per learner and assessment, so the limit holds.
        await xact_lock(conn, "attempt", assessment_id, actor.id)
        previous = await store.attempts(conn, assessment_id, actor.id)
        if any(a.passed for a in previous):
            raise Conflict("you have already passed this assessment")
        if len(previous) >= assessment.max_attempts:
            raise Conflict(
                f"all {assessment.max_attempts} attempts are used", field="assessment_id"
            )
        score, correct = grade(assessment.questions, data.answers)
        passed = score >= assessment.pass_mark_percent
        attempt_no = len(previous) + 1
        await store.insert_attempt(
            conn,
            attempt_id=uuid.uuid4(),
            assessment_id=assessment_id,
            user_id=actor.id,
            attempt_no=attempt_no,
            answers=msgspec.to_builtins(data.answers),
            score_percent=score,
            passed=passed,
            now=now,
        )
        certificate = None
        if passed:
            await emit_event(
                conn, events.AssessmentPassed(user_id=actor.id, assessment_id=assessment_id)
            )
            certificate = await _grant_certificate_if_earned(
                conn, platform, actor.id, assessment.program_id, now
            )
    return AttemptResult(
        attempt_no=attempt_no,
        score_percent=score,
        passed=passed,
        attempts_left=assessment.max_attempts - attempt_no,
        correct=correct,
        certificate=certificate,
    )


async def assessments_passed(
    conn: Connection, user_id: uuid.UUID, program_id: uuid.UUID
) -> tuple[int, int]:
    """(passed, total) of the program's assessments for this learner."""
    total = await store.assessment_ids_of_program(conn, program_id)
    return len(await store.passed_assessments(conn, user_id, program_id)), len(total)


# ---- certificates ---------------------------------------------------------------------


def _signature(platform: Platform, certificate_id: uuid.UUID) -> str:
    mac = hmac.new(
        platform.settings.secret_key.encode(),
        b"certificate:" + certificate_id.bytes,
        hashlib.sha256,
    ).digest()
    return base64.urlsafe_b64encode(mac[:18]).decode()


def public_certificate_id(platform: Platform, certificate_id: uuid.UUID) -> str:
    """`<uuid hex>.<HMAC>`: changing any character of either part fails verification."""
    return f"{certificate_id.hex}.{_signature(platform, certificate_id)}"


def parse_certificate_id(platform: Platform, public_id: str) -> uuid.UUID | None:
    raw, _, signature = public_id.partition(".")
    try:
        certificate_id = uuid.UUID(hex=raw)
    except ValueError:
        return None
    if raw != certificate_id.hex:
        return None
    if not hmac.compare_digest(signature, _signature(platform, certificate_id)):
        return None
    return certificate_id


async def _certificate_view(
    conn: Connection, platform: Platform, certificate: Certificate
) -> CertificateView:
    public_id = public_certificate_id(platform, certificate.id)
    base = platform.settings.public_url.rstrip("/")
    # The holder's name is sealed at rest: identity opens it.
    holder = await display_names(conn, platform.settings, [certificate.user_id])
    return CertificateView(
        id=public_id,
        program_id=certificate.program_id,
        program_title=certificate.program_title,
        user_id=certificate.user_id,
        holder_name=holder[certificate.user_id],
        granted_at=certificate.granted_at,
        verification_url=f"{base}/certificates/{public_id}",
        pdf_url=f"{base}/api/v1/certificates/{public_id}/pdf",
    )


async def certificate_of(
    conn: Connection, platform: Platform, user_id: uuid.UUID, program_id: uuid.UUID
) -> CertificateView | None:
    certificate = await store.certificate_of(conn, program_id, user_id)
    return await _certificate_view(conn, platform, certificate) if certificate else None


async def _grant_certificate_if_earned(
    conn: Connection, platform: Platform, user_id: uuid.UUID, program_id: uuid.UUID, now: datetime
) -> CertificateView | None:
    """Every assessment of the program passed → a certificate (once)."""
    required = set(await store.assessment_ids_of_program(conn, program_id))
    if not required or not required <= await store.passed_assessments(conn, user_id, program_id):
        return None
    certificate_id = uuid.uuid4()
    if await store.insert_certificate(
        conn, certificate_id=certificate_id, program_id=program_id, user_id=user_id, now=now
    ):
        certificate = await store.certificate(conn, certificate_id)
        assert certificate is not None
        view = await _certificate_view(conn, platform, certificate)
        await emit_event(
            conn,
            events.CertificateGranted(
                user_id=user_id,
                program_id=program_id,
                certificate_id=view.id,
                verification_url=view.verification_url,
            ),
        )
        return view
    return await certificate_of(conn, platform, user_id, program_id)


async def verify_certificate(platform: Platform, public_id: str) -> CertificateView:
    certificate_id = parse_certificate_id(platform, public_id)
    if certificate_id is not None:
        async with platform.pool.acquire() as conn:
            certificate = await store.certificate(conn, certificate_id)
            if certificate is not None:
                return await _certificate_view(conn, platform, certificate)
    raise NotFound("this certificate id is not valid", field="certificate_id")


async def certificate_pdf(platform: Platform, public_id: str) -> CertificatePdf:
    """The certificate as a one-page PDF: as public as its verification (the signed id is
    the secret), so a holder can hand either to an employer."""
    certificate = await verify_certificate(platform, public_id)
    return CertificatePdf(
        filename=f"certificate-{certificate.id.split('.')[0][:12]}.pdf",
        content=render_certificate_pdf(certificate),
    )


def render_certificate_pdf(certificate: CertificateView) -> bytes:
    """A landscape A4 certificate: who, what, when, and where to verify it."""
    # Imported on first use, as the invoices do: fpdf2 takes 0.7 s to import.
    from fpdf import FPDF

    def printable(text: str) -> str:
        # The core PDF fonts cover Latin-1 only; anything else prints as "?".
        return text.encode("latin-1", "replace").decode("latin-1")

    pdf = FPDF(orientation="landscape", format="A4")
    pdf.set_title(printable(f"Certificate: {certificate.program_title}"))
    pdf.set_creator("Dracarys")
    pdf.set_creation_date(certificate.granted_at)
    pdf.add_page()
    pdf.set_line_width(1.2)
    pdf.rect(10, 10, pdf.w - 20, pdf.h - 20)
    pdf.set_y(40)
    pdf.set_font("Helvetica", "B", 30)
    pdf.cell(0, 16, "Certificate of completion", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=14)
    pdf.cell(0, 14, "Dracarys certifies that", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "B", 24)
    pdf.cell(0, 16, printable(certificate.holder_name), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=14)
    pdf.cell(0, 12, "completed the program", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "B", 18)
    pdf.multi_cell(
        0, 10, printable(certificate.program_title), align="C", new_x="LMARGIN", new_y="NEXT"
    )
    pdf.set_font("Helvetica", size=12)
    granted = certificate.granted_at.astimezone(UTC)
    pdf.cell(0, 12, f"on {granted:%d %B %Y}", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_y(-45)
    pdf.set_font("Helvetica", size=9)
    pdf.multi_cell(
        0,
        5,
        printable(f"Verify at {certificate.verification_url}"),
        align="C",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    return bytes(pdf.output())
