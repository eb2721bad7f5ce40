"""Identity and access: accounts, roles, sessions, tokens, two-factor and step-up, KYC,
profiles, audit. This is all of identity other code may use.

- Who is calling: `CurrentUser` (object-level checks), the route guards `authenticated`
  and `requires_role(Role....)`, and for the app `AccessMiddleware`,
  `provide_current_user` and `build_session_cache`.
- What an account is: `account_of` / `accounts_of` (role, status, KYC level, experience),
  `account_with_email` (by its blind index), `active_accounts_with_role`,
  `mentors_under_vetting` (the reviewers' queue), `live_sessions`, `last_sign_ins`;
  contact details, sealed at rest, through `contact_of`, `contacts_of` and
  `display_names`; `tax_country`; a profile's zone through `timezone_of` /
  `profile_timezones` and the language its notifications are written in through
  `profile_languages` / `language_of`, with what a KYC document is called in it
  (`document_name`); the vetted mentors discovery lists through `listed_mentors`.
- The KYC level each gated action needs: `KYC_LEVEL_TO_WITHDRAW`,
  `KYC_LEVEL_FOR_MENTOR_PAYOUTS`, `KYC_LEVEL_TO_CONVERT_POINTS`, `KYC_LEVEL_TO_SELL_SHORT`,
  `KYC_LEVEL_TO_ROUTE_TO_BROKER` (the KYC page describes the tiers from them).
- Before a high-value action: `require_step_up` (a fresh TOTP code or a step-up token;
  refusals are `StepUpRequired`).
- Security-relevant actions are recorded with `record_audit`, inside the caller's
  transaction.
- The choices a profile offers (`Specialty`, `ExperienceLevel`, `TradingStyle`,
  `SocialPlatform`, `Language`), for pages that edit one.
- Reputation's rating prior (`PRIOR_MEAN`, `PRIOR_RATINGS`, `rating_with_prior`), for
  rankings that shrink ratings the same way; the demo accounts other demo seeders build
  on.
- What other domains do inside a sign-up's transaction: a `SignupHook` receives a
  `SignupContext` (the account, the request's cookies, address and agent); the
  composition root hands the sign-up handlers their `SignupHooks`.
- The events identity writes, each a payload struct with its topic (`events.py`)."""

from dracarys.identity.access import (
    AccessMiddleware,
    CurrentUser,
    Role,
    RoleGuard,
    authenticated,
    decode_access_token,
    issue_access_token,
    provide_current_user,
    requires_role,
)
from dracarys.identity.accounts import (
    Account,
    LiveSession,
    MentorListing,
    MentorUnderVetting,
    account_of,
    account_with_email,
    accounts_of,
    active_accounts_with_role,
    language_of,
    last_sign_ins,
    listed_mentors,
    live_sessions,
    mentors_under_vetting,
    profile_languages,
    profile_timezones,
    rating_with_prior,
    timezone_of,
)
from dracarys.identity.audit.service import record_audit, verify_audit_chain
from dracarys.identity.demo import (
    DEMO_ACCOUNTS,
    DEMO_ADMIN,
    DEMO_MENTEE,
    DEMO_MENTORS,
    DEMO_REVIEWER,
    DemoAccount,
    seed_identity_demo,
)
from dracarys.identity.events import (
    KycApproved,
    KycRejected,
    ProfileCompleted,
    UserBanned,
    UserEmailVerified,
    UserLoggedIn,
    UserLoginFailed,
    UserPasswordReset,
    UserPhoneVerified,
    UserRoleChanged,
    UserSignedUp,
)
from dracarys.identity.kyc.tiers import (
    KYC_LEVEL_FOR_MENTOR_PAYOUTS,
    KYC_LEVEL_TO_CONVERT_POINTS,
    KYC_LEVEL_TO_ROUTE_TO_BROKER,
    KYC_LEVEL_TO_SELL_SHORT,
    KYC_LEVEL_TO_WITHDRAW,
    document_name,
)
from dracarys.identity.models import (
    AuditCheck,
    Contact,
    ExperienceLevel,
    Language,
    ShippingAddress,
    SocialPlatform,
    Specialty,
    TradingStyle,
)
from dracarys.identity.personal import (
    contact_of,
    contacts_of,
    display_names,
    seal_plain_personal_data,
    shipping_addresses_of,
)
from dracarys.identity.profiles.service import PRIOR_MEAN, PRIOR_RATINGS, tax_country
from dracarys.identity.session_cache import LoginSessionCache, build_session_cache
from dracarys.identity.sessions.devices import device_label
from dracarys.identity.signup_hooks import SignupContext, SignupHook, SignupHooks
from dracarys.identity.stepup import StepUpRequired, require_step_up

__all__ = [
    "DEMO_ACCOUNTS",
    "DEMO_ADMIN",
    "DEMO_MENTEE",
    "DEMO_MENTORS",
    "DEMO_REVIEWER",
    "KYC_LEVEL_FOR_MENTOR_PAYOUTS",
    "KYC_LEVEL_TO_CONVERT_POINTS",
    "KYC_LEVEL_TO_ROUTE_TO_BROKER",
    "KYC_LEVEL_TO_SELL_SHORT",
    "KYC_LEVEL_TO_WITHDRAW",
    "PRIOR_MEAN",
    "PRIOR_RATINGS",
    "AccessMiddleware",
    "Account",
    "AuditCheck",
    "Contact",
    "CurrentUser",
    "DemoAccount",
    "ExperienceLevel",
    "KycApproved",
    "KycRejected",
    "Language",
    "LiveSession",
    "LoginSessionCache",
    "MentorListing",
    "MentorUnderVetting",
    "ProfileCompleted",
    "Role",
    "RoleGuard",
    "ShippingAddress",
    "SignupContext",
    "SignupHook",
    "SignupHooks",
    "SocialPlatform",
    "Specialty",
    "StepUpRequired",
    "TradingStyle",
    "UserBanned",
    "UserEmailVerified",
    "UserLoggedIn",
    "UserLoginFailed",
    "UserPasswordReset",
    "UserPhoneVerified",
    "UserRoleChanged",
    "UserSignedUp",
    "account_of",
    "account_with_email",
    "accounts_of",
    "active_accounts_with_role",
    "authenticated",
    "build_session_cache",
    "contact_of",
    "contacts_of",
    "decode_access_token",
    "device_label",
    "display_names",
    "document_name",
    "issue_access_token",
    "language_of",
    "last_sign_ins",
    "listed_mentors",
    "live_sessions",
    "mentors_under_vetting",
    "profile_languages",
    "profile_timezones",
    "provide_current_user",
    "rating_with_prior",
    "record_audit",
    "require_step_up",
    "requires_role",
    "seal_plain_personal_data",
    "seed_identity_demo",
    "shipping_addresses_of",
    "tax_country",
    "timezone_of",
    "verify_audit_chain",
]
