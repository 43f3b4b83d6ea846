"""The tables the role templates' queries read (shift handover, weekly incident summary), for tests that build
a customer's SQLite database of their own."""

HANDOVER_SCHEMA = """
CREATE TABLE shifts (shift_id TEXT, shift_date TEXT, shift TEXT, starts_at TEXT, ends_at TEXT, lead TEXT,
                     pickers_on_shift INTEGER);
CREATE TABLE orders (order_id TEXT, created_at TEXT, promised_ship_at TEXT, priority TEXT, customer TEXT);
CREATE TABLE shipments (shipment_id TEXT, order_id TEXT, carrier TEXT, promised_at TEXT, shipped_at TEXT);
CREATE TABLE shift_exceptions (exception_id TEXT, raised_at TEXT, kind TEXT, zone_id TEXT, order_id TEXT,
                               carrier TEXT, description TEXT, resolved_at TEXT);
"""

WEEKLY_SCHEMA = """
CREATE TABLE zones (zone_id TEXT, name TEXT);
CREATE TABLE safety_incidents (incident_id TEXT, occurred_at TEXT, zone_id TEXT, incident_type TEXT, severity TEXT,
                               description TEXT);
CREATE TABLE corrective_actions (action_id TEXT, incident_id TEXT, action TEXT, owner TEXT, due_date TEXT,
                                 completed_at TEXT);
"""
