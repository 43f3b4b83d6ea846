"""The safety tables of the sample warehouse: the incident log (`safety_incidents`) and the corrective
actions raised from it (`corrective_actions`), for the weekly incident summary template.

Incidents cover several weeks before the last day (so older actions can be overdue in the week reported);
their zones follow the hazard (spills in the hazardous goods cage and the chill zone, forklift and racking
incidents in the bulk aisles); each action is due a number of days after its incident set by its severity,
as SOP-SAF-01 states (high 3, medium 7, low 14). Some actions are completed on time, some late, some not
at all. The draws come from their own generator seeded from the warehouse seed, so these tables change no
figure of the other tables."""

from __future__ import annotations

import random
import sqlite3
from datetime import date, datetime, time, timedelta

ISO_FORMAT = "%Y-%m-%dT%H:%M:%S"
HISTORY_DAYS = 42

SCHEMA = """
CREATE TABLE safety_incidents (incident_id TEXT PRIMARY KEY, occurred_at TEXT NOT NULL,
                               zone_id TEXT NOT NULL REFERENCES zones(zone_id), incident_type TEXT NOT NULL,
                               severity TEXT NOT NULL, description TEXT NOT NULL, reported_by TEXT NOT NULL);
CREATE TABLE corrective_actions (action_id TEXT PRIMARY KEY,
                                 incident_id TEXT NOT NULL REFERENCES safety_incidents(incident_id),
                                 action TEXT NOT NULL, owner TEXT NOT NULL, due_date TEXT NOT NULL,
                                 completed_at TEXT);
CREATE INDEX ix_safety_incidents_occurred_at ON safety_incidents(occurred_at);
CREATE INDEX ix_corrective_actions_due_date ON corrective_actions(due_date);
"""

INCIDENTS_PER_DAY = ([0, 1, 2, 3], [0.3, 0.35, 0.25, 0.1])
# Incidents happen while people work: mostly during the two shifts (06:00-22:00).
HOUR_WEIGHTS = [0.1] * 6 + [1.0] * 16 + [0.1] * 2
# Per incident type: its weight, {zone: weight} and {severity: weight}.
TYPES = {
    "near_miss": (0.3, {"A": 0.35, "B": 0.3, "C": 0.1, "H": 0.05, "M": 0.2}, {"low": 0.7, "medium": 0.3}),
    "slip_trip_fall": (0.18, {"A": 0.35, "B": 0.15, "C": 0.35, "M": 0.15}, {"low": 0.5, "medium": 0.4, "high": 0.1}),
    "manual_handling": (0.18, {"A": 0.3, "B": 0.4, "M": 0.3}, {"low": 0.5, "medium": 0.4, "high": 0.1}),
    "forklift_pedestrian": (0.12, {"A": 0.4, "B": 0.5, "C": 0.1}, {"low": 0.2, "medium": 0.45, "high": 0.35}),
    "racking_damage": (0.12, {"A": 0.3, "B": 0.5, "M": 0.2}, {"low": 0.4, "medium": 0.4, "high": 0.2}),
    "hazardous_spill": (0.1, {"H": 0.6, "C": 0.3, "A": 0.1}, {"low": 0.2, "medium": 0.5, "high": 0.3}),
}
DESCRIPTIONS = {
    "near_miss": ["Pallet overhanging the aisle nearly struck a picker", "Reversing truck passed close to a picker"],
    "slip_trip_fall": ["Picker slipped on condensation", "Trip over shrink-wrap left in the aisle"],
    "manual_handling": ["Back strain lifting a case above shoulder height", "Wrist strain from repeated lifting"],
    "forklift_pedestrian": ["Forklift and pedestrian met at a blind corner", "Forklift clipped a pedestrian's trolley"],
    "racking_damage": ["Upright dented by a reach truck", "Beam deflected after a pallet was dropped"],
    "hazardous_spill": ["Leaking drum of cleaning solvent", "Broken bottle of paint thinner on the floor"],
}
ACTIONS = {
    "near_miss": "Brief the shift on the near miss and check the aisle layout",
    "slip_trip_fall": "Clean and mark the area; review housekeeping rounds",
    "manual_handling": "Re-slot the SKU to waist height; refresh lifting training",
    "forklift_pedestrian": "Add a floor-marked crossing and a convex mirror",
    "racking_damage": "Offload the bay and have the racking inspected and repaired",
    "hazardous_spill": "Replace the spill kit and check drum storage",
}
OWNERS = ["Facilities", "Early shift lead", "Late shift lead", "Maintenance", "Safety officer"]
REPORTERS = ["Sam Okafor", "Rita Novak", "Tom Byrne", "Aisha Rahman", "Picker on shift"]
DUE_DAYS = {"high": 3, "medium": 7, "low": 14}
OUTCOMES = (["on_time", "late", "open"], [0.55, 0.15, 0.3])


def _iso(moment: datetime) -> str:
    return moment.strftime(ISO_FORMAT)


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), list(weights.values()))[0]


def _completion(rng: random.Random, occurred: datetime, due: date, data_end: datetime) -> datetime | None:
    outcome = rng.choices(*OUTCOMES)[0]
    if outcome == "open":
        return None
    if outcome == "on_time":
        day = occurred.date() + timedelta(days=rng.randint(0, (due - occurred.date()).days))
    else:
        day = due + timedelta(days=rng.randint(1, 10))
    completed = datetime.combine(day, time(rng.randint(7, 20), rng.randrange(60)))
    completed = max(completed, occurred + timedelta(hours=1))
    return completed if completed < data_end else None


def write_safety_tables(connection: sqlite3.Connection, last_day: date, seed: int) -> dict[str, int]:
    """Creates and fills `safety_incidents` and `corrective_actions` for the HISTORY_DAYS days ending on
    `last_day` (nothing is completed after that day, the database's "now"); returns their row counts."""
    rng = random.Random(f"{seed}:safety")
    data_end = datetime.combine(last_day + timedelta(days=1), time(0))
    incidents, actions = [], []
    for offset in range(HISTORY_DAYS - 1, -1, -1):
        day = last_day - timedelta(days=offset)
        count = rng.choices(*INCIDENTS_PER_DAY)[0]
        moments = sorted(
            datetime.combine(day, time(hour, rng.randrange(60), rng.randrange(60)))
            for hour in rng.choices(range(24), HOUR_WEIGHTS, k=count)
        )
        for number, occurred in enumerate(moments, 1):
            kind = _pick(rng, {name: spec[0] for name, spec in TYPES.items()})
            _, zones, severities = TYPES[kind]
            severity = _pick(rng, severities)
            incident_id = f"INC-{day:%Y%m%d}-{number}"
            incidents.append(
                (
                    incident_id,
                    _iso(occurred),
                    _pick(rng, zones),
                    kind,
                    severity,
                    rng.choice(DESCRIPTIONS[kind]),
                    rng.choice(REPORTERS),
                )
            )
            if kind == "near_miss" and rng.random() < 0.3:
                continue  # a near miss is sometimes closed with the briefing alone
            due = occurred.date() + timedelta(days=DUE_DAYS[severity])
            completed = _completion(rng, occurred, due, data_end)
            actions.append(
                (
                    f"CA-{incident_id[4:]}",
                    incident_id,
                    ACTIONS[kind],
                    rng.choice(OWNERS),
                    due.isoformat(),
                    _iso(completed) if completed else None,
                )
            )
    connection.executescript(SCHEMA)
    connection.executemany("INSERT INTO safety_incidents VALUES (?, ?, ?, ?, ?, ?, ?)", incidents)
    connection.executemany("INSERT INTO corrective_actions VALUES (?, ?, ?, ?, ?, ?)", actions)
    return {"safety_incidents": len(incidents), "corrective_actions": len(actions)}
