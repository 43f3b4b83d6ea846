"""Warehouse domain of the DAILY_WAREHOUSE_REPORT workflow: sample data, default queries, KPIs, report."""
