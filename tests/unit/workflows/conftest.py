from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from phi.workflows.warehouse.sample_data import generate_sample_warehouse

REPORT_DAY = date(2026, 11, 20)


@pytest.fixture(scope="session")
def warehouse_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("workflow-warehouse") / "warehouse.sqlite"
    generate_sample_warehouse(path, days=7, end_date=REPORT_DAY, seed=42)
    yield path
    path.unlink(missing_ok=True)
