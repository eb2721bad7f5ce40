"""Charges: paying for a course, subscription, session or package from the wallet, with
its VAT invoice, and refunds of a charge back to the wallet."""
