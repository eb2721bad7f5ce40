"""Calendar sync: ICS invitations and private iCal feeds."""
