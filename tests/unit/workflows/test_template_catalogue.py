"""The template catalogue: every shipped template validates, and a bad file is refused naming itself."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from phi.definitions.templates import (
    TemplateError,
    catalogue,
    get_template,
    list_templates,
    load_catalogue,
    template_for_workflow,
)
from phi.errors import NotFound

DEFINITION: dict[str, Any] = {
    "key": "LATE_BY_CARRIER",
    "name": "Late shipments by carrier",
    "nodes": [
        {
            "id": "shipments",
            "kind": "local_tool",
            "settings": {"tool": "db.query", "sql": "SELECT carrier FROM shipments"},
        }
    ],
}


def _file(folder: Path, name: str, **overrides: Any) -> Path:
    body = {
        "industry": "logistics",
        "role": "ops_manager",
        "title": "Late by carrier",
        "description": "Late shipments per carrier",
        "definition": DEFINITION,
        **overrides,
    }
    path = folder / name
    path.write_text(json.dumps(body))
    return path


def test_a_folder_of_templates_loads_by_key_with_its_metadata(tmp_path: Path) -> None:
    _file(tmp_path, "late_by_carrier.json")
    loaded = load_catalogue(tmp_path)
    assert list(loaded) == ["late_by_carrier"]
    template = loaded["late_by_carrier"]
    assert (template.workflow_key, template.industry, template.role) == ("LATE_BY_CARRIER", "logistics", "ops_manager")
    assert template.definition["nodes"][0]["settings"]["sql"] == "SELECT carrier FROM shipments"


@pytest.mark.parametrize(
    ("name", "overrides", "message"),
    [
        ("late_by_carrier.json", {"definition": {**DEFINITION, "nodes": []}}, "Invalid workflow definition"),
        ("late_by_carrier.json", {"role": ""}, "role"),
        ("late_by_carrier.json", {"owner": "x"}, "owner"),
        ("other_name.json", {}, "does not match the file"),
        ("Late-By-Carrier.json", {}, "lower-case key"),
    ],
)
def test_a_bad_template_file_is_refused_naming_the_file(
    tmp_path: Path, name: str, overrides: dict[str, Any], message: str
) -> None:
    _file(tmp_path, name, **overrides)
    with pytest.raises(TemplateError, match=message) as raised:
        load_catalogue(tmp_path)
    assert name in str(raised.value)


def test_a_file_that_is_not_json_is_refused(tmp_path: Path) -> None:
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(TemplateError, match=r"broken\.json"):
        load_catalogue(tmp_path)


def test_the_shipped_catalogue_loads_and_is_consistent() -> None:
    shipped = catalogue()
    for key, template in shipped.items():
        assert template.key == key == template.workflow_key.lower()
        assert get_template(key) is template
        assert template_for_workflow(template.workflow_key) is template
        assert template in list_templates(industry=template.industry, role=template.role)
    assert list_templates(industry="no_such_industry") == []
    assert template_for_workflow("NO_SUCH_WORKFLOW") is None
    with pytest.raises(NotFound):
        get_template("no_such_template")
