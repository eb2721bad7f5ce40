-- Mentor credit bought with points (blueprint 2.6: 1:1 mentor credits) pays for mentor
-- sessions only: when a mentor-credit redemption's hold ends, the wallet issues it as a
-- code that a session booking can spend and nothing else can (a plain wallet credit could
-- be withdrawn or spent on anything).
ALTER TABLE discount_codes
    ADD COLUMN pays_for text NOT NULL DEFAULT 'anything' CHECK (pays_for IN ('anything', 'sessions'));
