-- Operational alerts for staff (dracarys.admin.alerts): what the detectors raised (one row
-- per dedupe key, so a redelivered event or a second hourly run raises nothing new), and
-- what the detectors remember between events: each account's sign-in devices and
-- networks, failed sign-ins per network, and points issued per hour.

CREATE TABLE staff_alerts (
    id               uuid PRIMARY KEY,
    kind             text NOT NULL CHECK (kind IN ('chargeback', 'payout_failed',
                                                   'suspicious_sign_in', 'failed_login_burst',
                                                   'points_issuance')),
    severity         text NOT NULL CHECK (severity IN ('warning', 'critical')),
    -- Who or what it is about: a member's id, a network, an hour.
    subject          text NOT NULL,
    user_id          uuid REFERENCES users (id),
    summary          text NOT NULL,
    details          jsonb NOT NULL,
    -- The event id, or the network and window, or the hour: the same cause, one alert.
    dedupe_key       text NOT NULL UNIQUE,
    raised_at        timestamptz NOT NULL,
    acknowledged_at  timestamptz,
    acknowledged_by  uuid REFERENCES users (id),
    CHECK ((acknowledged_at IS NULL) = (acknowledged_by IS NULL))
);
CREATE INDEX staff_alerts_newest ON staff_alerts (raised_at DESC);
CREATE INDEX staff_alerts_unacknowledged ON staff_alerts (raised_at DESC)
    WHERE acknowledged_at IS NULL;
CREATE INDEX staff_alerts_kind_subject ON staff_alerts (kind, subject, raised_at);

-- Each (device label, network) an account signed in from; a device or a network is known
-- when any row of the account has it.
CREATE TABLE staff_alert_sign_ins (
    user_id        uuid NOT NULL REFERENCES users (id),
    device         text NOT NULL,
    network        text NOT NULL,
    first_seen_at  timestamptz NOT NULL,
    last_seen_at   timestamptz NOT NULL,
    PRIMARY KEY (user_id, device, network)
);
CREATE INDEX staff_alert_sign_ins_network ON staff_alert_sign_ins (user_id, network);

-- Failed sign-ins (identity's `user.login_failed`), one row per event; `account_key` is
-- identity's blind index of the e-mail typed, known account or not.
CREATE TABLE staff_alert_failed_logins (
    event_id     uuid PRIMARY KEY,
    network      text NOT NULL,
    account_key  text NOT NULL,
    failed_at    timestamptz NOT NULL
);
CREATE INDEX staff_alert_failed_logins_network ON staff_alert_failed_logins (network, failed_at);

-- Points issued (positive awards) per UTC hour, tallied from `points.awarded` exactly once
-- per event (the consumer's processed_events row commits with the tally).
CREATE TABLE staff_alert_points_hourly (
    hour    timestamptz PRIMARY KEY,  -- the start of the hour, truncated by the service
    points  bigint NOT NULL CHECK (points >= 0),
    awards  integer NOT NULL CHECK (awards >= 0)
);
