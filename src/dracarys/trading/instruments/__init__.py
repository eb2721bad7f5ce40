"""The instruments registry: what a symbol is and how and when it trades."""
