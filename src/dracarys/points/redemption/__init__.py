"""Redemption: points spent on a discount, merch, a course unlock, wallet credit or
mentor credit. The cash-like ones need KYC level 2 and wait out a hold; after it the
wallet is asked (`points.redeemed_for_credit`) to credit them and answers
(`points.credit_landed`)."""
