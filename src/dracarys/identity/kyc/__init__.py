"""Know-your-customer: identity documents (sealed at rest), the reviewers' queue, the
KYC level (1: e-mail and phone verified; 2: a government ID approved; 3: plus a proof of
address), and the tiers as data: what each level needs and unlocks (`tiers.py`)."""
