"""The default SQL the DAILY_WAREHOUSE_REPORT workflow sends through the local agent's `db.query` tool.

Portable SQL (SQLite and PostgreSQL) with named parameters. The report day is the half-open interval
[:day_start, :day_end) in UTC; timestamps are compared as ISO-8601 strings, which orders correctly for
the 'YYYY-MM-DDTHH:MM:SS' columns of the sample schema and casts implicitly for PostgreSQL timestamps.
Each query returns one day's working set, never the history.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from pydantic import BaseModel

ParamValue = str | int | float

DATASETS = ("orders", "picks", "shipments")

# Orders still open at some point of the day: created by its end and not shipped before its start.
# One shipment per order in the sample schema; the LEFT JOIN keeps orders that have none yet.
ORDERS_SQL = """
SELECT o.order_id, o.created_at, o.promised_ship_at, o.priority, o.customer,
       s.carrier, s.shipped_at,
       (SELECT COUNT(*) FROM order_lines l WHERE l.order_id = o.order_id) AS line_count
FROM orders o
LEFT JOIN shipments s ON s.order_id = o.order_id
WHERE o.created_at < :day_end
  AND (s.shipped_at IS NULL OR s.shipped_at >= :day_start)
ORDER BY o.created_at, o.order_id
""".strip()

PICKS_SQL = """
SELECT p.pick_id, p.order_id, p.line_no, p.sku_id, k.zone_id, p.picker_id,
       r.name AS picker_name, r.shift AS picker_shift, p.qty, p.picked_at
FROM picks p
LEFT JOIN pickers r ON r.picker_id = p.picker_id
LEFT JOIN skus k ON k.sku_id = p.sku_id
WHERE p.picked_at >= :day_start AND p.picked_at < :day_end
ORDER BY p.picked_at, p.pick_id
""".strip()

SHIPMENTS_SQL = """
SELECT s.shipment_id, s.order_id, s.carrier, s.promised_at, s.shipped_at
FROM shipments s
WHERE (s.promised_at >= :day_start AND s.promised_at < :day_end)
   OR (s.shipped_at >= :day_start AND s.shipped_at < :day_end)
ORDER BY s.promised_at, s.shipment_id
""".strip()


class QuerySpec(BaseModel):
    sql: str
    params: dict[str, ParamValue]


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The report day as a half-open UTC interval (naive datetimes, UTC by convention)."""
    start = datetime.combine(day, time(0, 0))
    return start, start + timedelta(days=1)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def default_queries(day: date) -> dict[str, QuerySpec]:
    start, end = day_bounds(day)
    params: dict[str, ParamValue] = {"day_start": iso(start), "day_end": iso(end)}
    return {
        "orders": QuerySpec(sql=ORDERS_SQL, params=dict(params)),
        "picks": QuerySpec(sql=PICKS_SQL, params=dict(params)),
        "shipments": QuerySpec(sql=SHIPMENTS_SQL, params=dict(params)),
    }
