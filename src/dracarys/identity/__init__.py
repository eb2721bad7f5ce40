"""Identity and access: accounts, roles, sessions, tokens, KYC, profiles, audit.

Other domains read a user's e-mail, name and phone here (they are sealed at rest):
`contact_of` for one user, `contacts_of` and `display_names` for a page of them."""

from dracarys.identity.models import Contact
from dracarys.identity.personal import contact_of, contacts_of, display_names

__all__ = ["Contact", "contact_of", "contacts_of", "display_names"]
