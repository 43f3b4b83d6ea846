"""Seeded generator of a realistic sample warehouse database in SQLite.

The data comes from a small queue simulation, so the figures hang together: orders arrive around
the clock, pickers on two shifts pick their lines earliest-promise-first, packed orders leave on the
next carrier wave. Three scripted events make the anomaly detection visible: a day with a late spike
(pickers off sick on the late shift), a day with one clearly slow picker, a day with a pick-system
outage. Everything comes from one `random.Random(seed)`, so a seed always gives the same database.
"""

from __future__ import annotations

import argparse
import heapq
import math
import random
import sqlite3
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from pydantic import BaseModel

from phi.workflows.operations.sample_data import ShiftFacts, write_shift_tables
from phi.workflows.safety.sample_data import write_safety_tables

ISO_FORMAT = "%Y-%m-%dT%H:%M:%S"

SCHEMA = """
CREATE TABLE zones (zone_id TEXT PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE skus (sku_id TEXT PRIMARY KEY, description TEXT NOT NULL,
                   zone_id TEXT NOT NULL REFERENCES zones(zone_id));
CREATE TABLE pickers (picker_id TEXT PRIMARY KEY, name TEXT NOT NULL, shift TEXT NOT NULL);
CREATE TABLE orders (order_id TEXT PRIMARY KEY, created_at TEXT NOT NULL, promised_ship_at TEXT NOT NULL,
                     priority TEXT NOT NULL, customer TEXT NOT NULL);
CREATE TABLE order_lines (order_id TEXT NOT NULL REFERENCES orders(order_id), line_no INTEGER NOT NULL,
                          sku_id TEXT NOT NULL REFERENCES skus(sku_id), qty INTEGER NOT NULL,
                          PRIMARY KEY (order_id, line_no));
CREATE TABLE picks (pick_id INTEGER PRIMARY KEY, order_id TEXT NOT NULL, line_no INTEGER NOT NULL,
                    sku_id TEXT NOT NULL, picker_id TEXT NOT NULL REFERENCES pickers(picker_id),
                    qty INTEGER NOT NULL, picked_at TEXT NOT NULL);
CREATE TABLE shipments (shipment_id TEXT PRIMARY KEY, order_id TEXT NOT NULL REFERENCES orders(order_id),
                        carrier TEXT NOT NULL, promised_at TEXT NOT NULL, shipped_at TEXT);
CREATE INDEX ix_orders_created_at ON orders(created_at);
CREATE INDEX ix_orders_promised_ship_at ON orders(promised_ship_at);
CREATE INDEX ix_picks_picked_at ON picks(picked_at);
CREATE INDEX ix_picks_order_line ON picks(order_id, line_no);
CREATE INDEX ix_shipments_order_id ON shipments(order_id);
CREATE INDEX ix_shipments_promised_at ON shipments(promised_at);
CREATE INDEX ix_shipments_shipped_at ON shipments(shipped_at);
"""

ZONES = [
    ("A", "Ambient fast movers"),
    ("B", "Ambient bulk"),
    ("C", "Chilled"),
    ("H", "Hazardous goods cage"),
    ("M", "Mezzanine small parts"),
]
ZONE_WEIGHTS = [0.38, 0.22, 0.16, 0.06, 0.18]
SKU_COUNT = 480
PRODUCTS = [
    "detergent", "olive oil", "coffee beans", "cat food", "paper towels", "batteries", "shampoo", "cereal",
    "light bulbs", "yoghurt", "glue", "sparkling water", "rice", "phone charger", "dish soap", "tea",
    "paint thinner", "butter", "screws", "notebooks",
]  # fmt: skip
PACK_SIZES = ["single", "2-pack", "6-pack", "12-pack", "case of 24", "bulk bag"]
FIRST_NAMES = [
    "Ana", "Ben", "Chloé", "Dmitri", "Eva", "Farid", "Grace", "Hugo", "Ines", "Jonas", "Kemal", "Lena",
    "Marco", "Nadia", "Olu", "Priya",
]  # fmt: skip
LAST_INITIALS = "BCDFGHJKLMNPRSTVW"
CUSTOMERS = [
    "Northwind Retail", "Contoso Home", "Fabrikam Garden", "Adatum Pharmacy", "Tailspin Outdoor",
    "Wingtip Toys", "Litware Office", "Proseware Pets", "Lucerne Grocers", "Alpine Ski House",
    "Coho Vineyard", "Margie's Travel", "Fourth Coffee", "Woodgrove Market", "Blue Yonder Books",
    "Trey Hardware", "Humongous Foods", "Relecloud Electronics", "Bellows Bakery", "Datum Labs",
]  # fmt: skip
CARRIERS = ["DHL", "UPS", "DPD", "PostNL"]
CARRIER_WEIGHTS = [0.35, 0.25, 0.25, 0.15]
PRIORITIES = ["standard", "express"]
PRIORITY_WEIGHTS = [0.85, 0.15]
LINES_PER_ORDER_WEIGHTS = [0.35, 0.25, 0.18, 0.13, 0.09]  # 1..5 lines
# Orders per clock hour (relative): a quiet night, a busy late morning, a long evening tail.
HOURLY_ORDER_WEIGHTS = [
    0.6, 0.4, 0.3, 0.3, 0.4, 0.7, 1.2, 2.0, 3.0, 3.8, 4.2, 4.2,
    3.8, 3.8, 3.6, 3.4, 3.0, 2.6, 2.4, 2.4, 2.2, 1.8, 1.4, 1.0,
]  # fmt: skip
WEEKDAY_VOLUME = [1.15, 1.05, 1.0, 1.0, 0.95, 0.8, 0.7]
BASE_ORDERS_PER_DAY = 470
CARRIER_WAVES = [time(10, 0), time(13, 0), time(16, 0), time(19, 0), time(21, 30)]
STANDARD_CUTOFF = time(14, 0)
EXPRESS_LEAD = timedelta(hours=3)
SHIFTS = {"early": (time(6, 0), time(14, 0)), "late": (time(14, 0), time(22, 0))}
LUNCH_START = {"early": time(11, 0), "late": time(18, 0)}
LUNCH = timedelta(minutes=30)
CARRY_OVER_FROM = time(20, 0)
# Shift share of the day's lines and planned utilisation: both shifts are planned near full load,
# so work is usually waiting and a backlog rolls over to the early shift, as in most warehouses.
SHIFT_PLAN = {"early": (0.48, 0.95), "late": (0.52, 1.0)}
SLOW_PICKER_SPEED_FACTOR = 0.4
SICK_ON_SPIKE_DAY = 1
MISSED_PICKUPS_FROM = time(13, 0)  # on the late-spike day one carrier misses every pickup from here


class ScenarioEvent(BaseModel):
    day: date
    kind: str
    detail: str


class SampleSummary(BaseModel):
    path: str
    seed: int
    first_day: date
    last_day: date
    days: int
    row_counts: dict[str, int]
    orders_carried_over: int
    events: list[ScenarioEvent]


@dataclass(frozen=True)
class _Picker:
    picker_id: str
    name: str
    shift: str
    lines_per_hour: float


@dataclass(frozen=True)
class _Line:
    line_no: int
    sku_id: str
    qty: int


@dataclass
class _Order:
    order_id: str
    created_at: datetime
    promised_at: datetime
    priority: str
    customer: str
    carrier: str
    lines: list[_Line]
    lines_left: int = 0
    picked_at: datetime | None = None
    shipped_at: datetime | None = None


@dataclass(frozen=True)
class _DayPlan:
    day: date
    order_count: int
    working: frozenset[str]
    slow_picker: str | None
    outage: tuple[datetime, datetime] | None
    missed_pickups: tuple[str, datetime] | None


@dataclass(frozen=True)
class _Pick:
    order_id: str
    line_no: int
    sku_id: str
    picker_id: str
    qty: int
    picked_at: datetime


@dataclass
class _PickerClock:
    picker: _Picker
    windows: list[tuple[datetime, datetime, float]]  # start, end, speed factor
    position: int = 0

    def window_at(self, moment: datetime) -> tuple[datetime, datetime, float] | None:
        """The working window containing `moment`, else the next one; None when the picker is done."""
        while self.position < len(self.windows) and self.windows[self.position][1] <= moment:
            self.position += 1
        return self.windows[self.position] if self.position < len(self.windows) else None


@dataclass
class _World:
    rng: random.Random
    days: list[date]
    sku_ids: list[str]
    sku_weights: list[float]
    pickers: list[_Picker]
    orders: list[_Order] = field(default_factory=list)
    picks: list[_Pick] = field(default_factory=list)


def _at(day: date, clock: time) -> datetime:
    return datetime.combine(day, clock)


def _skus(rng: random.Random) -> list[tuple[str, str, str]]:
    zone_ids = [zone_id for zone_id, _ in ZONES]
    rows = []
    for number in range(1, SKU_COUNT + 1):
        zone = rng.choices(zone_ids, ZONE_WEIGHTS)[0]
        description = f"{rng.choice(PRODUCTS).capitalize()}, {rng.choice(PACK_SIZES)}"
        rows.append((f"SKU-{number:05d}", description, zone))
    return rows


def _pickers(rng: random.Random) -> list[_Picker]:
    count = rng.randint(9, 12)
    names = rng.sample(FIRST_NAMES, count)
    early_count = (count + 1) // 2
    return [
        _Picker(
            picker_id=f"P{number:02d}",
            name=f"{names[number - 1]} {rng.choice(LAST_INITIALS)}.",
            shift="early" if number <= early_count else "late",
            lines_per_hour=round(rng.uniform(18.0, 26.0), 1),
        )
        for number in range(1, count + 1)
    ]


def _promise(created_at: datetime, priority: str) -> datetime:
    day = created_at.date()
    if priority == "express":
        ready = created_at + EXPRESS_LEAD
        same_day = [_at(day, wave) for wave in CARRIER_WAVES if _at(day, wave) >= ready]
        return same_day[0] if same_day else _at(day + timedelta(days=1), CARRIER_WAVES[1])
    due_day = day if created_at.time() < STANDARD_CUTOFF else day + timedelta(days=1)
    return _at(due_day, CARRIER_WAVES[-1])


def _new_order(world: _World, order_id: str, created_at: datetime) -> _Order:
    rng = world.rng
    line_count = rng.choices(range(1, 6), LINES_PER_ORDER_WEIGHTS)[0]
    skus = rng.choices(world.sku_ids, world.sku_weights, k=line_count)
    lines = [_Line(number, sku, max(1, round(rng.expovariate(1 / 3.0)))) for number, sku in enumerate(skus, 1)]
    priority = rng.choices(PRIORITIES, PRIORITY_WEIGHTS)[0]
    return _Order(
        order_id=order_id,
        created_at=created_at,
        promised_at=_promise(created_at, priority),
        priority=priority,
        customer=rng.choice(CUSTOMERS),
        carrier=rng.choices(CARRIERS, CARRIER_WEIGHTS)[0],
        lines=lines,
        lines_left=line_count,
    )


def _orders_for_day(world: _World, day: date, count: int, *, from_clock: time = time(0, 0)) -> list[_Order]:
    rng = world.rng
    day_start = _at(day, time(0, 0))
    offsets = sorted(
        timedelta(hours=hour, seconds=rng.randrange(3600))
        for hour in rng.choices(range(24), HOURLY_ORDER_WEIGHTS, k=count)
    )
    stamps = [day_start + offset for offset in offsets if (day_start + offset).time() >= from_clock]
    return [_new_order(world, f"SO-{day:%Y%m%d}-{number:04d}", stamp) for number, stamp in enumerate(stamps, 1)]


def _daily_volume(rng: random.Random, day: date) -> int:
    volume = BASE_ORDERS_PER_DAY * WEEKDAY_VOLUME[day.weekday()] * rng.uniform(0.92, 1.08)
    return max(300, min(600, round(volume)))


def _plan_days(world: _World, volumes: list[int]) -> tuple[list[_DayPlan], list[ScenarioEvent]]:
    rng = world.rng
    kinds = ["late_spike", "slow_picker", "pick_outage"]
    event_days = dict(zip(kinds, rng.sample(range(len(world.days)), min(len(kinds), len(world.days))), strict=False))
    mean_lines = sum((n + 1) * w for n, w in enumerate(LINES_PER_ORDER_WEIGHTS))
    plans, events = [], []
    for index, (day, volume) in enumerate(zip(world.days, volumes, strict=True)):
        working = _roster(world, volume * mean_lines)
        slow = outage = missed = None
        if event_days.get("late_spike") == index:
            late_crew = sorted(p.picker_id for p in world.pickers if p.shift == "late" and p.picker_id in working)
            sick = rng.sample(late_crew, min(SICK_ON_SPIKE_DAY, len(late_crew) - 1))
            working -= set(sick)
            missed = (CARRIERS[0], _at(day, MISSED_PICKUPS_FROM))
            events.append(
                ScenarioEvent(
                    day=day,
                    kind="late_spike",
                    detail=f"{', '.join(sick)} off sick on the late shift; "
                    f"{missed[0]} missed every pickup from {missed[1]:%H:%M}",
                )
            )
        if event_days.get("slow_picker") == index:
            slow = rng.choice(sorted(working))
            events.append(
                ScenarioEvent(
                    day=day,
                    kind="slow_picker",
                    detail=f"{slow} picks at {SLOW_PICKER_SPEED_FACTOR:.0%} of normal speed",
                )
            )
        if event_days.get("pick_outage") == index:
            start = _at(day, time(rng.choice([9, 10, 15, 16]), 5))
            outage = (start, start + timedelta(minutes=45))
            events.append(
                ScenarioEvent(day=day, kind="pick_outage", detail=f"scanners down {start:%H:%M}-{outage[1]:%H:%M}")
            )
        plans.append(_DayPlan(day, volume, frozenset(working), slow, outage, missed))
    return plans, events


def _roster(world: _World, expected_lines: float) -> set[str]:
    """Staff each shift for the expected volume, as a planner would; the rest have the day off."""
    working: set[str] = set()
    for shift, (share, utilisation) in SHIFT_PLAN.items():
        crew = [p for p in world.pickers if p.shift == shift]
        speed = sum(p.lines_per_hour for p in crew) / len(crew)
        needed = math.ceil(expected_lines * share / (speed * 7.5 * utilisation))
        chosen = world.rng.sample(crew, max(2, min(len(crew), needed)))
        working.update(p.picker_id for p in chosen)
    return working


def _windows(picker: _Picker, plan: _DayPlan, lunch_slot: int) -> list[tuple[datetime, datetime, float]]:
    if picker.picker_id not in plan.working:
        return []
    start_clock, end_clock = SHIFTS[picker.shift]
    start, end = _at(plan.day, start_clock), _at(plan.day, end_clock)
    lunch = _at(plan.day, LUNCH_START[picker.shift]) + LUNCH * lunch_slot
    gaps = [(lunch, lunch + LUNCH)] + ([plan.outage] if plan.outage else [])
    factor = SLOW_PICKER_SPEED_FACTOR if plan.slow_picker == picker.picker_id else 1.0
    return [(a, b, factor) for a, b in _subtract(start, end, sorted(gaps))]


def _subtract(
    start: datetime, end: datetime, gaps: list[tuple[datetime, datetime]]
) -> Iterator[tuple[datetime, datetime]]:
    cursor = start
    for gap_start, gap_end in gaps:
        if gap_start > cursor:
            yield cursor, min(gap_start, end)
        cursor = max(cursor, gap_end)
    if cursor < end:
        yield cursor, end


def _picker_clocks(world: _World, plans: list[_DayPlan]) -> list[_PickerClock]:
    clocks = []
    for picker in world.pickers:
        windows = []
        for plan in plans:
            crew = sorted(p.picker_id for p in world.pickers if p.shift == picker.shift and p.picker_id in plan.working)
            slot = crew.index(picker.picker_id) % 4 if picker.picker_id in crew else 0
            windows.extend(_windows(picker, plan, slot))
        clocks.append(_PickerClock(picker, windows))
    return clocks


def _simulate_picking(world: _World, plans: list[_DayPlan]) -> None:
    """Pickers take the released line with the earliest promise; a line not finished before a break waits."""
    rng = world.rng
    pending = sorted(world.orders, key=lambda o: (o.created_at, o.order_id))
    ready: list[tuple[datetime, int, datetime, str, int, _Order, _Line]] = []
    rank = {"express": 0, "standard": 1}
    clocks = _picker_clocks(world, plans)
    events = [(clock.windows[0][0], index) for index, clock in enumerate(clocks) if clock.windows]
    heapq.heapify(events)
    next_order = 0
    while events:
        moment, index = heapq.heappop(events)
        clock = clocks[index]
        window = clock.window_at(moment)
        if window is None:
            continue
        if moment < window[0]:
            heapq.heappush(events, (window[0], index))
            continue
        while next_order < len(pending) and pending[next_order].created_at <= moment:
            order = pending[next_order]
            for line in order.lines:
                heapq.heappush(
                    ready,
                    (
                        order.promised_at,
                        rank[order.priority],
                        order.created_at,
                        order.order_id,
                        line.line_no,
                        order,
                        line,
                    ),
                )
            next_order += 1
        if not ready:
            if next_order < len(pending):
                heapq.heappush(events, (max(pending[next_order].created_at, moment), index))
            continue
        minutes = 60 / (clock.picker.lines_per_hour * window[2]) * rng.lognormvariate(-0.045, 0.3)
        finished = moment + timedelta(minutes=minutes * (1 + 0.02 * min(ready[0][6].qty, 20)))
        if finished > window[1]:
            heapq.heappush(events, (window[1], index))
            continue
        *_, order, line = heapq.heappop(ready)
        world.picks.append(
            _Pick(
                order.order_id,
                line.line_no,
                line.sku_id,
                clock.picker.picker_id,
                line.qty,
                finished.replace(microsecond=0),
            )
        )
        order.lines_left -= 1
        if order.lines_left == 0:
            order.picked_at = finished
        heapq.heappush(events, (finished, index))


def _ship_orders(world: _World, plans: list[_DayPlan]) -> None:
    """Packed orders leave with the next carrier wave; a few hit a packing exception first."""
    rng = world.rng
    waves = [_at(day, wave) for day in world.days for wave in CARRIER_WAVES]
    missed = [plan.missed_pickups for plan in plans if plan.missed_pickups]
    for order in world.orders:
        if order.picked_at is None:
            continue
        packed = order.picked_at + timedelta(minutes=rng.uniform(8, 35))
        if rng.random() < 0.03:
            packed += timedelta(hours=rng.uniform(2, 8))
        wave = next((w for w in waves if w >= packed and not _missed(order.carrier, w, missed)), None)
        if wave is not None:
            loaded = wave - timedelta(minutes=rng.uniform(0, 20))
            order.shipped_at = max(packed, loaded).replace(microsecond=0)


def _missed(carrier: str, wave: datetime, missed: list[tuple[str, datetime]]) -> bool:
    return any(carrier == who and since <= wave and since.date() == wave.date() for who, since in missed)


def _write(path: Path, world: _World, skus: list[tuple[str, str, str]]) -> dict[str, int]:
    rows: dict[str, list[tuple[object, ...]]] = {
        "zones": list(ZONES),
        "skus": list(skus),
        "pickers": [(p.picker_id, p.name, p.shift) for p in world.pickers],
        "orders": [(o.order_id, _iso(o.created_at), _iso(o.promised_at), o.priority, o.customer) for o in world.orders],
        "order_lines": [(o.order_id, line.line_no, line.sku_id, line.qty) for o in world.orders for line in o.lines],
        "picks": [
            (number, p.order_id, p.line_no, p.sku_id, p.picker_id, p.qty, _iso(p.picked_at))
            for number, p in enumerate(sorted(world.picks, key=lambda p: p.picked_at), 1)
        ],
        "shipments": [
            (
                f"SH-{o.order_id[3:]}",
                o.order_id,
                o.carrier,
                _iso(o.promised_at),
                _iso(o.shipped_at) if o.shipped_at else None,
            )
            for o in world.orders
        ],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    connection = sqlite3.connect(path)
    try:
        connection.executescript(SCHEMA)
        for table, table_rows in rows.items():
            marks = ", ".join("?" * len(table_rows[0])) if table_rows else ""
            if table_rows:
                connection.executemany(f"INSERT INTO {table} VALUES ({marks})", table_rows)
        connection.commit()
    finally:
        connection.close()
    return {table: len(table_rows) for table, table_rows in rows.items()}


def _shift_facts(world: _World, plan: _DayPlan) -> list[ShiftFacts]:
    facts = []
    for shift, (start_clock, end_clock) in SHIFTS.items():
        start, end = _at(plan.day, start_clock), _at(plan.day, end_clock)
        missed: tuple[tuple[str, datetime], ...] = ()
        if plan.missed_pickups:
            carrier, since = plan.missed_pickups
            waves = (_at(plan.day, wave) for wave in CARRIER_WAVES)
            missed = tuple((carrier, wave) for wave in waves if wave >= since and start <= wave < end)
        outage = plan.outage if plan.outage and start <= plan.outage[0] < end else None
        crew = sum(1 for p in world.pickers if p.shift == shift and p.picker_id in plan.working)
        facts.append(ShiftFacts(shift, start, end, crew, missed, outage))
    return facts


def _write_role_tables(path: Path, world: _World, plans: list[_DayPlan], seed: int) -> dict[str, int]:
    """The operations manager's shift tables and the safety officer's incident log, from their own seeded
    generators (the tables above stay exactly as they are)."""
    shifts = [facts for plan in plans for facts in _shift_facts(world, plan)]
    data_end = _at(world.days[-1] + timedelta(days=1), time(0))
    connection = sqlite3.connect(path)
    try:
        counts = write_shift_tables(connection, shifts, seed, data_end)
        counts |= write_safety_tables(connection, world.days[-1], seed)
        connection.commit()
    finally:
        connection.close()
    return counts


def _iso(moment: datetime) -> str:
    return moment.strftime(ISO_FORMAT)


def generate_sample_warehouse(
    path: Path, *, days: int = 7, end_date: date | None = None, seed: int = 42
) -> SampleSummary:
    """Write a fresh sample warehouse database covering `days` days ending on `end_date` (UTC)."""
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    last_day = end_date or (datetime.now(UTC).date() - timedelta(days=1))
    rng = random.Random(seed)
    skus = _skus(rng)
    world = _World(
        rng=rng,
        days=[last_day - timedelta(days=days - 1 - n) for n in range(days)],
        sku_ids=[sku_id for sku_id, _, _ in skus],
        sku_weights=[1 / rank**0.8 for rank in range(1, len(skus) + 1)],
        pickers=_pickers(rng),
    )
    volumes = [_daily_volume(rng, day) for day in world.days]
    eve = world.days[0] - timedelta(days=1)
    carried = _orders_for_day(world, eve, _daily_volume(rng, eve), from_clock=CARRY_OVER_FROM)
    world.orders = carried + [
        o for day, n in zip(world.days, volumes, strict=True) for o in _orders_for_day(world, day, n)
    ]
    plans, events = _plan_days(world, volumes)
    _simulate_picking(world, plans)
    _ship_orders(world, plans)
    counts = _write(path, world, skus)
    counts |= _write_role_tables(path, world, plans, seed)
    return SampleSummary(
        path=str(path),
        seed=seed,
        first_day=world.days[0],
        last_day=last_day,
        days=days,
        row_counts=counts,
        orders_carried_over=len(carried),
        events=events,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate a sample warehouse SQLite database.")
    parser.add_argument("--out", type=Path, required=True, help="SQLite file to (re)create")
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument(
        "--end-date",
        type=date.fromisoformat,
        default=None,
        help="last day covered, YYYY-MM-DD (default: yesterday, UTC)",
    )
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    summary = generate_sample_warehouse(args.out, days=args.days, end_date=args.end_date, seed=args.seed)
    sys.stdout.write(summary.model_dump_json(indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
