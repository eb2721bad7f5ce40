"""The audit log: append-only in the database, hash-chained, and `dracarys audit verify`
catches an edited, a deleted and a reordered row. Tampering is done as the attacker
would: as superuser with triggers switched off."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from dracarys.db import transaction
from dracarys.identity.audit.service import _canonical, chain_hash, record_audit, verify_audit_chain
from dracarys.platform import Platform
from workers.cli import main as cli_main


async def _write_chain(pool: asyncpg.Pool, rows: int = 5) -> None:
    for i in range(rows):
        async with transaction(pool) as conn:
            await record_audit(
                conn, uuid.uuid4(), "admin.test_action", f"user:{i}", "10.0.0.7", {"n": i}
            )


async def _as_attacker(database_url: str, *statements: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("SET session_replication_role = replica")  # triggers off
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


async def test_the_database_refuses_update_delete_and_truncate(pool: asyncpg.Pool) -> None:
    await _write_chain(pool, 1)
    for statement in (
        "UPDATE audit_log SET action = 'nothing'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await pool.execute(statement)
    assert await pool.fetchval("SELECT count(*) FROM audit_log") == 1


async def test_an_untouched_chain_verifies(platform: Platform, pool: asyncpg.Pool) -> None:
    await _write_chain(pool)
    result = await verify_audit_chain(platform)
    assert result.ok
    assert result.rows_checked == 5


async def test_concurrent_appends_keep_one_unbroken_chain(
    platform: Platform, pool: asyncpg.Pool
) -> None:
    async def append(i: int) -> None:
        async with transaction(pool) as conn:
            await record_audit(conn, None, "auth.login", f"user:{i}", None, {})

    await asyncio.gather(*(append(i) for i in range(30)))
    result = await verify_audit_chain(platform)
    assert result.ok
    assert result.rows_checked == 30


async def test_an_edited_row_is_detected(
    platform: Platform, pool: asyncpg.Pool, database_url: str
) -> None:
    await _write_chain(pool)
    await _as_attacker(
        database_url, "UPDATE audit_log SET source_ip = '1.2.3.4' WHERE position = 3"
    )
    result = await verify_audit_chain(platform)
    assert not result.ok
    assert any("position 3" in p and "edited" in p for p in result.problems)


async def test_a_deleted_row_is_detected(
    platform: Platform, pool: asyncpg.Pool, database_url: str
) -> None:
    await _write_chain(pool)
    await _as_attacker(database_url, "DELETE FROM audit_log WHERE position = 2")
    result = await verify_audit_chain(platform)
    assert not result.ok
    assert any("missing" in p for p in result.problems)


async def test_reordered_rows_are_detected(
    platform: Platform, pool: asyncpg.Pool, database_url: str
) -> None:
    await _write_chain(pool)
    # Swap rows 2 and 4 (positions exchanged, contents kept).
    await _as_attacker(
        database_url,
        "UPDATE audit_log SET position = -2 WHERE position = 2",
        "UPDATE audit_log SET position = 2 WHERE position = 4",
        "UPDATE audit_log SET position = 4 WHERE position = -2",
    )
    result = await verify_audit_chain(platform)
    assert not result.ok
    assert any("position 2" in p for p in result.problems)


async def test_an_attacker_who_recomputes_one_hash_still_breaks_the_next_link(
    platform: Platform, pool: asyncpg.Pool, database_url: str
) -> None:
    await _write_chain(pool)
    row = await pool.fetchrow("SELECT * FROM audit_log WHERE position = 3")
    canonical = _canonical(
        position=3,
        entry_id=row["id"],
        occurred_at=row["occurred_at"],
        actor_id=row["actor_id"],
        action="admin.nothing_happened",
        target=row["target"],
        source_ip=row["source_ip"],
        details=row["details"],
    )
    new_hash = chain_hash(bytes(row["prev_hash"]), canonical)
    await _as_attacker(
        database_url,
        f"UPDATE audit_log SET action = 'admin.nothing_happened', hash = '\\x{new_hash.hex()}' "
        "WHERE position = 3",
    )
    result = await verify_audit_chain(platform)
    assert not result.ok
    assert any("position 4" in p for p in result.problems)


async def _cli(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    database_url: str,
    tmp_path: object,
    *extra: str,
) -> tuple[int, str, str]:
    """Run `dracarys audit verify` (the real entry point, its own event loop) in a thread."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("DRACARYS_SECRET_KEY", "cli-secret-" + "z" * 32)
    monkeypatch.setenv("DRACARYS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DRACARYS_LOG_LEVEL", "ERROR")
    code = await asyncio.to_thread(cli_main, ["audit", "verify", *extra])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


async def test_cli_audit_verify_exits_zero_then_one_after_tampering(
    pool: asyncpg.Pool,
    database_url: str,
    tmp_path: object,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await _write_chain(pool, 3)
    code, out, _ = await _cli(monkeypatch, capsys, database_url, tmp_path)
    assert code == 0
    assert "3 rows" in out
    await _as_attacker(database_url, "DELETE FROM audit_log WHERE position = 2")
    code, _, err = await _cli(monkeypatch, capsys, database_url, tmp_path)
    assert code == 1
    assert "missing" in err


async def test_rows_cut_off_the_end_are_caught_against_a_recorded_head(
    platform: Platform, pool: asyncpg.Pool, database_url: str
) -> None:
    await _write_chain(pool, 4)
    recorded = await verify_audit_chain(platform)
    assert recorded.head is not None
    assert recorded.head.startswith("4:")
    assert (await verify_audit_chain(platform, expected_head=recorded.head)).ok
    await _as_attacker(database_url, "DELETE FROM audit_log WHERE position >= 3")
    # The chain that remains is self-consistent: only the recorded head shows the cut.
    assert (await verify_audit_chain(platform)).ok
    result = await verify_audit_chain(platform, expected_head=recorded.head)
    assert not result.ok
    assert any("cut off the end" in p for p in result.problems)


async def test_cli_checks_the_recorded_head(
    pool: asyncpg.Pool,
    database_url: str,
    tmp_path: object,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await _write_chain(pool, 2)
    code, out, _ = await _cli(monkeypatch, capsys, database_url, tmp_path)
    head = out.strip().splitlines()[-1].rsplit(" ", 1)[-1]
    await _as_attacker(database_url, "DELETE FROM audit_log WHERE position = 2")
    code, _, err = await _cli(monkeypatch, capsys, database_url, tmp_path, "--expect-head", head)
    assert code == 1
    assert "cut off the end" in err
