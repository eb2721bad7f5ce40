"""Affiliates: applications, an admin's approval with terms, commissions on the platform's
fee from referred members' payments, and the dashboard (see `service`)."""
