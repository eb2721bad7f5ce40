"""Discount codes: a payment instrument a buyer spends on part of a price. One model for
promo codes admins issue (percent or fixed, a validity window, total and per-member
limits, some kinds of purchase only) and the codes the wallet issues for what bought them
(points converted to a discount: a fixed amount its owner uses once). A code is used
inside the purchase's own transaction, under its row lock, so limits hold under
concurrency."""
