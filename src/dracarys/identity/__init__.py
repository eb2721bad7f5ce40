"""Identity and access: accounts, roles, sessions, tokens, KYC, profiles, audit."""
