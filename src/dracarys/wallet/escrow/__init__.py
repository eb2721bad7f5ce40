"""Escrow for mentorship payments: holds, releases with the mentor's split and holdback,
refunds, disputes and their resolution, and the share a mentor's contract gives them."""
