-- Premium groups renew each 30-day period from the wallet, as paid signal feeds do, until
-- the member stops it: the flag rides on their membership (a lapsed member's row goes).
ALTER TABLE community_space_members
    ADD COLUMN auto_renew boolean NOT NULL DEFAULT true;
