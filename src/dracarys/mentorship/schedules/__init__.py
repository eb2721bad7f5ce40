"""A mentor's offer: availability schedules, session types and the slots they open."""
