"""Kept for the imports that name it; the registry lives in phi.definitions.registry."""

from phi.definitions.registry import DAILY_WAREHOUSE_REPORT, DailyReportInput, validate_task_input

__all__ = ["DAILY_WAREHOUSE_REPORT", "DailyReportInput", "validate_task_input"]
