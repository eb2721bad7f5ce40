"""Badges (milestones, each once per user), daily learning streaks counted in each user's
own time zone, and the weekly, monthly and season leaderboards."""
