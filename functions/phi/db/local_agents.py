"""Local agent fleet: one row per (agent, host), updated by heartbeats."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from phi.db.connection import DbConnection

# The most a fleet listing returns (an agent keeps at most 50 hosts: phi.api.routers.local_agents).
MAX_LISTED = 1000

# A local agent whose key was revoked is OFFLINE at once: it is refused from then on and stops at its next
# heartbeat, and until its last heartbeat aged it read as online.
_STATUS = """CASE
    WHEN la.last_heartbeat_at IS NULL THEN 'ENROLLED'
    WHEN la.reported_status = 'OFFLINE' OR k.revoked_at IS NOT NULL THEN 'OFFLINE'
    WHEN la.last_heartbeat_at < now() - make_interval(secs => 3 * la.heartbeat_seconds) THEN 'OFFLINE'
    ELSE 'ONLINE' END"""


def record_heartbeat(
    conn: DbConnection, *, agent_id: UUID, org_id: UUID, key_id: UUID, beat: dict[str, Any], interval: int
) -> None:
    conn.execute(
        """INSERT INTO local_agents (agent_id, org_id, key_id, host, pid, version, os, tools, reported_status,
                                     stats, last_error, heartbeat_seconds, last_heartbeat_at)
           VALUES (%(agent_id)s, %(org_id)s, %(key_id)s, %(host)s, %(pid)s, %(version)s, %(os)s, %(tools)s,
                   %(status)s, %(stats)s, %(last_error)s, %(interval)s, now())
           ON CONFLICT (agent_id, host) DO UPDATE SET
             key_id = EXCLUDED.key_id, pid = EXCLUDED.pid, version = EXCLUDED.version, os = EXCLUDED.os,
             tools = EXCLUDED.tools, reported_status = EXCLUDED.reported_status, stats = EXCLUDED.stats,
             last_error = EXCLUDED.last_error, heartbeat_seconds = EXCLUDED.heartbeat_seconds,
             last_heartbeat_at = now()""",
        {
            "agent_id": agent_id,
            "org_id": org_id,
            "key_id": key_id,
            "host": beat["host"],
            "pid": beat.get("pid"),
            "version": beat.get("version"),
            "os": beat.get("os"),
            "tools": Jsonb(beat.get("tools", [])),
            "status": beat["status"],
            "stats": Jsonb(
                {k: beat.get(k) for k in ("uptime_seconds", "cpu_percent", "memory_mb") if beat.get(k) is not None}
            ),
            "last_error": beat.get("last_error"),
            "interval": interval,
        },
    )


def keep_latest_hosts(conn: DbConnection, agent_id: UUID, org_id: UUID, keep: int) -> None:
    """Forgets the agent's hosts beyond the `keep` most recently heard from."""
    conn.execute(
        """DELETE FROM local_agents WHERE id IN (
             SELECT id FROM local_agents WHERE agent_id = %s AND org_id = %s
             ORDER BY last_heartbeat_at DESC NULLS LAST, created_at DESC OFFSET %s)""",
        (agent_id, org_id, keep),
    )


def list_local_agents(conn: DbConnection, org_id: UUID, agent_id: UUID | None = None) -> list[dict[str, Any]]:
    """The organisation's local agents (one agent's, with `agent_id`), but those of a deleted agent: its keys are
    revoked and its queue gone, so a process still running there serves nothing (and would read as online until
    its last heartbeat ages)."""
    return conn.execute(
        f"""SELECT la.id, la.agent_id, la.host, la.pid, la.version, la.os, la.tools, la.stats,
                   CASE WHEN k.revoked_at IS NOT NULL THEN 'its agent key was revoked' ELSE la.last_error END
                     AS last_error,
                   la.last_heartbeat_at, la.heartbeat_seconds, {_STATUS} AS status
            FROM local_agents la JOIN agents a ON a.id = la.agent_id AND a.org_id = la.org_id
            LEFT JOIN agent_keys k ON k.id = la.key_id AND k.org_id = la.org_id
            WHERE la.org_id = %s AND (%s::uuid IS NULL OR la.agent_id = %s::uuid) AND a.status <> 'DELETED'
            ORDER BY la.created_at LIMIT %s""",
        (org_id, agent_id, agent_id, MAX_LISTED),
    ).fetchall()
