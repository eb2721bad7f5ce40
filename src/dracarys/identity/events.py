"""Topics identity emits and consumes (payload ids are strings)."""

from __future__ import annotations

USER_SIGNED_UP = "user.signed_up"  # {user_id}
USER_EMAIL_VERIFIED = "user.email_verified"  # {user_id}
USER_PHONE_VERIFIED = "user.phone_verified"  # {user_id}
PROFILE_COMPLETED = "profile.completed"  # {user_id}
KYC_APPROVED = "kyc.approved"  # {user_id, level}
KYC_REJECTED = "kyc.rejected"  # {user_id, document_id, doc_type, reason}
USER_LOGGED_IN = "user.logged_in"  # {user_id, source_ip}
USER_BANNED = "user.banned"  # {user_id}
# {user_id}; every session of the user was ended with the reset.
USER_PASSWORD_RESET = "user.password_reset"  # noqa: S105 - a topic, not a secret
USER_ROLE_CHANGED = "user.role_changed"  # {user_id, role}

# Consumed from mentorship.
SESSION_RATED = "session.rated"  # {session_id, rater_id, rated_id, rating}
SESSION_ATTENDED = "session.attended"  # {session_id, mentor_id, mentee_id}
