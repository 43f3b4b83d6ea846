"""DAILY_WAREHOUSE_REPORT: load config → fetch the day's data through the local agent's db.query →
KPIs in code → SOP passages → optional LLM narrative → Markdown report and executive summary.

Each fetch interrupts the graph; Think resumes it with the tool's outcome (thread = task id)."""

from __future__ import annotations

from typing import Any, TypedDict

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph

from phi.domain.models import EventType
from phi.llm import ChatMessage
from phi.workflows.contracts import ToolRequest
from phi.workflows.ports import DocumentsPort, ports_of
from phi.workflows.task_types import DAILY_WAREHOUSE_REPORT, DailyReportInput
from phi.workflows.timeframes import DEFAULT_TIMEZONE, ReportDay, report_day, yesterday
from phi.workflows.warehouse.kpis import TabularData, Thresholds, WarehouseKpis, compute_kpis
from phi.workflows.warehouse.queries import default_queries
from phi.workflows.warehouse.report import Citation, render_report
from phi.workflows.warehouse.sop_thresholds import SourcedThreshold, unread_threshold_note

TASK_TYPE = DAILY_WAREHOUSE_REPORT


class ReportState(TypedDict, total=False):
    task_id: str
    org_id: str
    agent_id: str
    agent_name: str
    day: str
    timezone: str
    warehouse: str | None
    thresholds: dict[str, Any]
    queries: dict[str, dict[str, Any]]
    datasets: dict[str, dict[str, Any]]
    failure: dict[str, str] | None
    sourced_thresholds: list[dict[str, Any]]
    kpis: dict[str, Any]
    citations: list[dict[str, Any]]
    narrative: str | None
    output: dict[str, Any]


def load_config(state: ReportState, config: RunnableConfig) -> ReportState:
    ports = ports_of(config)
    task = ports.task.load()
    if task is None:
        return {"failure": {"error": "Task.NotFound", "cause": "The task or its agent no longer exists."}}
    agent_config = task.agent_config
    task_input = DailyReportInput.model_validate(task.input)
    timezone = task_input.timezone or agent_config.get("warehouse_timezone") or DEFAULT_TIMEZONE
    day = report_day(task_input.date or yesterday(timezone, ports.clock.now()), timezone)
    sourced = _thresholds_from_sops(ports.documents, agent_config.get("threshold_sources") or {})
    stated = {t.field: t.value for t in sourced if t.value is not None}
    thresholds = Thresholds.model_validate({**(agent_config.get("thresholds") or {}), **stated})
    queries = {name: spec.model_dump() for name, spec in default_queries(day).items()}
    return {
        "sourced_thresholds": [t.model_dump() for t in sourced],
        "agent_name": task.agent_name,
        "day": day.day.isoformat(),
        "timezone": timezone,
        "warehouse": task_input.warehouse,
        "thresholds": thresholds.model_dump(),
        "queries": queries,
        "datasets": {},
        "failure": None,
    }


def _thresholds_from_sops(documents: DocumentsPort, sources: dict[str, str]) -> list[Any]:
    """The limits the agent's config says an SOP sets; they take precedence over configured numbers."""
    if not sources:
        return []
    from phi.workflows.sop_retrieval import thresholds_from_sops

    return thresholds_from_sops(documents, sources)


def fetch_next_dataset(state: ReportState, config: RunnableConfig) -> ReportState:
    name = _next_dataset(state)
    assert name is not None
    spec = state["queries"][name]
    request = ToolRequest(tool="db.query", args={"sql": spec["sql"], "params": spec["params"]}, purpose=f"fetch {name}")
    outcome = ports_of(config).tools.call(request)
    if not outcome.ok:
        cause = f"Fetching {name} through the local agent failed: {outcome.error}: {outcome.cause}"
        return {"failure": {"error": outcome.error or "Tool.Error", "cause": cause}}
    return {"datasets": {**state.get("datasets", {}), name: outcome.result or {}}}


def compute(state: ReportState, config: RunnableConfig) -> ReportState:
    datasets = {name: TabularData.model_validate(data) for name, data in state["datasets"].items()}
    thresholds = Thresholds.model_validate(state["thresholds"])
    kpis = compute_kpis(_report_day(state), datasets, thresholds)
    kpis.data_warnings.extend(
        unread_threshold_note(SourcedThreshold.model_validate(t), thresholds)
        for t in state.get("sourced_thresholds", [])
        if t["value"] is None
    )
    _record(
        config,
        EventType.KPIS_COMPUTED,
        f"KPIs computed; {len(kpis.anomalies)} anomalies",
        {"anomalies": [a.code for a in kpis.anomalies]},
    )
    return {"kpis": kpis.model_dump(mode="json")}


def _report_day(state: ReportState) -> ReportDay:
    from datetime import date

    return report_day(date.fromisoformat(state["day"]), state.get("timezone") or DEFAULT_TIMEZONE)


def retrieve_sops(state: ReportState, config: RunnableConfig) -> ReportState:
    from phi.workflows.sop_retrieval import citations_for_anomalies

    kpis = WarehouseKpis.model_validate(state["kpis"])
    sources = [
        Citation(
            document=t["document"],
            page=t["page"],
            heading=t["heading"],
            text=t["text"],
            anomaly_code=f"threshold {t['field']}",
        )
        for t in state.get("sourced_thresholds", [])
        if t["value"] is not None
    ]
    citations = citations_for_anomalies(ports_of(config).documents, kpis)
    return {"citations": [c.model_dump() for c in _merge_same_passages([*sources, *citations])]}


def _merge_same_passages(citations: list[Citation]) -> list[Citation]:
    """One citation per passage, naming everything it supports (a threshold's source and the anomaly it set)."""
    merged: dict[tuple[str, int | None, str | None], Citation] = {}
    for citation in citations:
        key = (citation.document, citation.page, citation.text)
        if key in merged and citation.anomaly_code:
            first = merged[key]
            codes = ", ".join(code for code in (first.anomaly_code, citation.anomaly_code) if code)
            merged[key] = first.model_copy(update={"anomaly_code": codes})
        else:
            merged.setdefault(key, citation)
    return list(merged.values())


def analyse(state: ReportState, config: RunnableConfig) -> ReportState:
    llm = ports_of(config).llm
    if llm is None:
        return {"narrative": None}
    from phi.workflows.retry import call_llm_with_retry

    prompt = _analysis_prompt(state)
    response = call_llm_with_retry(lambda: llm.chat(prompt, purpose="analysis"))
    return {"narrative": response.text.strip() or None}


def render(state: ReportState, config: RunnableConfig) -> ReportState:
    report = render_report(
        WarehouseKpis.model_validate(state["kpis"]),
        narrative=state.get("narrative"),
        citations=[Citation.model_validate(c) for c in state.get("citations", [])],
        agent_name=state["agent_name"],
        warehouse=state.get("warehouse"),
    )
    output = {**report.model_dump(), "kpis": state["kpis"], "citations": state.get("citations", [])}
    _record(config, EventType.REPORT_GENERATED, f"Report generated: {report.title}", {"title": report.title})
    return {"output": output}


def _next_dataset(state: ReportState) -> str | None:
    fetched = state.get("datasets", {})
    return next((name for name in state["queries"] if name not in fetched), None)


def _after_fetch(state: ReportState) -> str:
    if state.get("failure"):
        return END
    return "fetch_next_dataset" if _next_dataset(state) else "compute"


def _after_load(state: ReportState) -> str:
    return END if state.get("failure") else "fetch_next_dataset"


def _record(config: RunnableConfig, event: EventType, message: str, data: dict[str, Any]) -> None:
    ports_of(config).events.record(event, message, data)


def _analysis_prompt(state: ReportState) -> list[ChatMessage]:
    kpis = WarehouseKpis.model_validate(state["kpis"])
    citations = "\n".join(f"- {c['document']} p.{c.get('page')}: {c['text']}" for c in state.get("citations", []))
    return [
        ChatMessage(
            role="system",
            content=(
                "You are a warehouse operations analyst. Write a short analysis (max 200 words) of the day's KPIs: "
                "likely causes of the anomalies and concrete next actions, following the SOP passages given. "
                "Do not restate or invent numbers beyond those given."
            ),
        ),
        ChatMessage(role="user", content=f"KPIs (JSON):\n{kpis.model_dump_json()}\n\nSOP passages:\n{citations}"),
    ]


def build_graph() -> StateGraph:
    graph = StateGraph(ReportState)
    graph.add_node("load_config", load_config)
    graph.add_node("fetch_next_dataset", fetch_next_dataset)
    graph.add_node("compute", compute)
    graph.add_node("retrieve_sops", retrieve_sops)
    graph.add_node("analyse", analyse)
    graph.add_node("render", render)
    graph.add_edge(START, "load_config")
    graph.add_conditional_edges("load_config", _after_load, ["fetch_next_dataset", END])
    graph.add_conditional_edges("fetch_next_dataset", _after_fetch, ["fetch_next_dataset", "compute", END])
    graph.add_edge("compute", "retrieve_sops")
    graph.add_edge("retrieve_sops", "analyse")
    graph.add_edge("analyse", "render")
    graph.add_edge("render", END)
    return graph
