"""Curriculum endpoints: the course builder, enrolment, lessons and progress, assessments,
assignments, uploads, public certificate verification and the onboarding cohort offer."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post, put
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from dracarys.curriculum.assessments import service as assessments
from dracarys.curriculum.assessments.models import (
    AssessmentDraft,
    AssessmentInput,
    AssessmentView,
    AttemptInput,
    AttemptResult,
    CertificateView,
)
from dracarys.curriculum.assignments import service as assignments
from dracarys.curriculum.assignments.models import (
    AssignmentDraft,
    AssignmentInput,
    AssignmentView,
    AttachmentView,
    FeedbackInput,
    SubmissionInput,
    SubmissionView,
)
from dracarys.curriculum.courses import service as courses
from dracarys.curriculum.courses.models import (
    AssetView,
    CohortInput,
    CohortView,
    LessonInput,
    LessonView,
    MarkdownPreview,
    MarkdownPreviewInput,
    ModuleInput,
    ModuleOutline,
    ProgramInput,
    ProgramView,
    ReorderInput,
)
from dracarys.curriculum.enrolment import service as enrolment
from dracarys.curriculum.enrolment.models import (
    EnrolInput,
    EnrolmentView,
    LeaveResult,
    MyEnrolmentView,
)
from dracarys.curriculum.learning import service as learning
from dracarys.curriculum.learning.models import ProgressView
from dracarys.curriculum.onboarding import service as onboarding
from dracarys.curriculum.onboarding.models import OnboardingOffer
from dracarys.identity import CurrentUser, Role, authenticated, requires_role
from dracarys.platform import Platform

# Room for the multipart envelope around the largest allowed file.
UPLOAD_MAX_BODY = 50_000_000 + 64 * 1024


@dataclass
class AssetUploadForm:
    file: UploadFile


def _download_headers(file_name: str) -> dict[str, str]:
    # Served as a download the browser never renders in our origin; the name is ASCII-only
    # so no header injection or encoding trick rides on it.
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in file_name)[:120]
    return {
        "Content-Disposition": f'attachment; filename="{safe or "file"}"',
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'",
        "Cache-Control": "private, no-store",
    }


def _viewer(request: Request[Any, Any, Any]) -> CurrentUser | None:
    user = request.scope.get("user")
    return user if isinstance(user, CurrentUser) else None


class ProgramController(Controller):
    path = "/api/v1/programs"
    tags = ("curriculum",)

    @get("", operation_id="listPrograms", summary="Published programs (and your own)")
    async def list_programs(
        self, platform: NamedDependency[Platform], request: Request[Any, Any, Any]
    ) -> list[ProgramView]:
        return await courses.list_programs(platform, _viewer(request))

    @post(
        "",
        operation_id="createProgram",
        status_code=HTTP_201_CREATED,
        guards=[authenticated],
        summary="Create a program",
    )
    async def create(
        self,
        data: JSONBody[ProgramInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> ProgramView:
        return await courses.create_program(platform, current_user, data)

    @get("/{program_id:uuid}", operation_id="getProgram", summary="A program's outline")
    async def outline(
        self,
        program_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        request: Request[Any, Any, Any],
    ) -> ProgramView:
        return await courses.program_outline(platform, _viewer(request), program_id)

    @put(
        "/{program_id:uuid}",
        operation_id="updateProgram",
        guards=[authenticated],
        summary="Edit a program",
    )
    async def update(
        self,
        program_id: FromPath[uuid.UUID],
        data: JSONBody[ProgramInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> ProgramView:
        return await courses.update_program(platform, current_user, program_id, data)

    @post(
        "/{program_id:uuid}/cohorts",
        operation_id="createCohort",
        status_code=HTTP_201_CREATED,
        guards=[authenticated],
        summary="Open a cohort",
    )
    async def cohort(
        self,
        program_id: FromPath[uuid.UUID],
        data: JSONBody[CohortInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> CohortView:
        return await courses.create_cohort(platform, current_user, program_id, data)

    @post(
        "/{program_id:uuid}/modules",
        operation_id="createModule",
        status_code=HTTP_201_CREATED,
        guards=[authenticated],
        summary="Add a module",
    )
    async def module(
        self,
        program_id: FromPath[uuid.UUID],
        data: JSONBody[ModuleInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> ModuleOutline:
        return await courses.create_module(platform, current_user, program_id, data)

    @put(
        "/{program_id:uuid}/module-order",
        operation_id="reorderModules",
        guards=[authenticated],
        summary="Order the modules",
    )
    async def reorder(
        self,
        program_id: FromPath[uuid.UUID],
        data: JSONBody[ReorderInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> ProgramView:
        return await courses.reorder_modules(platform, current_user, program_id, data.ids)

    @post(
        "/{program_id:uuid}/assets",
        operation_id="uploadLessonAsset",
        status_code=HTTP_201_CREATED,
        guards=[authenticated],
        request_max_body_size=UPLOAD_MAX_BODY,
        summary="Upload an image or chart",
    )
    async def upload(
        self,
        program_id: FromPath[uuid.UUID],
        data: Annotated[AssetUploadForm, Body(media_type=RequestEncodingType.MULTI_PART)],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> AssetView:
        content = await data.file.read()
        return await courses.upload_asset(platform, current_user, program_id, content)

    @get(
        "/{program_id:uuid}/progress",
        operation_id="getProgramProgress",
        guards=[authenticated],
        summary="My progress: percent, next lesson, time left",
    )
    async def progress(
        self,
        program_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> ProgressView:
        return await learning.progress(platform, current_user, program_id)


class CurriculumController(Controller):
    path = "/api/v1"
    tags = ("curriculum",)
    guards = (authenticated,)

    @post(
        "/cohorts/{cohort_id:uuid}/join",
        operation_id="joinCohort",
        status_code=HTTP_201_CREATED,
        summary="Enrol (paid programs pay into escrow, less a discount code if one is given)",
    )
    async def join(
        self,
        cohort_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
        idempotency_key: NamedDependency[str],
        # Optional: the Idempotency-Key header alone is a whole request.
        data: JSONBody[EnrolInput | None] = None,
    ) -> EnrolmentView:
        return await enrolment.join_cohort(
            platform,
            current_user,
            cohort_id,
            idempotency_key,
            discount_code=data.discount_code if data is not None else None,
        )

    @get(
        "/me/enrolments",
        operation_id="listMyEnrolments",
        summary="The programs I have joined: cohort, dates and what I paid",
    )
    async def my_enrolments(
        self, platform: NamedDependency[Platform], current_user: NamedDependency[CurrentUser]
    ) -> list[MyEnrolmentView]:
        return await enrolment.my_enrolments(platform, current_user)

    @post(
        "/cohorts/{cohort_id:uuid}/leave",
        operation_id="leaveCohort",
        status_code=HTTP_200_OK,
        summary="Leave before the start (full refund)",
    )
    async def leave(
        self,
        cohort_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> LeaveResult:
        refunded = await enrolment.leave_cohort(platform, current_user, cohort_id)
        return LeaveResult(refunded_minor=refunded)

    @post(
        "/modules/{module_id:uuid}/lessons",
        operation_id="createLesson",
        status_code=HTTP_201_CREATED,
        summary="Add a Markdown lesson",
    )
    async def create_lesson(
        self,
        module_id: FromPath[uuid.UUID],
        data: JSONBody[LessonInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> LessonView:
        return await courses.create_lesson(platform, current_user, module_id, data)

    @put("/modules/{module_id:uuid}", operation_id="renameModule", summary="Rename a module")
    async def rename_module(
        self,
        module_id: FromPath[uuid.UUID],
        data: JSONBody[ModuleInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> ProgramView:
        return await courses.rename_module(platform, current_user, module_id, data)

    @put(
        "/modules/{module_id:uuid}/lesson-order",
        operation_id="reorderLessons",
        summary="Order a module's lessons",
    )
    async def reorder_lessons(
        self,
        module_id: FromPath[uuid.UUID],
        data: JSONBody[ReorderInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> ProgramView:
        return await courses.reorder_lessons(platform, current_user, module_id, data.ids)

    @post(
        "/modules/{module_id:uuid}/assessments",
        operation_id="createAssessment",
        status_code=HTTP_201_CREATED,
        summary="Add an auto-graded assessment",
    )
    async def create_assessment(
        self,
        module_id: FromPath[uuid.UUID],
        data: JSONBody[AssessmentInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> AssessmentView:
        return await assessments.create_assessment(platform, current_user, module_id, data)

    @post(
        "/modules/{module_id:uuid}/assignments",
        operation_id="createAssignment",
        status_code=HTTP_201_CREATED,
        summary="Add an assignment with a rubric",
    )
    async def create_assignment(
        self,
        module_id: FromPath[uuid.UUID],
        data: JSONBody[AssignmentInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> AssignmentView:
        return await assignments.create_assignment(platform, current_user, module_id, data)

    @get("/lessons/{lesson_id:uuid}", operation_id="getLesson", summary="A lesson")
    async def lesson(
        self,
        lesson_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> LessonView:
        return await learning.get_lesson(platform, current_user, lesson_id)

    @post(
        "/lesson-previews",
        operation_id="previewLessonMarkdown",
        status_code=HTTP_200_OK,
        guards=[requires_role(Role.MENTOR, Role.ADMIN)],
        summary="Render lesson Markdown as the reader shows it (sanitised), without saving",
    )
    async def preview_lesson(self, data: JSONBody[MarkdownPreviewInput]) -> MarkdownPreview:
        return courses.preview_markdown(data)

    @put("/lessons/{lesson_id:uuid}", operation_id="updateLesson", summary="Edit a lesson")
    async def update_lesson(
        self,
        lesson_id: FromPath[uuid.UUID],
        data: JSONBody[LessonInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> LessonView:
        return await courses.update_lesson(platform, current_user, lesson_id, data)

    @post(
        "/lessons/{lesson_id:uuid}/complete",
        operation_id="completeLesson",
        status_code=HTTP_200_OK,
        summary="Mark a lesson done",
    )
    async def complete(
        self,
        lesson_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> ProgressView:
        return await learning.complete_lesson(platform, current_user, lesson_id)

    @get(
        "/assessments/{assessment_id:uuid}",
        operation_id="getAssessment",
        summary="An assessment (without its answers)",
    )
    async def assessment(
        self,
        assessment_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> AssessmentView:
        return await assessments.get_assessment(platform, current_user, assessment_id)

    @get(
        "/assessments/{assessment_id:uuid}/draft",
        operation_id="getAssessmentDraft",
        summary="An assessment as its author edits it, answers included",
    )
    async def assessment_draft(
        self,
        assessment_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> AssessmentDraft:
        return await assessments.assessment_draft(platform, current_user, assessment_id)

    @put(
        "/assessments/{assessment_id:uuid}",
        operation_id="updateAssessment",
        summary="Edit an assessment (its questions only until someone attempts it)",
    )
    async def update_assessment(
        self,
        assessment_id: FromPath[uuid.UUID],
        data: JSONBody[AssessmentInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> AssessmentView:
        return await assessments.update_assessment(platform, current_user, assessment_id, data)

    @post(
        "/assessments/{assessment_id:uuid}/attempts",
        operation_id="submitAssessmentAttempt",
        status_code=HTTP_201_CREATED,
        summary="Answer an assessment; graded at once",
    )
    async def attempt(
        self,
        assessment_id: FromPath[uuid.UUID],
        data: JSONBody[AttemptInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> AttemptResult:
        return await assessments.submit_attempt(platform, current_user, assessment_id, data)

    @get(
        "/assignments/{assignment_id:uuid}",
        operation_id="getAssignment",
        summary="An assignment: its instructions and rubric",
    )
    async def assignment(
        self,
        assignment_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> AssignmentView:
        return await assignments.get_assignment(platform, current_user, assignment_id)

    @get(
        "/assignments/{assignment_id:uuid}/draft",
        operation_id="getAssignmentDraft",
        summary="An assignment as its author edits it",
    )
    async def assignment_draft(
        self,
        assignment_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> AssignmentDraft:
        return await assignments.assignment_draft(platform, current_user, assignment_id)

    @put(
        "/assignments/{assignment_id:uuid}",
        operation_id="updateAssignment",
        summary="Edit an assignment (its rubric only until work is scored on it)",
    )
    async def update_assignment(
        self,
        assignment_id: FromPath[uuid.UUID],
        data: JSONBody[AssignmentInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> AssignmentView:
        return await assignments.update_assignment(platform, current_user, assignment_id, data)

    @post(
        "/assignments/{assignment_id:uuid}/attachments",
        operation_id="uploadSubmissionAttachment",
        status_code=HTTP_201_CREATED,
        request_max_body_size=UPLOAD_MAX_BODY,
        summary="Upload a file (PDF or image) to attach to a submission",
    )
    async def upload_attachment(
        self,
        assignment_id: FromPath[uuid.UUID],
        data: Annotated[AssetUploadForm, Body(media_type=RequestEncodingType.MULTI_PART)],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> AttachmentView:
        content = await data.file.read()
        return await assignments.upload_attachment(
            platform, current_user, assignment_id, data.file.filename or "", content
        )

    @get(
        "/submission-attachments/{attachment_id:uuid}",
        operation_id="getSubmissionAttachment",
        summary="A submission's attached file (its learner and the mentor only)",
    )
    async def attachment(
        self,
        attachment_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> Response[bytes]:
        content, attached = await assignments.read_attachment(platform, current_user, attachment_id)
        return Response(
            content=content,
            media_type=attached.content_type,
            headers=_download_headers(attached.file_name),
        )

    @get(
        "/teaching/submissions",
        operation_id="listSubmissionsToReview",
        guards=[requires_role(Role.MENTOR, Role.ADMIN)],
        summary="The grading queue: submissions to my programs, unscored first",
    )
    async def review_queue(
        self, platform: NamedDependency[Platform], current_user: NamedDependency[CurrentUser]
    ) -> list[SubmissionView]:
        return await assignments.submissions_to_review(platform, current_user)

    @post(
        "/assignments/{assignment_id:uuid}/submissions",
        operation_id="submitAssignment",
        status_code=HTTP_201_CREATED,
        summary="Hand in an assignment",
    )
    async def submit(
        self,
        assignment_id: FromPath[uuid.UUID],
        data: JSONBody[SubmissionInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> SubmissionView:
        return await assignments.submit_assignment(platform, current_user, assignment_id, data)

    @get(
        "/assignments/{assignment_id:uuid}/submissions",
        operation_id="listSubmissions",
        summary="Submissions (the mentor sees all; a learner their own)",
    )
    async def submissions(
        self,
        assignment_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> list[SubmissionView]:
        return await assignments.list_submissions(platform, current_user, assignment_id)

    @put(
        "/submissions/{submission_id:uuid}/feedback",
        operation_id="giveSubmissionFeedback",
        summary="Score a submission against the rubric",
    )
    async def feedback(
        self,
        submission_id: FromPath[uuid.UUID],
        data: JSONBody[FeedbackInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> SubmissionView:
        return await assignments.give_feedback(platform, current_user, submission_id, data)


class PublicCurriculumController(Controller):
    path = "/api/v1"
    tags = ("curriculum",)

    @get(
        "/certificates/{certificate_id:str}",
        operation_id="verifyCertificate",
        summary="Verify a certificate (public)",
    )
    async def verify(
        self, certificate_id: FromPath[str], platform: NamedDependency[Platform]
    ) -> CertificateView:
        return await assessments.verify_certificate(platform, certificate_id)

    @get(
        "/certificates/{certificate_id:str}/pdf",
        operation_id="downloadCertificatePdf",
        summary="A certificate as PDF (public, like its verification)",
        media_type="application/pdf",
    )
    async def certificate_pdf(
        self, certificate_id: FromPath[str], platform: NamedDependency[Platform]
    ) -> Response[bytes]:
        pdf = await assessments.certificate_pdf(platform, certificate_id)
        return Response(
            pdf.content,
            media_type="application/pdf",
            headers={"Content-Disposition": f'inline; filename="{pdf.filename}"'},
        )

    @get(
        "/lesson-assets/{asset_id:uuid}",
        operation_id="getLessonAsset",
        summary="An uploaded lesson image",
    )
    async def asset(
        self, asset_id: FromPath[uuid.UUID], platform: NamedDependency[Platform]
    ) -> Response[bytes]:
        content, content_type = await courses.read_asset(platform, asset_id)
        return Response(
            content=content,
            media_type=content_type,
            headers={
                "X-Content-Type-Options": "nosniff",
                "Content-Security-Policy": "default-src 'none'",
                "Cache-Control": "public, max-age=86400, immutable",
            },
        )


class OnboardingCohortController(Controller):
    """The onboarding cohort a newcomer is offered at the end of onboarding. Joining it is
    joining a cohort (`joinCohort`); this says which, and records a "not now"."""

    path = "/api/v1/onboarding/cohort"
    tags = ("curriculum",)
    guards = (requires_role(Role.MENTEE, Role.MENTOR),)

    @get("", operation_id="getOnboardingCohortOffer", summary="The onboarding cohort offer")
    async def offer(
        self, platform: NamedDependency[Platform], current_user: NamedDependency[CurrentUser]
    ) -> OnboardingOffer:
        return await onboarding.onboarding_offer(platform, current_user)

    @post(
        "/decline",
        operation_id="declineOnboardingCohort",
        status_code=HTTP_200_OK,
        summary="Not now: skip the onboarding cohort (joining stays possible)",
    )
    async def decline(
        self, platform: NamedDependency[Platform], current_user: NamedDependency[CurrentUser]
    ) -> OnboardingOffer:
        return await onboarding.decline_onboarding_cohort(platform, current_user)


ROUTES = [
    ProgramController,
    CurriculumController,
    PublicCurriculumController,
    OnboardingCohortController,
]
