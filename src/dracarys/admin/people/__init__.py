"""The staff console's people area: finding members (by e-mail through identity's blind
index, or by id) and the queue of mentors waiting to be vetted, each with their name.
Every change to an account goes through identity's own staff routes; this area only reads
what identity's public surface gives."""
