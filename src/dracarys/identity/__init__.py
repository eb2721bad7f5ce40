"""Identity and access: accounts, roles, sessions, tokens, KYC, profiles, audit.

Other domains read a user's e-mail, name and phone here (they are sealed at rest):
`contact_of` for one user, `contacts_of` and `display_names` for a page of them; and an
account's role, status and KYC level through `account_of` and `accounts_of`."""

from dracarys.identity.accounts import (
    Account,
    LiveSession,
    account_of,
    accounts_of,
    active_accounts_with_role,
    last_sign_ins,
    live_sessions,
    profile_timezones,
)
from dracarys.identity.models import Contact
from dracarys.identity.personal import contact_of, contacts_of, display_names

__all__ = [
    "Account",
    "Contact",
    "LiveSession",
    "account_of",
    "accounts_of",
    "active_accounts_with_role",
    "contact_of",
    "contacts_of",
    "display_names",
    "last_sign_ins",
    "live_sessions",
    "profile_timezones",
]
