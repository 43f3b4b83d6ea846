"""Reference figures of the shift handover and the weekly incident summary, computed straight from the sample
SQLite file with SQL written here, independently of the templates' queries and table operations (literal
bounds instead of a join on the shifts table, counts instead of EXISTS, date arithmetic in Python)."""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta
from pathlib import Path
from typing import Any


def _connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def handover_reference(path: Path, day: date, shift: str) -> dict[str, Any]:
    with _connect(path) as db:
        found = db.execute(
            "SELECT starts_at, ends_at, lead, pickers_on_shift FROM shifts WHERE shift_date = ? AND shift = ?",
            (day.isoformat(), shift),
        ).fetchone()
        assert found is not None, f"no {shift} shift on {day} in the sample"
        start, end, lead, crew = found
        # open: no shipment yet, or one not gone by the handover (an order split in two parcels is open until both
        # have gone); counted once whatever its number of shipments
        open_where = """FROM orders o WHERE o.created_at < :end AND (
                          (SELECT COUNT(*) FROM shipments s WHERE s.order_id = o.order_id) >
                          (SELECT COUNT(*) FROM shipments s WHERE s.order_id = o.order_id AND s.shipped_at < :end)
                          OR NOT EXISTS (SELECT 1 FROM shipments s WHERE s.order_id = o.order_id))"""
        bounds = {"start": start, "end": end}
        backlog = db.execute(
            f"""SELECT COUNT(*), COALESCE(SUM(o.priority = 'express'), 0),
                       COALESCE(SUM(o.promised_ship_at < :end), 0), MIN(o.created_at) {open_where}""",
            bounds,
        ).fetchone()
        carriers = db.execute(
            """SELECT carrier, COUNT(*), SUM(shipped_at IS NULL OR shipped_at > promised_at),
                      SUM(shipped_at IS NULL OR shipped_at >= :end)
               FROM shipments WHERE promised_at >= :start AND promised_at < :end GROUP BY carrier""",
            bounds,
        ).fetchall()
        raised = dict(
            db.execute(
                """SELECT kind, COUNT(*) FROM shift_exceptions WHERE raised_at >= :start AND raised_at < :end
                   GROUP BY kind""",
                bounds,
            ).fetchall()
        )
        still_open = db.execute(
            """SELECT exception_id, kind FROM shift_exceptions
               WHERE raised_at < :end AND (resolved_at IS NULL OR resolved_at >= :end) ORDER BY raised_at""",
            bounds,
        ).fetchall()
    open_by_kind: dict[str, int] = {}
    for _, kind in still_open:
        open_by_kind[kind] = open_by_kind.get(kind, 0) + 1
    return {
        "shift": {"starts_at": start, "ends_at": end, "lead": lead, "pickers_on_shift": crew},
        "backlog": {"orders": backlog[0], "express": backlog[1], "past_promise": backlog[2], "oldest": backlog[3]},
        "by_carrier": {c: {"due": due, "late": late, "unshipped_at_handover": gone} for c, due, late, gone in carriers},
        "raised_by_kind": raised,
        "open_by_kind": open_by_kind,
        "open_ids": [exception_id for exception_id, _ in still_open],
    }


def weekly_reference(path: Path, week_ending: date) -> dict[str, Any]:
    """For a database whose timestamps are local wall-clock text (the sample), whatever the site's zone."""
    first = (week_ending - timedelta(days=6)).isoformat()
    after = (week_ending + timedelta(days=1)).isoformat()
    span = {"first": f"{first}T00:00:00", "after": f"{after}T00:00:00"}
    with _connect(path) as db:
        types = db.execute(
            """SELECT incident_type, COUNT(*), SUM(severity = 'high') FROM safety_incidents
               WHERE occurred_at >= :first AND occurred_at < :after GROUP BY incident_type""",
            span,
        ).fetchall()
        zones = dict(
            db.execute(
                """SELECT zone_id, COUNT(*) FROM safety_incidents
                   WHERE occurred_at >= :first AND occurred_at < :after GROUP BY zone_id""",
                span,
            ).fetchall()
        )
        actions = db.execute(
            """SELECT action_id, owner, due_date FROM corrective_actions
               WHERE due_date <= :last AND (completed_at IS NULL OR completed_at >= :after)""",
            {"last": week_ending.isoformat(), "after": span["after"]},
        ).fetchall()
    owners: dict[str, int] = {}
    for _, owner, _ in actions:
        owners[owner] = owners.get(owner, 0) + 1
    return {
        "by_type": {t: {"incidents": n, "high_severity": high} for t, n, high in types},
        "by_zone": zones,
        "incidents": sum(n for _, n, _ in types),
        # whole days from the due date to the week's last day (a due date means by the end of that day)
        "overdue": {action_id: (week_ending - date.fromisoformat(due)).days for action_id, _, due in actions},
        "overdue_by_owner": owners,
    }
