"""Finding mentors: search, the onboarding quiz and matches."""
