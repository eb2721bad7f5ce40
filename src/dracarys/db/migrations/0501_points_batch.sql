-- Batch posting: many awards in one round trip. Each item goes through the same
-- points_post_entry as a single award; items are taken in user order so concurrent
-- batches lock balance rows in one fixed order. Denials (cap reached, earning frozen)
-- are recorded under the award's key, as for single awards.
CREATE FUNCTION points_post_entries(
    p_items jsonb, p_at timestamptz, p_velocity_limit bigint, p_velocity_since timestamptz,
    p_tier_since timestamptz)
RETURNS TABLE (idx integer, status text, entry_id uuid, posted bigint, balance_after bigint,
               earned_in_window bigint, tier text)
LANGUAGE plpgsql AS $$
DECLARE
    v_item record;
    r record;
BEGIN
    FOR v_item IN
        SELECT (e.ordinality - 1)::integer AS i, e.value AS v
        FROM jsonb_array_elements(p_items) WITH ORDINALITY AS e(value, ordinality)
        ORDER BY e.value->>'user_id', e.ordinality
    LOOP
        SELECT * INTO r FROM points_post_entry(
            (v_item.v->>'user_id')::uuid, (v_item.v->>'delta')::bigint, v_item.v->>'reason',
            v_item.v->>'category', v_item.v->>'related', v_item.v->>'rule_code',
            (v_item.v->>'rule_version')::integer, v_item.v->>'key', v_item.v->>'source_ip',
            p_at, coalesce(v_item.v->'caps', '[]'::jsonb), true, true,
            p_velocity_limit, p_velocity_since, p_tier_since);
        IF r.status IN ('capped', 'frozen', 'frozen_velocity') THEN
            INSERT INTO points_denials (id, user_id, rule_code, rule_version, related_entity,
                                        points, reason, idempotency_key, created_at)
            VALUES (gen_random_uuid(), (v_item.v->>'user_id')::uuid, v_item.v->>'rule_code',
                    (v_item.v->>'rule_version')::integer, v_item.v->>'related',
                    (v_item.v->>'delta')::bigint, r.status, v_item.v->>'key', p_at)
            ON CONFLICT (idempotency_key) DO NOTHING;
        END IF;
        idx := v_item.i;
        status := r.status;
        entry_id := r.entry_id;
        posted := r.posted;
        balance_after := r.balance_after;
        earned_in_window := r.earned_in_window;
        tier := r.tier;
        RETURN NEXT;
    END LOOP;
END;
$$;
