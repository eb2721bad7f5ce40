"""Topics identity emits (payload ids are strings). What it consumes is mentorship's
(`session.rated`, `session.attended`; see `consumers.py`)."""

from __future__ import annotations

USER_SIGNED_UP = "user.signed_up"  # {user_id}
USER_EMAIL_VERIFIED = "user.email_verified"  # {user_id}
USER_PHONE_VERIFIED = "user.phone_verified"  # {user_id}
PROFILE_COMPLETED = "profile.completed"  # {user_id}
KYC_APPROVED = "kyc.approved"  # {user_id, level}
KYC_REJECTED = "kyc.rejected"  # {user_id, document_id, doc_type, reason}
USER_LOGGED_IN = "user.logged_in"  # {user_id, source_ip}
USER_BANNED = "user.banned"  # {user_id}
USER_ROLE_CHANGED = "user.role_changed"  # {user_id, role}
