"""The e-mails and SMS identity sends: verification, password reset, KYC decisions, account
suspension."""

from __future__ import annotations

from typing import TypeVar

from dracarys.messaging import EmailTemplate, SmsTemplate

_Template = TypeVar("_Template", EmailTemplate, SmsTemplate)

_FOOTER_TEXT = "\n\n— The Dracarys team\n"
_FOOTER_HTML = "<p>— The Dracarys team</p>"

VERIFY_EMAIL = EmailTemplate(
    name="verify_email",
    subject="Confirm your e-mail address for Dracarys",
    text="Hello $name,\n\nconfirm your e-mail address by opening this link "
    "(valid for $hours hours, once):\n\n$link\n\n"
    "If you did not sign up, ignore this message." + _FOOTER_TEXT,
    html="<p>Hello $name,</p><p>confirm your e-mail address by opening this link "
    '(valid for $hours hours, once):</p><p><a href="$link">$link</a></p>'
    "<p>If you did not sign up, ignore this message.</p>" + _FOOTER_HTML,
)
PASSWORD_RESET = EmailTemplate(
    name="password_reset",
    subject="Reset your Dracarys password",
    text="Hello $name,\n\nsomeone (we hope you) asked to reset the password of your "
    "Dracarys account. Choose a new one by opening this link (valid for $minutes "
    "minutes, once):\n\n$link\n\n"
    "If you did not ask, ignore this message: your password stays as it is." + _FOOTER_TEXT,
    html="<p>Hello $name,</p><p>someone (we hope you) asked to reset the password of your "
    "Dracarys account. Choose a new one by opening this link (valid for $minutes minutes, "
    'once):</p><p><a href="$link">$link</a></p>'
    "<p>If you did not ask, ignore this message: your password stays as it is.</p>" + _FOOTER_HTML,
)
PASSWORD_CHANGED = EmailTemplate(
    name="password_changed",
    subject="Your Dracarys password was changed",
    text="Hello $name,\n\nthe password of your Dracarys account was just reset, and every "
    "device signed in to it was signed out.\n\nIf this was not you, reset your password "
    "again at $forgot_link and tell us." + _FOOTER_TEXT,
    html="<p>Hello $name,</p><p>the password of your Dracarys account was just reset, and "
    "every device signed in to it was signed out.</p><p>If this was not you, "
    '<a href="$forgot_link">reset your password again</a> and tell us.</p>' + _FOOTER_HTML,
)
KYC_APPROVED = EmailTemplate(
    name="kyc_approved",
    subject="Your $document was approved",
    text="Hello $name,\n\nyour $document was approved. Your verification level is "
    "now $level." + _FOOTER_TEXT,
    html="<p>Hello $name,</p><p>your $document was approved. Your verification level "
    "is now $level.</p>" + _FOOTER_HTML,
)
KYC_REJECTED = EmailTemplate(
    name="kyc_rejected",
    subject="Your $document could not be accepted",
    text="Hello $name,\n\nwe could not accept your $document.\nReason: $reason\n\n"
    "You can upload a new one on your verification page: $link" + _FOOTER_TEXT,
    html="<p>Hello $name,</p><p>we could not accept your $document.</p>"
    '<p>Reason: $reason</p><p>You can upload a new one on your <a href="$link">'
    "verification page</a>.</p>" + _FOOTER_HTML,
)
ACCOUNT_BANNED = EmailTemplate(
    name="account_banned",
    subject="Your Dracarys account has been suspended",
    text="Hello $name,\n\nyour account has been suspended.\nReason: $reason" + _FOOTER_TEXT,
)
PHONE_CODE = SmsTemplate(
    name="phone_code",
    text="Your Dracarys verification code is $code. It expires in $minutes minutes.",
)

# ---- Swahili ---------------------------------------------------------------------------
# The same mails for people who chose Swahili on their account page (Kenya first): each
# keeps its English twin's name (messages are listed by it) and placeholders.

_FOOTER_TEXT_SW = "\n\n— Timu ya Dracarys\n"
_FOOTER_HTML_SW = "<p>— Timu ya Dracarys</p>"

SWAHILI: dict[str, EmailTemplate | SmsTemplate] = {
    t.name: t
    for t in (
        EmailTemplate(
            name="verify_email",
            subject="Thibitisha anwani yako ya barua pepe ya Dracarys",
            text="Habari $name,\n\nthibitisha anwani yako ya barua pepe kwa kufungua kiungo "
            "hiki (kinatumika kwa saa $hours, mara moja):\n\n$link\n\n"
            "Kama hukujisajili, puuza ujumbe huu." + _FOOTER_TEXT_SW,
            html="<p>Habari $name,</p><p>thibitisha anwani yako ya barua pepe kwa kufungua "
            'kiungo hiki (kinatumika kwa saa $hours, mara moja):</p><p><a href="$link">'
            "$link</a></p><p>Kama hukujisajili, puuza ujumbe huu.</p>" + _FOOTER_HTML_SW,
        ),
        EmailTemplate(
            name="password_reset",
            subject="Badilisha nenosiri lako la Dracarys",
            text="Habari $name,\n\nmtu (tunatumaini ni wewe) ameomba kubadilisha nenosiri la "
            "akaunti yako ya Dracarys. Chagua jipya kwa kufungua kiungo hiki (kinatumika kwa "
            "dakika $minutes, mara moja):\n\n$link\n\n"
            "Kama hukuomba, puuza ujumbe huu: nenosiri lako litabaki lilivyo." + _FOOTER_TEXT_SW,
            html="<p>Habari $name,</p><p>mtu (tunatumaini ni wewe) ameomba kubadilisha "
            "nenosiri la akaunti yako ya Dracarys. Chagua jipya kwa kufungua kiungo hiki "
            '(kinatumika kwa dakika $minutes, mara moja):</p><p><a href="$link">$link</a></p>'
            "<p>Kama hukuomba, puuza ujumbe huu: nenosiri lako litabaki lilivyo.</p>"
            + _FOOTER_HTML_SW,
        ),
        EmailTemplate(
            name="password_changed",
            subject="Nenosiri lako la Dracarys limebadilishwa",
            text="Habari $name,\n\nnenosiri la akaunti yako ya Dracarys limebadilishwa sasa "
            "hivi, na kila kifaa kilichoingia kimetolewa.\n\nKama si wewe, badilisha "
            "nenosiri lako tena kupitia $forgot_link na utuambie." + _FOOTER_TEXT_SW,
            html="<p>Habari $name,</p><p>nenosiri la akaunti yako ya Dracarys limebadilishwa "
            "sasa hivi, na kila kifaa kilichoingia kimetolewa.</p><p>Kama si wewe, "
            '<a href="$forgot_link">badilisha nenosiri lako tena</a> na utuambie.</p>'
            + _FOOTER_HTML_SW,
        ),
        EmailTemplate(
            name="kyc_approved",
            subject="Hati yako ($document) imekubaliwa",
            text="Habari $name,\n\nhati yako ($document) imekubaliwa. Kiwango chako cha "
            "uthibitisho sasa ni $level." + _FOOTER_TEXT_SW,
            html="<p>Habari $name,</p><p>hati yako ($document) imekubaliwa. Kiwango chako cha "
            "uthibitisho sasa ni $level.</p>" + _FOOTER_HTML_SW,
        ),
        EmailTemplate(
            name="kyc_rejected",
            subject="Hati yako ($document) haikuweza kukubaliwa",
            text="Habari $name,\n\nhatukuweza kukubali hati yako ($document).\nSababu: $reason\n\n"
            "Unaweza kupakia nyingine kwenye ukurasa wako wa uthibitisho: $link" + _FOOTER_TEXT_SW,
            html="<p>Habari $name,</p><p>hatukuweza kukubali hati yako ($document).</p>"
            '<p>Sababu: $reason</p><p>Unaweza kupakia nyingine kwenye <a href="$link">'
            "ukurasa wako wa uthibitisho</a>.</p>" + _FOOTER_HTML_SW,
        ),
        EmailTemplate(
            name="account_banned",
            subject="Akaunti yako ya Dracarys imesimamishwa",
            text="Habari $name,\n\nakaunti yako imesimamishwa.\nSababu: $reason" + _FOOTER_TEXT_SW,
        ),
        SmsTemplate(
            name="phone_code",
            text="Nambari yako ya uthibitisho ya Dracarys ni $code. Itaisha baada ya dakika "
            "$minutes.",
        ),
    )
}


def in_language(template: _Template, language: str) -> _Template:
    """`template` as written for readers of `language` (English when there is no such
    version)."""
    if language == "sw":
        translated = SWAHILI.get(template.name)
        if isinstance(translated, type(template)):
            return translated
    return template
