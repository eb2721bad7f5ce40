"""Login sessions: sign-in with password (and second factor) or OpenID Connect, rotating
refresh tokens with reuse detection, logout, and the live-session read behind every
authenticated request."""
