"""Every route of the wallet, payments, escrow and payouts, and the providers' webhooks
(Stripe's signed JSON; Daraja's callbacks on URLs carrying a secret path token): each
sub-area's controllers, in one list the composition root mounts."""

from __future__ import annotations

from typing import Any

from dracarys.wallet.balances.api import ROUTES as BALANCES_ROUTES
from dracarys.wallet.cards.api import ROUTES as CARDS_ROUTES
from dracarys.wallet.charges.api import ROUTES as CHARGES_ROUTES
from dracarys.wallet.deposits.api import ROUTES as DEPOSITS_ROUTES
from dracarys.wallet.discounts.api import ROUTES as DISCOUNTS_ROUTES
from dracarys.wallet.escrow.api import ROUTES as ESCROW_ROUTES
from dracarys.wallet.invoices.api import ROUTES as INVOICES_ROUTES
from dracarys.wallet.payouts.api import ROUTES as PAYOUTS_ROUTES

ROUTES: list[Any] = [
    *BALANCES_ROUTES,
    *DEPOSITS_ROUTES,
    *PAYOUTS_ROUTES,
    *CHARGES_ROUTES,
    *INVOICES_ROUTES,
    *ESCROW_ROUTES,
    *CARDS_ROUTES,
    *DISCOUNTS_ROUTES,
]
