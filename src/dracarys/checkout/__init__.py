"""Checkout: what a purchase would charge, shown before anything is: the item's price
(from the domain that sells it), what a discount code takes off and the points that could
buy one or a promo code (wallet; points), the VAT the invoice will show and what the wallet holds
(wallet), and the refund policy the item is
sold under. A quote reads only: the purchase itself is the selling domain's call, which
spends the code and takes the money in one transaction.

The routes are `dracarys.checkout.api.ROUTES`, mounted by the composition root; nothing
else of checkout is for other packages."""

__all__: list[str] = []
