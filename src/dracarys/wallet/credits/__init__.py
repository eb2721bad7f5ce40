"""Credit the platform gives: redeemed points landing in a wallet, and mentors' monthly
bonuses."""
