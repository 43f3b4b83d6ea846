"""A local_tool node's `sql_variants`: checked by the definition schema, sent beside the tool's args."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from phi.definitions.document import validate_definition
from phi.definitions.templates import get_template
from phi.errors import InvalidDefinition


def report_with_picks_settings(**settings: Any) -> dict[str, Any]:
    definition = copy.deepcopy(get_template("daily_warehouse_report").definition)
    for node in definition["nodes"]:
        if node["id"] == "picks":
            node["settings"].update(settings)
    return definition


def test_the_template_carries_sqlite_variants_and_validates() -> None:
    definition = validate_definition(get_template("daily_warehouse_report").definition)
    for name in ("orders", "picks", "shipments"):
        node = next(n for n in definition.nodes if n.id == name)
        assert "typeof(" in node.settings["sql_variants"]["sqlite"]


@pytest.mark.parametrize(
    ("variants", "problem"),
    [({"oracle": "SELECT 1 FROM dual"}, "'oracle' was unexpected"), ({"sqlite": ""}, "should be non-empty"), ({}, "")],
)
def test_unknown_dialects_and_empty_texts_are_refused_naming_the_field(variants: dict[str, str], problem: str) -> None:
    with pytest.raises(InvalidDefinition) as error:
        validate_definition(report_with_picks_settings(sql_variants=variants))
    assert "settings.sql_variants" in str(error.value) and problem in str(error.value)
