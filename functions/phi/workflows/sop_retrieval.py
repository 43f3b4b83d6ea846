"""SOP passages relevant to the day's anomalies, for citation in the report."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from phi.documents.models import RELEVANT_SCORE, SearchHit
from phi.domain.document_keys import matching_names
from phi.workflows.ports import DocumentsPort
from phi.workflows.warehouse.kpis import WarehouseKpis
from phi.workflows.warehouse.report import Citation
from phi.workflows.warehouse.sop_thresholds import (
    READERS,
    SourcedThreshold,
    fmt_limit,
    limit_subject,
    read_threshold,
)

_PASSAGES_PER_ANOMALY = 2
_PASSAGES_PER_LIMIT = 3  # searched for a limit an SOP may state differently
_MIN_SCORE = RELEVANT_SCORE
_NEAR_BEST = 0.1  # a second passage is cited only when it is about as relevant as the best one
# What an SOP would say about each anomaly: a better search query than the figures alone.
_TOPICS = {
    "LATE_RATE_HIGH": "maximum share of late shipments; what to do when orders ship after their promised time",
    "PICKER_SLOW": "minimum pick rate per picker in lines per hour; coaching a slow picker",
    "BACKLOG_ORDERS_HIGH": "limit on open orders in the backlog at the end of the day; overtime and escalation",
    "BACKLOG_AGE_HIGH": "maximum age of the oldest open order; escalation of old orders",
    "HOURLY_PICK_DIP": "drop in picks per hour; scanner or system outage procedure",
}


# The threshold each anomaly is measured against (a field of WarehouseKpis.thresholds that an SOP may state).
_THRESHOLD_OF = {
    "LATE_RATE_HIGH": "max_late_rate",
    "PICKER_SLOW": "min_picker_lines_per_hour",
    "BACKLOG_ORDERS_HIGH": "max_backlog_orders",
    "BACKLOG_AGE_HIGH": "max_backlog_age_hours",
    "HOURLY_PICK_DIP": "min_hourly_pick_ratio",
}


def different_limit_note(
    citation: Citation, kpis: WarehouseKpis, sourced: set[str], field: str | None = None
) -> str | None:
    """What the report says under a cited passage that states another limit than the one it applied: the reader
    would otherwise see an SOP's 4% quoted under an anomaly measured against a configured 5% — or, with no anomaly
    at all, never learn that the day is over the SOP's stricter limit. Nothing when the agent's configuration names
    an SOP for the threshold (`sourced`: read or not, the report says which limit applied and why) or the passage
    states no value for it as a limit. `field` defaults to the threshold of the citation's anomaly."""
    notes = _limit_notes(citation, kpis, sourced, field)
    return notes.get("note")


# The day's figure each upper limit is checked against (the lower limits apply per picker and per hour).
_DAYS_FIGURE: dict[str, tuple[str, Callable[[WarehouseKpis], float]]] = {
    "max_late_rate": ("late rate", lambda kpis: kpis.late.late_rate),
    "max_backlog_orders": ("backlog", lambda kpis: float(kpis.backlog.orders)),
    "max_backlog_age_hours": ("oldest open order's age", lambda kpis: kpis.backlog.oldest_age_known),
}


def _limit_notes(citation: Citation, kpis: WarehouseKpis, sourced: set[str], field: str | None) -> dict[str, str]:
    """The Citation fields for a passage stating another limit than the applied one: its `note` and, when the day's
    figure is over the SOP's (upper) limit, the summary's `over_stated_limit` line; nothing otherwise (see
    different_limit_note). The passage is read once for both."""
    field = field or _THRESHOLD_OF.get(citation.anomaly_code or "")
    if field is None or field in sourced:
        return {}
    stated = read_threshold(field, citation.text, citation.heading, as_limit=True)
    applied = getattr(kpis.thresholds, field, None)
    if stated is None or not isinstance(applied, int | float) or abs(stated - applied) <= 1e-9 * max(1.0, abs(applied)):
        return {}
    configured = fmt_limit(field, float(applied))
    measured, over = "", None
    if field in _DAYS_FIGURE:
        name, figure_of = _DAYS_FIGURE[field]
        figure = figure_of(kpis)
        side = "over" if figure > stated else "within"
        measured = f" By the SOP's value, this day's {name} ({fmt_limit(field, figure)}) is {side} it."
        if figure > stated:
            over = (
                f"Over the SOP's limit: {citation.document} states {fmt_limit(field, stated)} for the {name}, "
                f"stricter than the configured {configured}; this day's is {fmt_limit(field, figure)} "
                "(see SOP references)."
            )
    # Plain sentences (the report escapes them as it quotes them), each starting with a capital: one passage cited
    # for several limits carries their notes one after the other.
    note = (
        f"This passage states {fmt_limit(field, stated)} as the limit on {limit_subject(field)}; the report applies "
        f"the configured {configured}.{measured} To apply the SOP's value, name {citation.document} for {field} "
        "under threshold_sources in the agent's configuration."
    )
    return {"note": note, **({"over_stated_limit": over} if over else {})}


def stated_limit_citations(
    documents: DocumentsPort, kpis: WarehouseKpis, sourced: set[str], noted: set[str]
) -> list[Citation]:
    """For each threshold neither sourced from an SOP nor noted already, the most relevant passage of the
    agent's documents that states another limit for it (searched by the threshold's topic, whether or not the day
    crossed the configured limit), cited with its note."""
    if not documents.has_documents():
        return []
    cited = []
    for field in _THRESHOLD_OF.values():
        if field in sourced or field in noted:
            continue
        for hit in documents.search(READERS[field].topic, _PASSAGES_PER_LIMIT):
            if hit.score < _MIN_SCORE:
                continue
            citation = Citation(
                document=hit.filename,
                page=hit.page,
                heading=hit.heading,
                text=hit.text,
                anomaly_code=f"threshold {field}",
            )
            notes = _limit_notes(citation, kpis, sourced, field)
            if notes:
                cited.append(citation.model_copy(update=notes))
                break
    return cited


def citations_for_anomalies(
    documents: DocumentsPort, kpis: WarehouseKpis, topics: dict[str, str] | None = None
) -> list[Citation]:
    if not kpis.anomalies or not documents.has_documents():
        return []
    topics = _TOPICS if topics is None else topics
    citations: list[Citation] = []
    seen: set[tuple[str, int | None, str]] = set()
    for anomaly in kpis.anomalies:
        query = f"{topics.get(anomaly.code, anomaly.metric)}. {anomaly.message}"
        hits = documents.search(query, _PASSAGES_PER_ANOMALY)
        best = max((hit.score for hit in hits), default=0.0)
        for hit in hits:
            key = (hit.filename, hit.page, hit.text[:80])
            if hit.score < max(_MIN_SCORE, best - _NEAR_BEST) or key in seen:
                continue
            seen.add(key)
            citations.append(
                Citation(
                    document=hit.filename,
                    page=hit.page,
                    heading=hit.heading,
                    text=hit.text,
                    anomaly_code=anomaly.code,
                )
            )
    return citations


def thresholds_from_sops(documents: DocumentsPort, sources: dict[str, str]) -> list[SourcedThreshold]:
    """For each threshold the agent's config ties to an SOP, the value that SOP states, with the passage it was
    read from; when none could be read, value None with the document's most relevant passage (if any)."""
    found = []
    for field, document in sources.items():
        reader = READERS[field]
        hits = documents.search(reader.topic, 8)
        own = _passages_of(document, hits)
        stated = next(
            ((hit, value) for hit in own if (value := read_threshold(field, hit.text, hit.heading)) is not None),
            None,
        )
        hit, value = stated if stated is not None else (own[0] if own else None, None)
        found.append(
            SourcedThreshold(
                # the document as it is stored, so that its passage is cited once, under the name it has now
                field=field, document=hit.filename if hit else document, value=value,
                page=hit.page if hit else None, heading=hit.heading if hit else None, text=hit.text if hit else None,
            )
        )  # fmt: skip
    return found


def _passages_of(document: str, hits: list[SearchHit]) -> list[SearchHit]:
    """The hits from the document the configuration names, by its name as uploaded (or, for a document stored
    before names were kept as uploaded, by the name it was stored under: document_keys.matching_names)."""
    names = set(matching_names(document, {hit.filename for hit in hits}))
    return [hit for hit in hits if hit.filename in names]


def merge_same_passages(citations: list[Citation]) -> list[Citation]:
    """One citation per passage, naming everything it supports (a threshold's source and the anomaly it set)."""
    merged: dict[tuple[str, int | None, str | None], Citation] = {}
    for citation in citations:
        key = (citation.document, citation.page, citation.text)
        if key in merged and citation.anomaly_code:
            first = merged[key]
            codes = ", ".join(code for code in (first.anomaly_code, citation.anomaly_code) if code)
            notes = " ".join(dict.fromkeys(note for note in (first.note, citation.note) if note)) or None
            over = first.over_stated_limit or citation.over_stated_limit
            merged[key] = first.model_copy(update={"anomaly_code": codes, "note": notes, "over_stated_limit": over})
        else:
            merged.setdefault(key, citation)
    return list(merged.values())


# --- search strategies a search_docs node may name (phi.definitions.functions.SEARCHES) ---------------------


def threshold_sources(documents: DocumentsPort, args: dict[str, Any]) -> dict[str, Any]:
    sources = args.get("sources") or {}
    if not isinstance(sources, dict):
        raise ValueError("sources must map a threshold to the filename of the SOP that states it")
    unknown = sorted(set(sources) - set(READERS))
    if unknown:
        raise ValueError(f"cannot read {', '.join(unknown)} from an SOP; readable: {', '.join(sorted(READERS))}")
    found = thresholds_from_sops(documents, {str(k): str(v) for k, v in sources.items()}) if sources else []
    return {"thresholds": [t.model_dump() for t in found]}


def anomaly_citations(documents: DocumentsPort, args: dict[str, Any]) -> dict[str, Any]:
    kpis = WarehouseKpis.model_validate(args["kpis"])
    topics = args.get("topics")
    sourced = [SourcedThreshold.model_validate(t) for t in args.get("sourced_thresholds") or []]
    sources = [
        Citation(document=t.document, page=t.page, heading=t.heading, text=t.text or "",
                 anomaly_code=f"threshold {t.field}")
        for t in sourced
        if t.value is not None
    ]  # fmt: skip
    found = citations_for_anomalies(documents, kpis, dict(topics) if isinstance(topics, dict) else None)
    configured = {t.field for t in sourced}
    # (an anomaly's passage needs no summary line of its own: the anomaly is in the summary)
    found = [c.model_copy(update={"note": different_limit_note(c, kpis, configured)}) for c in found]
    noted = {_THRESHOLD_OF[c.anomaly_code] for c in found if c.note and c.anomaly_code in _THRESHOLD_OF}
    stated = stated_limit_citations(documents, kpis, configured, noted)
    return {"citations": [c.model_dump() for c in merge_same_passages([*sources, *found, *stated])]}


SEARCH_STRATEGIES: dict[str, Callable[[DocumentsPort, dict[str, Any]], dict[str, Any]]] = {
    "warehouse.threshold_sources": threshold_sources,
    "warehouse.anomaly_citations": anomaly_citations,
}
