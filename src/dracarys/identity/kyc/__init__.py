"""Know-your-customer: identity documents (sealed at rest), the reviewers' queue, and the
KYC level (1: e-mail and phone verified; 2: a government ID approved; 3: plus a proof of
address)."""
