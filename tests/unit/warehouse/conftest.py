from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from phi.workflows.warehouse.sample_data import SampleSummary, generate_sample_warehouse

SAMPLE_END = date(2026, 11, 20)
SAMPLE_DAYS = 7


@pytest.fixture(scope="session")
def sample_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, SampleSummary]]:
    folder = tmp_path_factory.mktemp("warehouse")
    path = folder / "warehouse.sqlite"
    summary = generate_sample_warehouse(path, days=SAMPLE_DAYS, end_date=SAMPLE_END, seed=42)
    yield path, summary
    path.unlink(missing_ok=True)
