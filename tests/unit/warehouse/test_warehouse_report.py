from __future__ import annotations

from datetime import date
from pathlib import Path
from uuid import uuid4

import pytest

from phi.documents.models import SearchHit
from phi.workflows.sop_retrieval import anomaly_citations
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
from phi.workflows.warehouse.sop_thresholds import SourcedThreshold
from tests.support.fake_ports import FakeDocuments
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
    row = f"| {late.severity.capitalize()} | Late rate high | — | {late.value * 100:.1f}% | 5.0% |"
    assert row in report.markdown and "LATE_RATE_HIGH" not in report.markdown  # words, not codes


def test_without_an_llm_the_analysis_says_so() -> None:
    kpis = compute_kpis(DAY, {}, Thresholds())
    report = render_report(kpis, narrative=None, agent_name="Wanda")
    assert report.markdown.count(NO_LLM_STATEMENT) == 1
    assert "PHI_LLM_PROVIDER=openai" in report.markdown
    assert "No picks were recorded on this day." in report.markdown
    assert "No relevant SOP passage was found for this report. The agent cites the SOPs uploaded" in report.markdown
    assert "every figure is within its threshold" not in report.markdown  # no data is not a quiet day
    assert "| Critical | No data |" in report.markdown
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
    assert (
        "1. **SOP-12 Shipping.pdf, page 4, Late shipments**\n\n   It relates to the anomaly “Late rate high”.\n\n"
        "   > Escalate to the shift lead\n   > when more than 5% ship late."
    ) in report.markdown
    assert "2. **Picking \\| guide.docx**\n   > xxx" in report.markdown  # no reason given: the quote follows
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


def _hit(text: str, heading: str) -> SearchHit:
    return SearchHit(
        document_id=uuid4(), filename="SOP-OUT-04.docx", chunk_index=0, page=None, heading=heading, text=text, score=0.9
    )


def test_a_cited_passage_stating_another_limit_says_which_limit_the_report_applied(spike_kpis: WarehouseKpis) -> None:
    # Given the late-spike day (measured against the configured 5%) and an SOP whose service level says 4%
    assert any(a.code == "LATE_RATE_HIGH" for a in spike_kpis.anomalies)
    stricter = "Late shipments must stay at or below 4% of the orders due on any day."
    documents = FakeDocuments(hits=[_hit(stricter, "2. Service level")])

    # When the report cites it
    found = anomaly_citations(documents, {"kpis": spike_kpis.model_dump(mode="json")})["citations"]
    citations = [Citation.model_validate(c) for c in found]
    markdown = render_report(spike_kpis, narrative=None, citations=citations, agent_name="Wanda").markdown

    # Then the passage is quoted with a note naming both limits and how to apply the SOP's
    assert stricter in markdown
    note = "_Note: This passage states 4.0% as the limit on the late rate; the report applies the configured 5.0%. "
    assert note in markdown
    assert f"this day's late rate ({spike_kpis.late.late_rate:.1%}) is over it." in markdown
    assert "To apply the SOP's value, name SOP-OUT-04.docx for max_late_rate under threshold_sources" in markdown

    # And no note where the passage agrees, states nothing, or is where the threshold was read from
    agrees = FakeDocuments(hits=[_hit("Late shipments must stay at or below 5% of the orders due.", "Service level")])
    silent = FakeDocuments(hits=[_hit("Late shipments are escalated to the shift lead.", "Service level")])
    # a figure of another kind in a sentence about late orders is not a limit the SOP states
    other_figure = FakeDocuments(
        hits=[_hit("Customer service must answer 95% of calls about late orders within 2 minutes.", "Service level")]
    )
    for same in (agrees, silent, other_figure):
        assert all(
            c["note"] is None
            for c in anomaly_citations(same, {"kpis": spike_kpis.model_dump(mode="json")})["citations"]
        )
    # nor where the configuration names an SOP for the limit, whether a value could be read from it or not
    for value in (0.05, None):
        sourced = SourcedThreshold(field="max_late_rate", document="SOP-OUT-04.docx", value=value, text="x")
        args = {"kpis": spike_kpis.model_dump(mode="json"), "sourced_thresholds": [sourced.model_dump()]}
        found = anomaly_citations(documents, args)["citations"]
        late_citations = [c for c in found if "LATE_RATE_HIGH" in (c["anomaly_code"] or "")]
        assert late_citations and all(c["note"] is None for c in late_citations)


def test_a_stricter_sop_limit_is_cited_even_on_a_day_within_the_configured_one(spike_kpis: WarehouseKpis) -> None:
    # Given a day within the configured 5% (4.7%, no anomaly) and an SOP that states 4%
    day = spike_kpis.model_copy(
        update={"anomalies": [], "late": spike_kpis.late.model_copy(update={"late_rate": 0.047})}
    )
    stricter = "Late shipments must stay at or below 4% of the orders due on any day."
    documents = FakeDocuments(hits=[_hit(stricter, "2. Service level")])

    # When the report looks for citations
    found = anomaly_citations(documents, {"kpis": day.model_dump(mode="json")})["citations"]

    # Then the SOP's passage is cited once, saying the day is over the SOP's value
    [cited] = found
    assert cited["anomaly_code"] == "threshold max_late_rate" and cited["text"] == stricter
    assert "states 4.0% as the limit on the late rate; the report applies the configured 5.0%." in cited["note"]
    assert "By the SOP's value, this day's late rate (4.7%) is over it." in cited["note"]
    markdown = render_report(day, narrative=None, citations=[Citation.model_validate(cited)], agent_name="W").markdown
    assert "It relates to the limit on the late rate." in markdown and "is over it" in markdown
    merged = Citation.model_validate({**cited, "anomaly_code": "threshold max_late_rate, LATE_RATE_HIGH"})
    merged_markdown = render_report(day, narrative=None, citations=[merged], agent_name="W").markdown
    # one passage, two codes: one sentence
    assert "It relates to the limit on the late rate, and to the anomaly “Late rate high”." in merged_markdown
    # and the summary says so beside 'no anomalies', which now speaks of the configured thresholds only
    assert "- No anomalies: every figure is within its configured threshold.\n" in markdown
    assert (
        "- Over the SOP's limit: SOP-OUT-04.docx states 4.0% for the late rate, stricter than the configured 5.0%; "
        "this day's is 4.7% (see SOP references)." in markdown
    )

    # And nothing is cited when the SOP agrees, or states nothing as a limit, or no document is there
    for hits in (
        [_hit("Late shipments must stay at or below 5% of the orders due on any day.", "Service level")],
        [_hit("Late shipments are reviewed every morning.", "Service level")],
        [],
    ):
        assert anomaly_citations(FakeDocuments(hits=hits), {"kpis": day.model_dump(mode="json")})["citations"] == []


def test_the_carrier_that_missed_its_pickups_leads_the_late_orders_by_carrier(spike_kpis: WarehouseKpis) -> None:
    from phi.workflows.warehouse.sample_data import CARRIERS

    missed = CARRIERS[0]  # the sample's late-spike day: this carrier misses every pickup from 13:00
    top, *others = spike_kpis.late.by_carrier
    assert top.carrier == missed and top.late > max(c.late for c in others)
    report = render_report(spike_kpis, narrative=None, agent_name="Wanda").markdown
    section = report.split("### By carrier", 1)[1].split("\n## ", 1)[0]
    assert f"| {missed} | {fmt_int(top.counted)} | {fmt_int(top.late)} | {fmt_pct(top.late_rate)} |" in section
    assert section.index(f"| {missed} |") < min(section.index(f"| {c.carrier} |") for c in others)
    summary = report.split("## Late orders", 1)[0]  # said in the summary at the top
    assert f"most with {missed} ({fmt_int(top.late)} of its {fmt_int(top.counted)})" in summary


def test_one_carrier_or_none_adds_no_carrier_table() -> None:
    shipments = TabularData(
        columns=["order_id", "promised_at", "shipped_at", "carrier"],
        rows=[["A", "2026-11-20T10:00:00", "2026-11-20T11:00:00", "DHL"]],
    )
    kpis = compute_kpis(DAY, {"shipments": shipments}, Thresholds())
    report = render_report(kpis, narrative=None, agent_name="Wanda").markdown
    assert "### By carrier" not in report and "most with" not in report


def test_report_tables_align_their_figures_right_and_their_words_left() -> None:
    from phi.wording import markdown_table

    lines = markdown_table(
        ["Carrier", "Orders", "Late rate", "Age", "Rate", "Day", "Time", "Note", "Nothing"],
        [
            ["DHL", "1,283", "12.5%", "3.2 h", "41.7 lines/h", "2026-11-20", "08:05", "ORD|7", ""],
            ["UPS", "—", "-0.4%", "n/a", "7", "2026-11-21", "09:10", "7", "—"],
        ],
    )
    assert lines[1] == "|---|---:|---:|---:|---:|---|---|---|---|"
    assert lines[2] == "| DHL | 1,283 | 12.5% | 3.2 h | 41.7 lines/h | 2026-11-20 | 08:05 | ORD\\|7 |  |"
    assert lines[3].startswith("| UPS | — | -0.4% | n/a |")


def _anomaly_rows(markdown: str) -> list[list[str]]:
    section = markdown.split("## Anomalies\n\n", 1)[1].split("\n\n", 1)[0]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in section.splitlines()[2:]]


def test_an_anomalys_value_and_threshold_are_written_as_its_detail_writes_them(spike_kpis: WarehouseKpis) -> None:
    # The late-spike day has an hourly dip, whose detail says '44% of the median hour' (the row had said 44.2%)
    assert any(a.code == "HOURLY_PICK_DIP" for a in spike_kpis.anomalies)
    rows = _anomaly_rows(render_report(spike_kpis, narrative=None, agent_name="Wanda").markdown)
    assert len(rows) == len(spike_kpis.anomalies) >= 3
    for _, _, _, value, threshold, detail in rows:
        for figure in (value, threshold):
            number = figure.removesuffix(" lines/h").removesuffix(" h")
            assert number in detail, (figure, detail)


def test_a_passage_stating_two_limits_reads_as_sentences(spike_kpis: WarehouseKpis) -> None:
    # Given one passage that states a stricter late rate and a stricter backlog than the configured limits
    text = "Late shipments must stay at or below 4% of the orders due. The backlog must not exceed 150 open orders."
    found = anomaly_citations(FakeDocuments(hits=[_hit(text, "Service level")]), {"kpis": spike_kpis.model_dump()})
    [cited] = found["citations"]
    markdown = render_report(
        spike_kpis, narrative=None, citations=[Citation.model_validate(cited)], agent_name="W"
    ).markdown

    # Then its notes are sentences one after the other (the second had begun in lower case), and why it is cited
    # is a sentence too (it had been '(relates to late rate high and the max backlog orders limit)')
    assert (
        "in the agent's configuration. This passage states 150 as the limit on the orders open at the end"
        in (cited["note"])
    )
    assert ". this" not in cited["note"]
    assert (
        "   It relates to the limit on the orders open at the end of the day, and to the anomaly “Late rate high”."
    ) in markdown
    assert "relates to the max" not in markdown
