-- A member's audit trail on the staff console lists what they did as well as what was
-- done to them: rows by actor, not only by target.
CREATE INDEX audit_log_actor ON audit_log (actor_id, position) WHERE actor_id IS NOT NULL;
