"""The KYC page's route (see pages.py for how pages are served): the caller's
verification level, what each level needs and unlocks, and the document uploads."""

from __future__ import annotations

from typing import Any

from litestar import Response, get

from dracarys.web.render import render_page


@get("/kyc", operation_id="webKyc", include_in_schema=False, sync_to_thread=False)
def kyc_page() -> Response[str]:
    return render_page("kyc.html", page="kyc", title="Identity verification")


ROUTES: list[Any] = [kyc_page]
