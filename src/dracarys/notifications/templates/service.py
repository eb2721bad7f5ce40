"""Notification texts admins edit (issue 20 items 8 and 9). Each (kind, channel, language)
text is versioned: version 0 is the code's (`catalog.code_text`), every save adds the next
version and the newest one is delivered; a revert adds a version with the earlier text
(to 0: one that follows the code again), so the history only grows. A text is checked
before it is saved (`catalog.check_text`): a refused one changes nothing. Every save and
revert is written to identity's audit log in the same transaction.

Delivery reads the texts through a `TextBook`, loaded once per batch."""

from __future__ import annotations

from dataclasses import dataclass
from string import Template

from dracarys.db import Connection, transaction
from dracarys.errors import InvalidInput, NotFound
from dracarys.identity import CurrentUser, Language, display_names, record_audit
from dracarys.messaging import EmailTemplate, SmsTemplate
from dracarys.notifications.templates import store
from dracarys.notifications.templates.catalog import (
    ENGLISH,
    LANGUAGES,
    TemplateText,
    check_text,
    code_text,
    editable,
    required_of,
    sample_values,
    variables_of,
)
from dracarys.notifications.templates.models import (
    Preview,
    RevertInput,
    TemplateDetail,
    TemplateInput,
    TemplateSummary,
    TemplateVersion,
    VersionView,
)
from dracarys.notifications.workflows import Channel
from dracarys.platform import Platform

_CODE_AUTHOR = "Built in"


@dataclass(frozen=True, slots=True)
class TextBook:
    """The texts delivered now: an admin's newest version where there is one, else the
    code's; a language without a text of its own falls back to English."""

    active: dict[tuple[str, str, str], TemplateVersion]

    def text(self, kind: str, channel: str, language: str) -> TemplateText | None:
        for lang in (language, ENGLISH) if language != ENGLISH else (ENGLISH,):
            saved = self.active.get((kind, channel, lang))
            if saved is not None and not saved.follows_code and saved.body is not None:
                return TemplateText(subject=saved.subject, body=saved.body)
            if (code := code_text(kind, channel, lang)) is not None:
                return code
        return None

    def in_app(self, kind: str, language: str, values: dict[str, str]) -> tuple[str, str]:
        """The in-app title and body, filled (an unknown `$word` stays as written)."""
        text = self.text(kind, Channel.IN_APP.value, language)
        if text is None:
            return kind, ""
        return (
            Template(text.subject or "").safe_substitute(values),
            Template(text.body).safe_substitute(values),
        )

    def email(self, kind: str, language: str) -> EmailTemplate | None:
        text = self.text(kind, Channel.EMAIL.value, language)
        if text is None:
            return None
        return EmailTemplate(name=f"notify.{kind}", subject=text.subject or "", text=text.body)

    def sms(self, kind: str, language: str) -> SmsTemplate | None:
        text = self.text(kind, Channel.SMS.value, language)
        return None if text is None else SmsTemplate(name=f"notify.{kind}", text=text.body)


async def text_book(conn: Connection) -> TextBook:
    return TextBook(
        active={(v.kind, v.channel, v.language): v for v in await store.active_versions(conn)}
    )


# ---- admin -----------------------------------------------------------------------------


def _known(kind: str, channel: str, language: str) -> TemplateText:
    """The code's text of a (kind, channel, language) there is; 404 for any other."""
    if language not in LANGUAGES:
        raise NotFound(
            f"Notifications are not written in \u201c{language}\u201d: choose en or sw.",
            field="language",
        )
    text = code_text(kind, channel, language)
    if text is None:
        raise NotFound(
            f"The notification \u201c{kind}\u201d has no {channel} text to edit.",
            field="kind",
        )
    return text


def _current(versions: list[TemplateVersion], code: TemplateText) -> tuple[int, TemplateText]:
    newest = versions[0] if versions else None
    if newest is None or newest.follows_code or newest.body is None:
        return (newest.version if newest else 0), code
    return newest.version, TemplateText(subject=newest.subject, body=newest.body)


async def list_templates(
    platform: Platform, language_only: Language | None = None
) -> list[TemplateSummary]:
    """Every editable text, or only those in `language_only`."""
    async with platform.pool.acquire() as conn:
        book = await text_book(conn)
    summaries = []
    for kind, channel, language in editable():
        if language_only is not None and language != language_only:
            continue
        saved = book.active.get((kind, channel, language))
        text = book.text(kind, channel, language)
        assert text is not None  # editable() lists texts the code has
        summaries.append(
            TemplateSummary(
                kind=kind,
                channel=channel,
                language=language,
                version=saved.version if saved else 0,
                subject=text.subject,
                body=text.body,
            )
        )
    return summaries


async def _detail(
    conn: Connection, platform: Platform, kind: str, channel: str, language: str
) -> TemplateDetail:
    code = _known(kind, channel, language)
    versions = await store.versions_of(conn, kind, channel, language)
    names = await display_names(conn, platform.settings, {v.author_id for v in versions})
    active, text = _current(versions, code)
    history = [
        VersionView(
            version=v.version,
            subject=code.subject if v.follows_code else v.subject,
            body=code.body if v.follows_code or v.body is None else v.body,
            follows_code=v.follows_code,
            reverted_from=v.reverted_from,
            author=names.get(v.author_id, "A former admin"),
            created_at=v.created_at,
            active=v.version == active,
        )
        for v in versions
    ]
    history.append(
        VersionView(
            version=0,
            subject=code.subject,
            body=code.body,
            follows_code=True,
            reverted_from=None,
            author=_CODE_AUTHOR,
            created_at=None,
            active=active == 0,
        )
    )
    return TemplateDetail(
        kind=kind,
        channel=channel,
        language=language,
        version=active,
        subject=text.subject,
        body=text.body,
        variables=sorted(variables_of(kind, channel)),
        required=sorted(required_of(kind, channel)),
        sample=sample_values(kind, platform.settings.public_url, language),
        versions=history,
    )


async def template_detail(
    platform: Platform, kind: str, channel: str, language: str
) -> TemplateDetail:
    async with platform.pool.acquire() as conn:
        return await _detail(conn, platform, kind, channel, language)


def _checked(kind: str, channel: str, data: TemplateInput) -> tuple[str | None, str]:
    """The text as it will be stored, or a 422 naming every problem's field."""
    problems = check_text(kind, channel, data.subject, data.body)
    if problems:
        detail = " ".join(p.message for p in problems)
        raise InvalidInput(
            detail if len(problems) == 1 else f"This text cannot be saved yet. {detail}",
            errors=problems,
        )
    return (None if channel == Channel.SMS else (data.subject or "").strip()), data.body


async def save_template(
    platform: Platform,
    admin: CurrentUser,
    kind: str,
    channel: str,
    language: str,
    data: TemplateInput,
    *,
    source_ip: str | None,
) -> TemplateDetail:
    _known(kind, channel, language)
    subject, body = _checked(kind, channel, data)
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        saved = await store.add_version(
            conn,
            kind=kind,
            channel=channel,
            language=language,
            subject=subject,
            body=body,
            follows_code=False,
            reverted_from=None,
            author_id=admin.id,
            at=now,
        )
        await record_audit(
            conn,
            admin.id,
            "notification_template.saved",
            f"notification_template:{kind}/{channel}/{language}",
            source_ip,
            {"version": saved.version},
            at=now,
        )
        return await _detail(conn, platform, kind, channel, language)


async def revert_template(
    platform: Platform,
    admin: CurrentUser,
    kind: str,
    channel: str,
    language: str,
    data: RevertInput,
    *,
    source_ip: str | None,
) -> TemplateDetail:
    """A new version with version `data.version`'s text (0: the code's, followed)."""
    _known(kind, channel, language)
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        earlier: TemplateVersion | None = None
        if data.version:
            versions = await store.versions_of(conn, kind, channel, language)
            earlier = next((v for v in versions if v.version == data.version), None)
            if earlier is None:
                raise NotFound(
                    f"This text has no version {data.version} to go back to.", field="version"
                )
        follows_code = earlier is None or earlier.follows_code
        saved = await store.add_version(
            conn,
            kind=kind,
            channel=channel,
            language=language,
            subject=None if follows_code or earlier is None else earlier.subject,
            body=None if follows_code or earlier is None else earlier.body,
            follows_code=follows_code,
            reverted_from=data.version,
            author_id=admin.id,
            at=now,
        )
        await record_audit(
            conn,
            admin.id,
            "notification_template.reverted",
            f"notification_template:{kind}/{channel}/{language}",
            source_ip,
            {"version": saved.version, "reverted_to": data.version},
            at=now,
        )
        return await _detail(conn, platform, kind, channel, language)


def preview_template(
    platform: Platform, kind: str, channel: str, language: str, data: TemplateInput
) -> Preview:
    """The text filled with the kind's sample values, and what saving it would refuse."""
    _known(kind, channel, language)
    values = sample_values(kind, platform.settings.public_url, language)
    return Preview(
        subject=None
        if channel == Channel.SMS
        else Template(data.subject or "").safe_substitute(values),
        body=Template(data.body).safe_substitute(values),
        problems=check_text(kind, channel, data.subject, data.body),
    )
