-- AML monitoring (dracarys.admin.aml): rules as data per country, the wallet movements the
-- rules read (copied from the wallet's events, one row per event), alerts the rules raise
-- (one per rule and event, so a redelivered event raises none), cases reviewers work, and
-- each case's timeline.

CREATE TABLE aml_rules (
    id          uuid PRIMARY KEY,
    -- ISO 3166-1 alpha-2, or '*' for the rules of every country without its own.
    country     text NOT NULL CHECK (country = '*' OR country ~ '^[A-Z]{2}$'),
    kind        text NOT NULL CHECK (kind IN ('threshold', 'structuring', 'velocity',
                                              'deposit_then_withdraw')),
    -- Each kind's parameters (amounts in minor units of `currency`), validated by the service.
    parameters  jsonb NOT NULL,
    currency    text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    action      text NOT NULL CHECK (action IN ('alert', 'alert_and_hold')),
    enabled     boolean NOT NULL DEFAULT true,
    updated_at  timestamptz NOT NULL,
    updated_by  uuid REFERENCES users (id),
    UNIQUE (country, kind, currency)
);

CREATE TABLE aml_movements (
    event_id      uuid PRIMARY KEY,
    user_id       uuid NOT NULL REFERENCES users (id),
    -- deposit: money in; withdrawal: a withdrawal asked for; spend: the wallet paid for
    -- something (the activity that makes a deposit more than a pass-through).
    kind          text NOT NULL CHECK (kind IN ('deposit', 'withdrawal', 'spend')),
    reference     text NOT NULL,
    amount_minor  bigint NOT NULL CHECK (amount_minor >= 0),
    currency      text NOT NULL,
    method        text,
    occurred_at   timestamptz NOT NULL
);
CREATE INDEX aml_movements_user ON aml_movements (user_id, occurred_at);

CREATE TABLE aml_cases (
    id            uuid PRIMARY KEY,
    user_id       uuid NOT NULL REFERENCES users (id),
    status        text NOT NULL CHECK (status IN ('open', 'escalated', 'cleared', 'reported')),
    holds_withdrawals boolean NOT NULL,
    assignee_id   uuid REFERENCES users (id),
    opened_at     timestamptz NOT NULL,
    decided_at    timestamptz,
    decided_by    uuid REFERENCES users (id),
    decision_note text,
    report_reference text
);
-- One case under work per user: further hits join it.
CREATE UNIQUE INDEX aml_cases_one_open ON aml_cases (user_id)
    WHERE status IN ('open', 'escalated');
CREATE INDEX aml_cases_status ON aml_cases (status, opened_at);

CREATE TABLE aml_alerts (
    id              uuid PRIMARY KEY,
    rule_id         uuid NOT NULL REFERENCES aml_rules (id),
    user_id         uuid NOT NULL REFERENCES users (id),
    event_id        uuid NOT NULL,
    kind            text NOT NULL,
    country         text NOT NULL,
    action          text NOT NULL,
    summary         text NOT NULL,
    details         jsonb NOT NULL,
    case_id         uuid REFERENCES aml_cases (id),
    raised_at       timestamptz NOT NULL,
    acknowledged_at timestamptz,
    acknowledged_by uuid REFERENCES users (id),
    UNIQUE (rule_id, event_id)
);
CREATE INDEX aml_alerts_user ON aml_alerts (user_id, rule_id, raised_at);
CREATE INDEX aml_alerts_raised ON aml_alerts (raised_at DESC);

CREATE TABLE aml_case_entries (
    id         uuid PRIMARY KEY,
    -- The timeline's order: entries of one transaction share their time.
    seq        bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    case_id    uuid NOT NULL REFERENCES aml_cases (id),
    -- opened, alert, note, assigned, cleared, escalated, reported
    kind       text NOT NULL,
    actor_id   uuid REFERENCES users (id),
    body       text NOT NULL,
    at         timestamptz NOT NULL
);
CREATE INDEX aml_case_entries_case ON aml_case_entries (case_id, seq);

-- Kenya (KES; the Proceeds of Crime and Anti-Money Laundering Act's cash threshold is
-- the equivalent of USD 10,000, about KES 1,000,000) and the default for every other
-- country (or a member whose country we do not know), in both currencies the wallet holds.
INSERT INTO aml_rules (id, country, kind, parameters, currency, action, enabled, updated_at) VALUES
 ('6a1b0000-0000-4000-8000-000000000001', 'KE', 'threshold',
  '{"amount_minor": 100000000, "window_hours": 24, "kyc_level": 3}', 'KES', 'alert_and_hold', true, now()),
 ('6a1b0000-0000-4000-8000-000000000002', 'KE', 'structuring',
  '{"threshold_minor": 10000000, "below_pct": 10, "count": 5, "window_hours": 24}', 'KES', 'alert_and_hold', true, now()),
 ('6a1b0000-0000-4000-8000-000000000003', 'KE', 'velocity',
  '{"max_count": 10, "max_amount_minor": 200000000, "window_hours": 24}', 'KES', 'alert', true, now()),
 ('6a1b0000-0000-4000-8000-000000000004', 'KE', 'deposit_then_withdraw',
  '{"window_hours": 72, "min_share_pct": 80}', 'KES', 'alert_and_hold', true, now()),
 ('6a1b0000-0000-4000-8000-000000000005', '*', 'threshold',
  '{"amount_minor": 1000000, "window_hours": 24, "kyc_level": 3}', 'USD', 'alert_and_hold', true, now()),
 ('6a1b0000-0000-4000-8000-000000000006', '*', 'structuring',
  '{"threshold_minor": 100000, "below_pct": 10, "count": 5, "window_hours": 24}', 'USD', 'alert_and_hold', true, now()),
 ('6a1b0000-0000-4000-8000-000000000007', '*', 'velocity',
  '{"max_count": 10, "max_amount_minor": 2000000, "window_hours": 24}', 'USD', 'alert', true, now()),
 ('6a1b0000-0000-4000-8000-000000000008', '*', 'deposit_then_withdraw',
  '{"window_hours": 72, "min_share_pct": 80}', 'USD', 'alert_and_hold', true, now()),
 ('6a1b0000-0000-4000-8000-000000000009', '*', 'threshold',
  '{"amount_minor": 100000000, "window_hours": 24, "kyc_level": 3}', 'KES', 'alert_and_hold', true, now()),
 ('6a1b0000-0000-4000-8000-00000000000a', '*', 'structuring',
  '{"threshold_minor": 10000000, "below_pct": 10, "count": 5, "window_hours": 24}', 'KES', 'alert_and_hold', true, now()),
 ('6a1b0000-0000-4000-8000-00000000000b', '*', 'velocity',
  '{"max_count": 10, "max_amount_minor": 200000000, "window_hours": 24}', 'KES', 'alert', true, now()),
 ('6a1b0000-0000-4000-8000-00000000000c', '*', 'deposit_then_withdraw',
  '{"window_hours": 72, "min_share_pct": 80}', 'KES', 'alert_and_hold', true, now());
