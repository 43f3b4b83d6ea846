"""Every JSON body the API reads refuses a field it does not declare (phi.domain.request_body.RequestBody), down
to the models nested in it; the models that read stored data keep ignoring one."""

from __future__ import annotations

import inspect
import typing
from typing import Any

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError

from phi.api.app import create_app
from phi.domain.agent_config import LlmSettings, WorkflowEntry, WorkflowEntryInput
from phi.domain.request_body import RequestBody


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models an annotation names, and those their fields name, all the way down."""
    found: list[type[BaseModel]] = []

    def walk(tp: Any) -> None:
        if typing.get_origin(tp) is not None:
            for arg in typing.get_args(tp):
                walk(arg)
        elif inspect.isclass(tp) and issubclass(tp, BaseModel) and tp not in found:
            found.append(tp)
            for field in tp.model_fields.values():
                walk(field.annotation)

    walk(annotation)
    return found


def _body_params(dependant: Dependant) -> list[Any]:
    return [*dependant.body_params, *(p for sub in dependant.dependencies for p in _body_params(sub))]


def _request_body_models() -> dict[type[BaseModel], str]:
    app = create_app()
    app.state.route_groups.install_all()  # the console's routes read forms, not models, but would be found too
    models: dict[type[BaseModel], str] = {}
    for route in app.routes:
        if isinstance(route, APIRoute):
            for param in _body_params(route.dependant):
                for model in _models_in(param.field_info.annotation):
                    models.setdefault(model, f"{sorted(route.methods)[0]} {route.path}")
    return models


# Sent by local agents, which customers upgrade on their own schedule: a newer agent's extra field is ignored.
FORWARD_COMPATIBLE = {"Heartbeat"}
MODELS = {model: route for model, route in _request_body_models().items() if model.__name__ not in FORWARD_COMPATIBLE}


def test_the_api_reads_json_bodies_into_models() -> None:
    assert len(MODELS) >= 20  # the walk finds the routers' bodies (a guard against it finding nothing)


@pytest.mark.parametrize("model", list(MODELS), ids=lambda m: m.__name__)
def test_every_request_body_model_refuses_an_unknown_field(model: type[BaseModel]) -> None:
    assert issubclass(model, RequestBody), f"{model.__name__} ({MODELS[model]}) is not a RequestBody"
    assert model.model_config.get("extra") == "forbid", f"{model.__name__} ({MODELS[model]}) ignores unknown fields"


def test_a_heartbeat_from_a_newer_agent_with_a_field_this_api_does_not_know_is_accepted() -> None:
    from phi.api.routers.local_agents import Heartbeat

    beat = Heartbeat.model_validate({"host": "wh-1", "tools": ["db.query"], "gpu_percent": 3.0})
    assert beat.host == "wh-1" and "gpu_percent" not in beat.model_dump()


def test_stored_configurations_with_a_field_no_longer_declared_still_load() -> None:
    llm = LlmSettings.model_validate({"model": "gpt-4o-mini", "max_tokens": 512})
    workflow = WorkflowEntry.model_validate({"type": "DAILY_WAREHOUSE_REPORT", "retired_option": True})
    assert llm.model == "gpt-4o-mini" and workflow.type == "DAILY_WAREHOUSE_REPORT"
    with pytest.raises(ValidationError, match="inputs"):
        WorkflowEntryInput.model_validate({"type": "DAILY_WAREHOUSE_REPORT", "inputs": {}})
