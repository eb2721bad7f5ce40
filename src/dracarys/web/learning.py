"""The learning pages' routes: the course catalogue, a program's page with enrolment
through the checkout, the lesson reader, assessments, assignments and certificates (with a
public verification page), and the mentor's course builder and grading queue. Every figure
comes from the curriculum's API (see pages.py for how pages are served)."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Response, get
from litestar.params import FromPath

from dracarys.identity import Specialty
from dracarys.web.render import render_page


@get("/courses", operation_id="webCourses", include_in_schema=False, sync_to_thread=False)
def courses_page() -> Response[str]:
    """Published programs, filtered by topic, difficulty, price and mentor."""
    return render_page("courses.html", page="courses", title="Courses")


@get(
    "/courses/{program_id:uuid}",
    operation_id="webCourse",
    include_in_schema=False,
    sync_to_thread=False,
)
def course_page(program_id: FromPath[uuid.UUID]) -> Response[str]:
    """A program: modules, mentor, price, cohorts and seats, enrolment, the learner's
    progress and certificate."""
    return render_page(
        "course.html", page="courses", title="Course", script="course", program_id=str(program_id)
    )


@get(
    "/lessons/{lesson_id:uuid}",
    operation_id="webLesson",
    include_in_schema=False,
    sync_to_thread=False,
)
def lesson_page(lesson_id: FromPath[uuid.UUID]) -> Response[str]:
    return render_page(
        "lesson.html", page="courses", title="Lesson", script="lesson", lesson_id=str(lesson_id)
    )


@get(
    "/assessments/{assessment_id:uuid}",
    operation_id="webAssessment",
    include_in_schema=False,
    sync_to_thread=False,
)
def assessment_page(assessment_id: FromPath[uuid.UUID]) -> Response[str]:
    return render_page(
        "assessment.html",
        page="courses",
        title="Assessment",
        script="assessment",
        assessment_id=str(assessment_id),
    )


@get(
    "/assignments/{assignment_id:uuid}",
    operation_id="webAssignment",
    include_in_schema=False,
    sync_to_thread=False,
)
def assignment_page(assignment_id: FromPath[uuid.UUID]) -> Response[str]:
    return render_page(
        "assignment.html",
        page="courses",
        title="Assignment",
        script="assignment",
        assignment_id=str(assignment_id),
    )


@get(
    "/certificates/{certificate_id:str}",
    operation_id="webCertificate",
    include_in_schema=False,
    sync_to_thread=False,
)
def certificate_page(certificate_id: FromPath[str]) -> Response[str]:
    """Public: anyone with the link sees whether the certificate is genuine."""
    return render_page(
        "certificate.html",
        page="certificate",
        title="Certificate",
        certificate_id=certificate_id,
    )


@get("/teach", operation_id="webTeach", include_in_schema=False, sync_to_thread=False)
def teach_page() -> Response[str]:
    """A mentor's programs and a new one."""
    return render_page("teach.html", page="teach", title="Teach")


@get(
    "/teach/programs/{program_id:uuid}",
    operation_id="webCourseBuilder",
    include_in_schema=False,
    sync_to_thread=False,
)
def course_builder_page(program_id: FromPath[uuid.UUID]) -> Response[str]:
    """The course builder: the program, cohorts, modules, lessons with a live preview,
    images, assessments and assignments."""
    return render_page(
        "course_builder.html",
        page="teach",
        title="Course builder",
        script="course_builder",
        program_id=str(program_id),
        specialties=[s.value for s in Specialty],
    )


@get("/teach/grading", operation_id="webGrading", include_in_schema=False, sync_to_thread=False)
def grading_page() -> Response[str]:
    """Submissions to score against their rubric, unscored first."""
    return render_page("grading.html", page="teach", title="Grading queue", script="grading")


ROUTES: list[Any] = [
    courses_page,
    course_page,
    lesson_page,
    assessment_page,
    assignment_page,
    certificate_page,
    teach_page,
    course_builder_page,
    grading_page,
]
