"""Identity and access: accounts, roles, sessions, tokens, KYC, profiles, audit.

Other domains read a user's e-mail, name and phone here (they are sealed at rest):
`contact_of` for one user, `contacts_of` and `display_names` for a page of them; and an
account's role, status and KYC level through `account_of` and `accounts_of`; the vetted
mentors discovery lists through `listed_mentors`; a profile's zone through `timezone_of`."""

from dracarys.identity.accounts import (
    Account,
    LiveSession,
    MentorListing,
    account_of,
    accounts_of,
    active_accounts_with_role,
    last_sign_ins,
    listed_mentors,
    live_sessions,
    profile_timezones,
    rating_with_prior,
    timezone_of,
)
from dracarys.identity.models import Contact
from dracarys.identity.personal import contact_of, contacts_of, display_names

__all__ = [
    "Account",
    "Contact",
    "LiveSession",
    "MentorListing",
    "account_of",
    "accounts_of",
    "active_accounts_with_role",
    "contact_of",
    "contacts_of",
    "display_names",
    "last_sign_ins",
    "listed_mentors",
    "live_sessions",
    "profile_timezones",
    "rating_with_prior",
    "timezone_of",
]
