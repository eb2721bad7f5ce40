"""Profiles and reputation: the public and private profile, mentor profiles, ratings,
endorsements and the reputation score, and the admin actions on accounts."""
