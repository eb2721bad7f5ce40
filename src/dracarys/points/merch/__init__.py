"""Merch bought with points: the catalogue, an order per merch redemption (placed in the
redemption's own transaction), and its fulfilment, which an admin moves; cancelling an
order that has not shipped gives the points back."""
