"""The e-mails and SMS identity sends: verification, password reset, KYC decisions, account
suspension."""

from __future__ import annotations

from dracarys.messaging import EmailTemplate, SmsTemplate

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
