from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from phi.workflows.timeframes import report_day
from phi.workflows.warehouse.kpis import TabularData, Thresholds, WarehouseKpis, compute_kpis
from phi.workflows.warehouse.report import (
    LATE_RATE_DEFINITION,
    NO_LLM_STATEMENT,
    Citation,
    fmt_int,
    fmt_pct,
    fmt_qty,
    render_report,
)
from phi.workflows.warehouse.sample_data import SampleSummary
from tests.support.warehouse_forms import run_report_queries

DAY = date(2026, 11, 20)


def _sample_kpis(path: Path, day: date) -> WarehouseKpis:
    return compute_kpis(day, run_report_queries(f"sqlite:///{path}", report_day(day)), Thresholds())


@pytest.fixture(scope="module")
def spike_kpis(sample_db: tuple[Path, SampleSummary]) -> WarehouseKpis:
    path, summary = sample_db
    return _sample_kpis(path, next(e.day for e in summary.events if e.kind == "late_spike"))


def test_formatting_is_consistent() -> None:
    assert fmt_int(1234567) == "1,234,567"
    assert fmt_qty(1234.0) == "1,234"
    assert fmt_qty(2.5) == "2.5"
    assert fmt_pct(0.0567) == "5.7%"
    assert fmt_pct(0) == "0.0%"


def test_report_carries_the_computed_figures(spike_kpis: WarehouseKpis) -> None:
    report = render_report(spike_kpis, narrative=None, agent_name="Wanda", warehouse="Rotterdam DC")
    t, late = spike_kpis.throughput, spike_kpis.late
    assert report.title.startswith("Daily warehouse report — Rotterdam DC — ")
    assert f"{spike_kpis.day:%d %B %Y}" in report.title
    assert report.markdown.startswith(f"# {report.title}\n")
    assert f"| Orders shipped | {t.orders_shipped:,} |" in report.markdown
    assert f"| Lines picked | {t.lines_picked:,} |" in report.markdown
    assert f"| Units picked | {round(t.units_picked):,} |" in report.markdown
    assert f"| Late rate (late ÷ counted) | {late.late_rate * 100:.1f}% |" in report.markdown
    assert f"| Open orders at end of day | {spike_kpis.backlog.orders:,} |" in report.markdown
    for picker in spike_kpis.pickers:
        assert f"| {picker.picker_id} | " in report.markdown
    sections = ["Executive summary", "Throughput", "Picks per hour", "Pick rate per picker", "Late orders"]
    for section in [*sections, "Backlog", "Anomalies", "SOP references", "Analysis"]:
        assert f"\n## {section}" in report.markdown


def test_summary_has_three_to_six_bullets_with_key_figures_and_anomalies(spike_kpis: WarehouseKpis) -> None:
    report = render_report(spike_kpis, narrative=None, agent_name="Wanda")
    bullets = report.summary.splitlines()
    assert 3 <= len(bullets) <= 6
    assert all(line.startswith("- ") for line in bullets)
    assert f"Shipped {spike_kpis.throughput.orders_shipped:,} orders" in report.summary
    late = spike_kpis.late
    counted = f"{late.late_count:,} of {late.rate_base:,} counted for the rate ({late.late_rate * 100:.1f}%"
    assert counted in report.summary
    assert "Critical: " in report.summary
    assert report.summary in report.markdown


def test_anomalies_are_listed_with_their_thresholds(spike_kpis: WarehouseKpis) -> None:
    report = render_report(spike_kpis, narrative=None, agent_name="Wanda")
    late = next(a for a in spike_kpis.anomalies if a.code == "LATE_RATE_HIGH")
    assert f"| {late.severity} | LATE_RATE_HIGH | — | {late.value * 100:.1f}% | 5.0% |" in report.markdown


def test_without_an_llm_the_analysis_says_so() -> None:
    kpis = compute_kpis(DAY, {}, Thresholds())
    report = render_report(kpis, narrative=None, agent_name="Wanda")
    assert report.markdown.count(NO_LLM_STATEMENT) == 1
    assert "PHI_LLM_PROVIDER=openai" in report.markdown
    assert "No picks were recorded on this day." in report.markdown
    assert "No relevant SOP passages were found or available" in report.markdown
    assert "every figure is within its threshold" not in report.markdown  # no data is not a quiet day
    assert "| critical | NO_DATA |" in report.markdown
    assert "## Data notes" in report.markdown  # the missing datasets


def test_the_late_rate_shows_its_denominator_and_defines_it(spike_kpis: WarehouseKpis) -> None:
    report = render_report(spike_kpis, narrative=None, agent_name="Wanda")
    late = spike_kpis.late
    assert late.rate_base == late.orders_due + late.promised_earlier_shipped_late
    assert f"| Orders promised for this day | {late.orders_due:,} |" in report.markdown
    assert f"| Orders promised earlier, shipped late this day | {late.promised_earlier_shipped_late:,} |" in (
        report.markdown
    )
    assert f"| Orders counted for the rate | {late.rate_base:,} |" in report.markdown
    assert f"| Late rate (late ÷ counted) | {late.late_count / late.rate_base * 100:.1f}% |" in report.markdown
    assert LATE_RATE_DEFINITION in report.markdown


def test_narrative_and_citations_are_rendered(spike_kpis: WarehouseKpis) -> None:
    citations = [
        Citation(
            document="SOP-12 Shipping.pdf",
            page=4,
            heading="Late shipments",
            text="Escalate to the shift lead\nwhen more than 5% ship late.",
            anomaly_code="LATE_RATE_HIGH",
        ),
        Citation(document="Picking | guide.docx", text="x" * 700),
    ]
    report = render_report(spike_kpis, narrative="DHL missed its pickups.", citations=citations, agent_name="W")
    assert "## Analysis\n\nDHL missed its pickups." in report.markdown
    assert NO_LLM_STATEMENT not in report.markdown
    assert "1. **SOP-12 Shipping.pdf, page 4, Late shipments** (relates to LATE_RATE_HIGH)" in report.markdown
    assert "   > Escalate to the shift lead\n   > when more than 5% ship late." in report.markdown
    assert "2. **Picking | guide.docx**" in report.markdown
    assert "x" * 600 + " …" in report.markdown
    assert "x" * 601 not in report.markdown


def test_table_cells_escape_pipes() -> None:
    kpis = compute_kpis(
        DAY,
        {
            "picks": TabularData(
                columns=["picker_id", "picker_name", "qty", "picked_at"],
                rows=[["P1", "Ann | Lee", 1, "2026-11-20T08:00:00"]],
            )
        },
        Thresholds(),
    )
    report = render_report(kpis, narrative=None, agent_name="Wanda")
    assert "| P1 | Ann \\| Lee |" in report.markdown
