"""Forgotten passwords: a single-use reset link mailed to the account's address, and the
reset that sets a new password and ends every session of the account."""
