"""Render the daily warehouse report (Markdown plus an executive summary) from computed KPIs.

Every figure comes from `WarehouseKpis`; the LLM only contributes the optional narrative text. Sentences are built
as plain text and every text that came from outside (names, ids, messages quoting data, SOP passages and document
names, the narrative) is written into the Markdown through phi.wording.markdown_literal, so it shows as itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from pydantic import BaseModel

from phi.wording import (
    NO_SOP_PASSAGES,
    capitalised,
    in_words,
    markdown_literal,
    markdown_literal_lines,
    markdown_literal_text,
)
from phi.wording import markdown_table as _table
from phi.workflows.timeframes import offset_text, zone
from phi.workflows.warehouse.kpis import DATA_CODES, Anomaly, HourlyPicks, PickerRate, WarehouseKpis
from phi.workflows.warehouse.sop_thresholds import limit_subject

NO_LLM_STATEMENT = (
    "Narrative analysis needs an LLM: none is configured (set PHI_LLM_PROVIDER=openai, with "
    "PHI_OPENAI_API_KEY or PHI_OPENAI_BASE_URL for an OpenAI-compatible server). "
    "All figures above are computed from the data."
)
MAX_QUOTE_CHARS = 600
SUMMARY_ANOMALIES = 2  # keeps the executive summary within six bullets
LATE_RATE_DEFINITION = (
    "The late rate is the late orders divided by the orders counted for the rate: the orders promised for this "
    "day plus the orders promised earlier that shipped late on it, each counted once."
)


class Citation(BaseModel):
    document: str
    page: int | None = None
    heading: str | None = None
    text: str
    anomaly_code: str | None = None
    # Set when the passage states a different limit from the one the report applied (phi.workflows.sop_retrieval):
    # the note under the quote, and, when the day's figure is over the SOP's value, a line for the summary.
    note: str | None = None
    over_stated_limit: str | None = None


class Report(BaseModel):
    title: str
    markdown: str
    summary: str


# --- number formatting --------------------------------------------------------------------------------


def fmt_int(value: float) -> str:
    return f"{round(value):,}"


def fmt_qty(value: float) -> str:
    return fmt_int(value) if float(value).is_integer() else f"{value:,.1f}"


def fmt_pct(rate: float) -> str:
    return f"{rate * 100:.1f}%"


def fmt_hours(hours: float) -> str:
    return f"{hours:,.1f} h"


def fmt_rate(lines_per_hour: float) -> str:
    return f"{lines_per_hour:,.1f}"


def fmt_threshold(anomaly: Anomaly) -> str:
    return _fmt_metric(anomaly.metric, anomaly.threshold)


def _fmt_metric(metric: str, value: float) -> str:
    if metric == "hourly_pick_ratio":
        # in whole percent, as the anomaly's detail says it ('24% of the median hour'): the row had shown 23.6%
        return f"{value * 100:.0f}%"
    if metric in ("late_rate", "unusable_row_share"):
        return fmt_pct(value)
    if metric == "backlog_oldest_age_hours":
        return fmt_hours(value)
    if metric == "picker_lines_per_hour":
        return f"{fmt_rate(value)} lines/h"
    return fmt_int(value)


# --- sections -----------------------------------------------------------------------------------------


MAX_SUMMARY_BULLETS = 6  # an executive summary of three to six lines


def _summary_bullets(kpis: WarehouseKpis, citations: Sequence[Citation] = ()) -> list[str]:
    throughput, late, backlog = kpis.throughput, kpis.late, kpis.backlog
    # A limit an SOP states more strictly than the configuration, which the day is over: as prominent as an anomaly.
    stricter = list(dict.fromkeys(c.over_stated_limit for c in citations if c.over_stated_limit))
    bullets = [
        f"Shipped {fmt_int(throughput.orders_shipped)} orders; picked "
        f"{fmt_int(throughput.lines_picked)} lines ({fmt_qty(throughput.units_picked)} units) "
        f"with {len(kpis.pickers)} pickers.",
        f"Late orders: {fmt_int(late.late_count)} of {fmt_int(late.rate_base)} counted for the rate "
        f"({fmt_pct(late.late_rate)}; limit {fmt_pct(kpis.thresholds.max_late_rate)}){_most_late_carrier(kpis)}.",
        f"Backlog at end of day: {fmt_int(backlog.orders)} open orders, {_oldest_open_order(kpis)}.",
    ]
    if not kpis.anomalies:
        within = f"No anomalies: every figure is within its {'configured ' if stricter else ''}threshold."
        return [*bullets, within, *stricter][:MAX_SUMMARY_BULLETS]
    critical = sum(1 for anomaly in kpis.anomalies if anomaly.severity == "critical")
    stricter = stricter[:1]  # one line of its own beside the anomalies (every note is in the SOP references)
    shown = _by_importance(kpis.anomalies)[: SUMMARY_ANOMALIES - len(stricter)]
    more = len(kpis.anomalies) - len(shown)
    bullets.append(
        f"{len(kpis.anomalies)} anomal{'y' if len(kpis.anomalies) == 1 else 'ies'} ({critical} critical)"
        + (f"; {more} more below." if more else ".")
    )
    anomaly_lines = [f"{anomaly.severity.capitalize()}: {anomaly.message}." for anomaly in shown]
    return (bullets + anomaly_lines + stricter)[:MAX_SUMMARY_BULLETS]  # the rest is in the sections below


def _oldest_open_order(kpis: WarehouseKpis) -> str:
    """'oldest 38.0 h', saying apart the open orders created on a date with no time of day (whose age is unknown)."""
    backlog = kpis.backlog
    if not backlog.without_time_of_day:
        return f"oldest {fmt_hours(backlog.oldest_age_hours)}"
    undated = (
        f"{fmt_int(backlog.without_time_of_day)} created on a date with no time of day, the earliest "
        f"{backlog.earliest_date_without_time:%Y-%m-%d}"
    )
    if backlog.oldest_created_at is None:
        return undated
    return f"oldest {fmt_hours(backlog.oldest_age_hours)} of those with a time of creation ({undated})"


def _most_late_carrier(kpis: WarehouseKpis) -> str:
    """ "; most with <carrier> (n of m late)" when the day's shipments name more than one carrier."""
    carriers = kpis.late.by_carrier
    if len(carriers) < 2 or carriers[0].late == 0:
        return ""
    top = carriers[0]
    return f"; most with {top.carrier} ({fmt_int(top.late)} of its {fmt_int(top.counted)})"


def _by_importance(anomalies: Sequence[Anomaly]) -> list[Anomaly]:
    """Anomalies about the data itself first (they qualify every other figure), then critical ones."""
    return sorted(anomalies, key=lambda a: (a.code not in DATA_CODES, a.severity != "critical"))


def _data_banner(kpis: WarehouseKpis) -> list[str]:
    """A warning above everything else when the data itself is missing or partly unreadable."""
    data = [a for a in _by_importance(kpis.anomalies) if a.code in DATA_CODES]
    return [f"> **⚠ {markdown_literal(f'{in_words(a.code)}: {a.message}.')}**" for a in data]


def _throughput_section(kpis: WarehouseKpis) -> list[str]:
    t = kpis.throughput
    rows = [
        ["Orders received", fmt_int(t.orders_received)],
        ["Orders shipped", fmt_int(t.orders_shipped)],
        ["Lines picked", fmt_int(t.lines_picked)],
        ["Units picked", fmt_qty(t.units_picked)],
    ]
    return ["## Throughput", "", *_table(["Measure", "Value"], rows)]


def _hourly_section(kpis: WarehouseKpis) -> list[str]:
    active = [h for h in kpis.hourly if h.lines]
    untimed = kpis.throughput.lines_without_time_of_day
    untimed_note = (
        f"{fmt_int(untimed)} of the day's {fmt_int(kpis.throughput.lines_picked)} lines were picked on a date with no "
        "time of day and are not in this table."
    )
    if not active:
        return ["## Picks per hour", "", untimed_note if untimed else "No picks were recorded on this day."]
    dips = {a.subject for a in kpis.anomalies if a.code == "HOURLY_PICK_DIP"}
    window = kpis.hourly[active[0].hour : active[-1].hour + 1]
    rows = [
        [f"{h.hour:02d}:00-{h.hour + 1:02d}:00", *_hour_figures(h),
         "; ".join(flag for flag in ("dip" if f"{h.hour:02d}:00" in dips else "", h.clock_change()) if flag)]
        for h in window
    ]  # fmt: skip
    table = _table(["Hour", "Lines", "Units", "Flag"], rows)
    heading = f"## Picks per hour ({markdown_literal(kpis.timezone)})"
    return [heading, "", *table, *(["", untimed_note] if untimed else [])]


def _hour_figures(h: HourlyPicks) -> list[str]:
    """An hour's lines and units; none for an hour the clocks skipped, which is no hour nobody picked in."""
    return ["—", "—"] if h.length_hours == 0 else [fmt_int(h.lines), fmt_qty(h.units)]


def _picker_section(kpis: WarehouseKpis) -> list[str]:
    if not kpis.pickers:
        return ["## Pick rate per picker", "", "No picks were recorded on this day."]
    slow = {a.subject for a in kpis.anomalies if a.code == "PICKER_SLOW"}
    rows = [
        [p.picker_id, p.picker_name or "", p.shift or "", fmt_int(p.lines), fmt_qty(p.units),
         *_picker_times(p, kpis.timezone),
         "slow" if p.picker_id in slow else ""]
        for p in kpis.pickers
    ]  # fmt: skip
    header = [
        "Picker",
        "Name",
        "Shift",
        "Lines",
        "Units",
        "First-last pick",
        "Active time",
        "Lines/h",
        "Flag",
    ]
    note = (
        f"Lines per hour over each picker's first to last pick (at least "
        f"{fmt_hours(kpis.thresholds.min_picker_active_hours)}); minimum "
        f"{fmt_rate(kpis.thresholds.min_picker_lines_per_hour)} lines/h for pickers with at least "
        f"{fmt_int(kpis.thresholds.min_picker_lines_for_rating)} lines."
    )
    if any(p.lines_without_time_of_day for p in kpis.pickers):
        note += (
            " A picker with picks dated with no time of day has no first-last pick nor rate: when those were picked "
            "cannot be told."
        )
    return ["## Pick rate per picker", "", *_table(header, rows), "", note]


def _picker_times(p: PickerRate, timezone: str) -> list[str]:
    """First-last pick, active time and lines per hour; 'n/a' when some picks have no time of day."""
    if p.first_pick_at is None or p.last_pick_at is None or p.active_hours is None or p.lines_per_hour is None:
        return [f"n/a ({fmt_int(p.lines_without_time_of_day)} with no time of day)", "n/a", "n/a"]
    span = f"{clock_text(p.first_pick_at, timezone)}-{clock_text(p.last_pick_at, timezone)}"
    return [span, fmt_hours(p.active_hours), fmt_rate(p.lines_per_hour)]


def clock_text(at: datetime, timezone: str, form: str = "%H:%M") -> str:
    """A local time as the site's clock showed it, with its UTC offset when the clock showed that time twice (the
    hour an autumn change repeats): "01:30-01:10" would read backwards, "01:30 UTC-04:00-01:10 UTC-05:00" does not."""
    text = at.strftime(form)
    try:
        tz = zone(timezone)
    except ValueError:
        return text
    wall = at.replace(tzinfo=None)
    if wall.replace(tzinfo=tz, fold=0).utcoffset() == wall.replace(tzinfo=tz, fold=1).utcoffset():
        return text
    return f"{text} {offset_text(at.utcoffset() or timedelta(0))}"


def _late_section(kpis: WarehouseKpis) -> list[str]:
    late = kpis.late
    rows = [
        ["Orders promised for this day", fmt_int(late.orders_due)],
        ["Orders promised earlier, shipped late this day", fmt_int(late.promised_earlier_shipped_late)],
        ["Orders counted for the rate", fmt_int(late.rate_base)],
        ["Late orders", fmt_int(late.late_count)],
        ["Late rate (late ÷ counted)", fmt_pct(late.late_rate)],
        ["Shipped this day after their promise", fmt_int(late.shipped_late)],
        ["Promised this day, not shipped by its end", fmt_int(late.unshipped_past_promise)],
    ]
    definition = LATE_RATE_DEFINITION
    if late.lateness_unknown:
        rows.insert(2, ["Left out: shipped on the promise's date, with no time of day", fmt_int(late.lateness_unknown)])
        definition += (
            " Orders shipped on the date of a promise with a time of day, their shipping time unknown (a date alone), "
            "are neither late nor on time and are left out of it."
        )
    lines = ["## Late orders", "", *_table(["Measure", "Value"], rows), "", definition, *_carrier_table(kpis)]
    if late.late_order_ids:
        listed = ", ".join(late.late_order_ids)
        suffix = (
            f" (first {len(late.late_order_ids)} of {fmt_int(late.late_count)})"
            if late.late_order_ids_truncated
            else ""
        )
        lines += ["", markdown_literal(f"Late order ids, earliest promise first{suffix}: {listed}")]
    return lines


MAX_CARRIER_ROWS = 20


def _carrier_table(kpis: WarehouseKpis) -> list[str]:
    """Late orders per carrier, most late first, when the shipments name more than one carrier."""
    carriers = kpis.late.by_carrier
    if len(carriers) < 2:
        return []
    rows = [[c.carrier, fmt_int(c.counted), fmt_int(c.late), fmt_pct(c.late_rate)] for c in carriers[:MAX_CARRIER_ROWS]]
    lines = ["", "### By carrier", "", *_table(["Carrier", "Orders counted", "Late", "Late rate"], rows)]
    unlisted = kpis.late.carriers - min(len(carriers), MAX_CARRIER_ROWS)
    if unlisted > 0:
        lines += ["", f"{unlisted:,} more carriers with fewer late orders are not listed."]
    return [*lines, "", "An order shipped in parts by two carriers is counted with each."]


def _backlog_section(kpis: WarehouseKpis) -> list[str]:
    backlog = kpis.backlog
    rows = [
        ["Open orders at end of day", fmt_int(backlog.orders)],
        ["Open order lines", fmt_int(backlog.lines) if backlog.lines is not None else "n/a"],
        ["Open orders past their promise", fmt_int(backlog.overdue)],
        [
            "Oldest open order created",
            clock_text(backlog.oldest_created_at, kpis.timezone, "%Y-%m-%d %H:%M")
            if backlog.oldest_created_at
            else "n/a",
        ],
        ["Age of the oldest open order", fmt_hours(backlog.oldest_age_hours) if backlog.oldest_created_at else "n/a"],
    ]
    if backlog.without_time_of_day:
        rows += [
            ["Open orders created on a date, no time of day (not in the age)", fmt_int(backlog.without_time_of_day)],
            ["Earliest of those dates", f"{backlog.earliest_date_without_time:%Y-%m-%d}"],
        ]
    return ["## Backlog", "", *_table(["Measure", "Value"], rows)]


def _anomaly_section(kpis: WarehouseKpis) -> list[str]:
    if not kpis.anomalies:
        return ["## Anomalies", "", "None: every figure is within its threshold."]
    rows = [
        [
            capitalised(a.severity),
            anomaly_title(a.code),
            a.subject or "—",
            _fmt_metric(a.metric, a.value),
            fmt_threshold(a),
            a.message,
        ]
        for a in _by_importance(kpis.anomalies)
    ]
    return [
        "## Anomalies",
        "",
        *_table(["Severity", "Anomaly", "Subject", "Value", "Threshold", "Detail"], rows),
    ]


def anomaly_title(code: str) -> str:
    """An anomaly's code as a reader says it: 'LATE_RATE_HIGH' → 'Late rate high' (the code stays in the KPIs)."""
    return capitalised(in_words(code.lower()))


def _listed(items: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return " and ".join(item for item in (", ".join(items[:-1]), items[-1] if items else "") if item)


def relates_to(anomaly_codes: str) -> str:
    """Why a passage is cited, as a sentence, from its codes (one passage cited for several is listed once, its
    codes joined by ', '): the limits it states ('threshold max_late_rate') and the anomalies it is about
    ('LATE_RATE_HIGH', named as the Anomalies table names them). Nothing without a code."""
    codes = [code for code in (part.strip() for part in anomaly_codes.split(",")) if code]
    limits = [limit_subject(code.removeprefix("threshold ")) for code in codes if code.startswith("threshold ")]
    anomalies = [f"“{anomaly_title(code)}”" for code in codes if not code.startswith("threshold ")]
    said = []
    if limits:
        said.append(f"the limit{'s' if len(limits) > 1 else ''} on {_listed(limits)}")
    if anomalies:
        said.append(f"the anomal{'ies' if len(anomalies) > 1 else 'y'} {_listed(anomalies)}")
    return f"It relates to {', and to '.join(said)}." if said else ""


def _citation_section(citations: Sequence[Citation]) -> list[str]:
    lines = ["## SOP references", ""]
    if not citations:
        return [*lines, NO_SOP_PASSAGES]
    for number, citation in enumerate(citations, 1):
        where = ", ".join(
            part for part in (citation.document, f"page {citation.page}" if citation.page is not None else "",
                              citation.heading or "") if part
        )  # fmt: skip
        relates = relates_to(citation.anomaly_code or "")
        text = citation.text.strip()
        quote = text if len(text) <= MAX_QUOTE_CHARS else text[:MAX_QUOTE_CHARS].rstrip() + " …"
        lines.append(f"{number}. **{markdown_literal(where)}**")
        lines += ["", f"   {markdown_literal(relates)}", ""] if relates else []
        lines += [f"   > {line}" for line in markdown_literal_lines(quote)]
        lines += ["", f"   _Note: {markdown_literal(citation.note)}_", ""] if citation.note else [""]
    return lines[:-1]


def _warnings_section(kpis: WarehouseKpis) -> list[str]:
    if not kpis.data_warnings:
        return []
    return ["## Data notes", "", *[f"- {markdown_literal(warning)}" for warning in kpis.data_warnings]]


# --- entry point --------------------------------------------------------------------------------------


def standard_title(kpis: WarehouseKpis, warehouse: str | None = None) -> str:
    """The report's heading when its definition gives none: 'Daily warehouse report — <warehouse> — <day>'."""
    return f"Daily warehouse report{f' — {warehouse}' if warehouse else ''} — {kpis.day:%A %d %B %Y}"


def _analysis(narrative: str | None, narrative_refused: str | None) -> str:
    if narrative and narrative.strip():
        return markdown_literal_text(narrative.strip())
    if narrative_refused:
        skipped = f"Narrative analysis skipped: {narrative_refused} All figures above are computed from the data."
        return markdown_literal(skipped)
    return NO_LLM_STATEMENT


def render_report(
    kpis: WarehouseKpis,
    *,
    narrative: str | None,
    citations: Sequence[Citation] = (),
    agent_name: str,
    warehouse: str | None = None,
    narrative_refused: str | None = None,
    title: str | None = None,
) -> Report:
    """``agent_name``: who prepared it (the line under the heading); ``title``: the heading (standard_title when
    not given); ``narrative_refused``: why the model was not asked although one is configured (a spent LLM
    budget)."""
    title = title or standard_title(kpis, warehouse)
    bullets = [f"- {markdown_literal(bullet)}" for bullet in _summary_bullets(kpis, citations)]
    prepared = (
        f"Prepared by {agent_name} for {kpis.period_start:%Y-%m-%d %H:%M} to {kpis.period_end:%Y-%m-%d %H:%M} "
        f"{kpis.timezone}; all times below are in {kpis.timezone}."
    )
    sections = [
        [f"# {markdown_literal(title)}", "", markdown_literal(prepared),
         *(["", *_data_banner(kpis)] if _data_banner(kpis) else [])],
        ["## Executive summary", "", *bullets],
        _throughput_section(kpis), _hourly_section(kpis), _picker_section(kpis), _late_section(kpis),
        _backlog_section(kpis), _anomaly_section(kpis), _citation_section(citations),
        ["## Analysis", "", _analysis(narrative, narrative_refused)],
        _warnings_section(kpis),
    ]  # fmt: skip
    markdown = "\n\n".join("\n".join(section).rstrip() for section in sections if section) + "\n"
    return Report(title=title, markdown=markdown, summary="\n".join(bullets))
