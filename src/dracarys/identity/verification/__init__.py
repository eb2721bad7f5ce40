"""Proving an address: the e-mail verification link and the SMS code for a phone number
(each verified one raises the KYC level when both are)."""
