"""The AML pages' routes (see pages.py for how pages are served), for reviewers and
admins: alerts and cases, one case with its timeline, and the rules editor."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Response, get
from litestar.params import FromPath

from dracarys.web.render import render_page


@get("/staff/aml", operation_id="webAml", include_in_schema=False, sync_to_thread=False)
def aml_page() -> Response[str]:
    """Alerts the AML rules raised (acknowledge them) and the cases under review."""
    return render_page("staff_aml.html", page="aml", title="AML alerts and cases")


@get(
    "/staff/aml/cases/{case_id:uuid}",
    operation_id="webAmlCase",
    include_in_schema=False,
    sync_to_thread=False,
)
def aml_case_page(case_id: FromPath[uuid.UUID]) -> Response[str]:
    """One case: its alerts, the member's deposits and withdrawals, the timeline; notes,
    assignment, the decision and the report export."""
    return render_page(
        "staff_aml_case.html", page="aml", title="AML case", script="aml_case", case_id=case_id
    )


@get("/staff/aml/rules", operation_id="webAmlRules", include_in_schema=False, sync_to_thread=False)
def aml_rules_page() -> Response[str]:
    """The AML rules of each country, their parameters, action and switch."""
    return render_page("staff_aml_rules.html", page="aml_rules", title="AML rules")


ROUTES: list[Any] = [aml_page, aml_case_page, aml_rules_page]
