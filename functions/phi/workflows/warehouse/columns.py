"""The column contract of the daily warehouse KPIs: what each dataset must have, and what is read when present.

Its own module so that the compute registry (phi.definitions.functions) states the contract without importing
the KPI code and its models, which only a daily report needs (they cost Think's cold start ~27 ms otherwise)."""

REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "orders": ("order_id", "created_at", "shipped_at"),
    "picks": ("picker_id", "qty", "picked_at"),
    "shipments": ("order_id", "promised_at", "shipped_at"),
}
# Read when present: the promise (overdue backlog), line counts (backlog lines), picker names and shifts, and the
# shipment's carrier (late orders by carrier).
OPTIONAL_COLUMNS: dict[str, tuple[str, ...]] = {
    "orders": ("promised_ship_at", "line_count"),
    "picks": ("picker_name", "picker_shift"),
    "shipments": ("carrier",),
}
