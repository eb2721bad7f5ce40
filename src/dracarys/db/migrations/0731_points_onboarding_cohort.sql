-- The blueprint's onboarding flow (§8) rewards joining the onboarding cohort with points:
-- once per member, whichever onboarding cohort they join.

INSERT INTO points_rules
    (code, version, title, description, topic, kind, points, params, scope, category,
     daily_limit, monthly_limit, pending, min_kyc_level)
VALUES
    ('onboarding_cohort_joined', 1, 'Join the onboarding cohort', 'Once.',
     'onboarding.cohort_joined', 'fixed', 50, '{}', 'once', 'learning', NULL, NULL, false, 0);
