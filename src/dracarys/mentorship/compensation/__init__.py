"""A mentor's compensation: their contract's share and the monthly bonus figures."""
