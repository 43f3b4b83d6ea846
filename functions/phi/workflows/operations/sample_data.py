"""The shift tables of the sample warehouse: the shift roster (`shifts`) and the exceptions the shift leads
log (`shift_exceptions`), for the shift handover template.

The exceptions follow the simulated warehouse: a carrier's missed pickups and a scanner outage are the
scripted events of the order simulation; damaged goods, stock discrepancies, short picks and packing holds
are drawn against real picks of the shift. The random draws come from their own generator (seeded from the
warehouse seed), so adding these tables changes no figure of the orders, picks and shipments."""

from __future__ import annotations

import random
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta

ISO_FORMAT = "%Y-%m-%dT%H:%M:%S"

SCHEMA = """
CREATE TABLE shifts (shift_id TEXT PRIMARY KEY, shift_date TEXT NOT NULL, shift TEXT NOT NULL,
                     starts_at TEXT NOT NULL, ends_at TEXT NOT NULL, lead TEXT NOT NULL,
                     pickers_on_shift INTEGER NOT NULL, UNIQUE (shift_date, shift));
CREATE TABLE shift_exceptions (exception_id TEXT PRIMARY KEY, raised_at TEXT NOT NULL, kind TEXT NOT NULL,
                               zone_id TEXT REFERENCES zones(zone_id), order_id TEXT REFERENCES orders(order_id),
                               carrier TEXT, description TEXT NOT NULL, resolved_at TEXT);
CREATE INDEX ix_shift_exceptions_raised_at ON shift_exceptions(raised_at);
"""

LEADS = {"early": ["Sam Okafor", "Rita Novak"], "late": ["Tom Byrne", "Aisha Rahman"]}
# Exceptions a shift lead logs besides the scripted ones, per shift: how many, and of which kind.
RANDOM_EXCEPTIONS_PER_SHIFT = ([0, 1, 2, 3], [0.2, 0.4, 0.3, 0.1])
RANDOM_KINDS = ["damaged_goods", "stock_discrepancy", "short_pick", "packing_hold"]
RANDOM_KIND_WEIGHTS = [0.3, 0.25, 0.3, 0.15]
RESOLVED_SHARE = 0.65


@dataclass(frozen=True)
class ShiftFacts:
    """What the order simulation knows of one shift."""

    shift: str
    starts_at: datetime
    ends_at: datetime
    pickers_on_shift: int
    missed_waves: tuple[tuple[str, datetime], ...] = ()  # (carrier, wave it did not collect)
    outage: tuple[datetime, datetime] | None = None


@dataclass(frozen=True)
class _Exception:
    raised_at: datetime
    kind: str
    zone_id: str | None
    order_id: str | None
    carrier: str | None
    description: str
    resolved_at: datetime | None


def _iso(moment: datetime | None) -> str | None:
    return moment.strftime(ISO_FORMAT) if moment else None


def _picks_in(connection: sqlite3.Connection, facts: ShiftFacts) -> list[tuple[str, str, str, int, str]]:
    return connection.execute(
        """SELECT p.order_id, p.sku_id, k.zone_id, p.qty, p.picked_at FROM picks p JOIN skus k ON k.sku_id = p.sku_id
           WHERE p.picked_at >= ? AND p.picked_at < ? ORDER BY p.pick_id""",
        (_iso(facts.starts_at), _iso(facts.ends_at)),
    ).fetchall()


def _resolution(rng: random.Random, raised: datetime, data_end: datetime) -> datetime | None:
    if rng.random() >= RESOLVED_SHARE:
        return None
    resolved = raised + timedelta(minutes=rng.uniform(20, 300))
    return resolved.replace(microsecond=0) if resolved < data_end else None


def _random_exception(rng: random.Random, pick: tuple[str, str, str, int, str], data_end: datetime) -> _Exception:
    order_id, sku_id, zone_id, qty, picked_at = pick
    raised = (datetime.fromisoformat(picked_at) + timedelta(minutes=rng.uniform(1, 10))).replace(microsecond=0)
    kind = rng.choices(RANDOM_KINDS, RANDOM_KIND_WEIGHTS)[0]
    description = {
        "damaged_goods": f"Damaged carton of {sku_id} found at picking; order {order_id} waits for a replacement",
        "stock_discrepancy": f"Location count of {sku_id} differs from the system; cycle count requested",
        "short_pick": f"Short pick on {order_id}: {max(1, qty // 2)} of {qty} units of {sku_id} not at the location",
        "packing_hold": f"Order {order_id} held at packing for an address check",
    }[kind]
    order = None if kind == "stock_discrepancy" else order_id
    return _Exception(raised, kind, zone_id, order, None, description, _resolution(rng, raised, data_end))


def _shift_exceptions(
    connection: sqlite3.Connection, rng: random.Random, facts: ShiftFacts, data_end: datetime
) -> list[_Exception]:
    found = []
    for carrier, wave in facts.missed_waves:
        raised = wave + timedelta(minutes=15)
        found.append(
            _Exception(
                raised,
                "missed_pickup",
                None,
                None,
                carrier,
                f"{carrier} did not collect the {wave:%H:%M} wave; its orders wait for the next wave",
                _resolution(rng, raised, data_end),
            )
        )
    if facts.outage is not None:
        start, end = facts.outage
        found.append(
            _Exception(
                start + timedelta(minutes=2),
                "equipment_fault",
                None,
                None,
                None,
                f"Handheld scanners down from {start:%H:%M}; pickers switched to paper pick lists",
                end,
            )
        )
    picks = _picks_in(connection, facts)
    count = rng.choices(*RANDOM_EXCEPTIONS_PER_SHIFT)[0] if picks else 0
    found += [_random_exception(rng, rng.choice(picks), data_end) for _ in range(count)]
    return found


def write_shift_tables(
    connection: sqlite3.Connection, shifts: list[ShiftFacts], seed: int, data_end: datetime
) -> dict[str, int]:
    """Creates and fills `shifts` and `shift_exceptions` (nothing is resolved after `data_end`, the
    database's "now"); returns their row counts."""
    rng = random.Random(f"{seed}:shift-handover")
    connection.executescript(SCHEMA)
    shift_rows, exceptions = [], []
    for facts in sorted(shifts, key=lambda f: f.starts_at):
        lead = rng.choice(LEADS[facts.shift])
        day = facts.starts_at.date()
        shift_rows.append(
            (
                f"{day:%Y%m%d}-{facts.shift.upper()}",
                day.isoformat(),
                facts.shift,
                _iso(facts.starts_at),
                _iso(facts.ends_at),
                lead,
                facts.pickers_on_shift,
            )
        )
        exceptions += _shift_exceptions(connection, rng, facts, data_end)
    exceptions.sort(key=lambda e: e.raised_at)
    exception_rows: list[tuple[str | None, ...]] = []
    per_day: dict[str, int] = {}
    for e in exceptions:
        stamp = f"{e.raised_at:%Y%m%d}"
        per_day[stamp] = per_day.get(stamp, 0) + 1
        exception_id = f"EX-{stamp}-{per_day[stamp]:02d}"
        exception_rows.append(
            (exception_id, _iso(e.raised_at), e.kind, e.zone_id, e.order_id, e.carrier, e.description,
             _iso(e.resolved_at))
        )  # fmt: skip
    connection.executemany("INSERT INTO shifts VALUES (?, ?, ?, ?, ?, ?, ?)", shift_rows)
    connection.executemany("INSERT INTO shift_exceptions VALUES (?, ?, ?, ?, ?, ?, ?, ?)", exception_rows)
    return {"shifts": len(shift_rows), "shift_exceptions": len(exception_rows)}
