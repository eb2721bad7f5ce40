"""Discount codes: a payment instrument a buyer spends on part of a price, issued by the
wallet for what bought it (points converted to a discount) and spent once, by its owner,
inside the purchase's own transaction."""
