"""The vendor check of a KYC document: its record, the job the adapter sends, and the
result it reads back (from a callback or a status query), in the vendor's own words."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Protocol

import msgspec

from dracarys.identity.models import KycVendorVerdict as Verdict
from dracarys.wire import Schema


class VendorCheckRecord(msgspec.Struct, frozen=True, kw_only=True):
    document_id: uuid.UUID
    user_id: uuid.UUID
    vendor: str
    job_id: str
    vendor_job_id: str | None
    id_type: str
    country: str
    state: str
    verdict: str | None
    result_code: str | None
    result_text: str | None
    referral: str | None
    attempts: int
    created_at: datetime
    submitted_at: datetime | None
    resulted_at: datetime | None


class VerificationJob(msgspec.Struct, frozen=True, kw_only=True):
    """One document to verify: `job_id` and `user_id` are ours (the vendor echoes them
    back), `image` the document's bytes (JPEG or PNG)."""

    job_id: str
    user_id: str
    country: str
    id_type: str
    image: bytes
    content_type: str


class VendorResult(msgspec.Struct, frozen=True, kw_only=True):
    """What the vendor concluded about a job, and our reading of it."""

    job_id: str
    vendor_job_id: str | None
    result_code: str
    result_text: str
    verdict: Verdict


class DocumentVerifier(Protocol):
    """A vendor that verifies identity documents asynchronously: a job is submitted, its
    result arrives by a signed callback, and its status can be asked for."""

    name: str

    async def submit(self, job: VerificationJob) -> str:
        """Hand the job over; returns the vendor's id for it."""
        ...

    async def job_status(self, *, job_id: str, user_id: str) -> VendorResult | None:
        """The job's result, or None while the vendor is still working on it."""
        ...

    def read_callback(self, body: bytes, now: datetime) -> VendorResult:
        """The result a callback carries, once its signature and freshness are checked
        (`Unauthorized` when they are not)."""
        ...


class CallbackAck(Schema):
    received: bool = True
