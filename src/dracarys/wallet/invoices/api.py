"""A customer's invoices and their PDFs, and the admins' monthly tax export."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath, PathParameter

from dracarys import csv_export
from dracarys.identity import CurrentUser, Role, authenticated, requires_role
from dracarys.platform import Platform
from dracarys.wallet.invoices import service
from dracarys.wallet.invoices.models import InvoiceView


class InvoicesController(Controller):
    path = "/api/v1/invoices"
    tags = ("payments",)
    guards = (authenticated,)

    @get(operation_id="listMyInvoices", summary="My invoices and receipts")
    async def my_invoices(
        self, platform: NamedDependency[Platform], current_user: NamedDependency[CurrentUser]
    ) -> list[InvoiceView]:
        return await service.my_invoices(platform, current_user)

    @get(
        "/{invoice_id:uuid}/pdf",
        operation_id="downloadInvoicePdf",
        summary="Invoice and receipt as PDF",
        media_type="application/pdf",
    )
    async def invoice_pdf(
        self,
        invoice_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> Response[bytes]:
        pdf = await service.invoice_pdf(platform, current_user, invoice_id)
        return Response(
            pdf.content,
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{pdf.filename}"'},
        )


class TaxExportController(Controller):
    path = "/api/v1/admin/tax-exports"
    tags = ("payments-admin",)
    guards = (requires_role(Role.ADMIN),)

    @get(
        "/{year:int}/{month:int}",
        operation_id="monthlyTaxExport",
        summary="Every invoice of a month as CSV",
        media_type="text/csv",
    )
    async def tax_export(
        self,
        year: Annotated[int, PathParameter(ge=2000, le=9999)],
        month: Annotated[int, PathParameter(ge=1, le=12)],
        platform: NamedDependency[Platform],
    ) -> Response[bytes]:
        body = await service.monthly_tax_export(platform, year, month)
        return csv_export.response(body, f"vat-{year}-{month:02d}.csv")


ROUTES: list[Any] = [InvoicesController, TaxExportController]
