"""The template catalogue: ready-made workflows in the definition format (DESIGN §8), one JSON file each.

A role template (the seed's `role_templates.default_workflows`) names the workflows a new agent gets; each is
looked up here by its workflow key and stored as the agent's version 1 (source "template"), which the
customer then reads and edits like any other version (its SQL, its column mapping, its sources).

File format — `<template key>.json` in this folder, the key being the definition's key in lower case
(`daily_warehouse_report.json` holds the workflow DAILY_WAREHOUSE_REPORT):

    {
      "industry": "logistics",                 # industry key of the seeded catalogue (GET /industries)
      "role": "warehouse_analyst",             # role template key (GET /role-templates)
      "title": "Daily warehouse report",       # for people: catalogue listings, the console
      "description": "Yesterday's throughput, late orders, backlog and pick rates ...",
      "definition": { "key": "DAILY_WAREHOUSE_REPORT", "name": ..., "inputs": ..., "schedule": ...,
                      "nodes": [...], "edges": [...] }   # a workflow definition (GET /workflow-schema)
    }

Every file is validated when the catalogue is first read (the metadata by `TemplateFile`, the definition by
`validate_definition`, exactly as an API client's definition would be); a file that fails makes the whole
catalogue fail to load with the file named, so a broken template never ships silently. The catalogue is read
once per process and cached."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from phi.definitions.document import validate_definition
from phi.errors import InvalidDefinition, NotFound

TEMPLATES_DIR = Path(__file__).parent
MAX_TEMPLATE_FILE_BYTES = 512 * 1024
KEY_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"


class TemplateError(ValueError):
    """A template file that cannot be read or does not validate (the message names the file)."""


class TemplateFile(BaseModel):
    """What a template file holds."""

    model_config = ConfigDict(extra="forbid")

    industry: str = Field(min_length=1, max_length=100, examples=["logistics"])
    role: str = Field(min_length=1, max_length=100, examples=["warehouse_analyst"])
    title: str = Field(min_length=1, max_length=200, examples=["Daily warehouse report"])
    description: str = Field(min_length=1, max_length=2000)
    definition: dict[str, Any] = Field(description="A workflow definition (GET /workflow-schema)")


class WorkflowTemplate(BaseModel):
    """A catalogue entry: the file's metadata, its key, and the workflow it defines."""

    key: str = Field(pattern=KEY_PATTERN, examples=["daily_warehouse_report"])
    workflow_key: str = Field(description="The definition's key: the task type the workflow runs as")
    industry: str
    role: str
    title: str
    description: str
    schedule: dict[str, Any] | None = Field(default=None, description="The definition's schedule, if any")
    definition: dict[str, Any]


class TemplateSummary(BaseModel):
    """A catalogue entry without its definition (GET /workflow-templates/{key} has it)."""

    key: str = Field(examples=["daily_warehouse_report"])
    workflow_key: str = Field(examples=["DAILY_WAREHOUSE_REPORT"])
    industry: str
    role: str
    title: str
    description: str
    schedule: dict[str, Any] | None = None
    nodes: list[str] = Field(description="The definition's node ids, in document order")


def summary_of(template: WorkflowTemplate) -> TemplateSummary:
    return TemplateSummary(
        **template.model_dump(exclude={"definition"}), nodes=[n["id"] for n in template.definition["nodes"]]
    )


def _load_file(path: Path) -> WorkflowTemplate:
    key = path.stem
    try:
        if path.stat().st_size > MAX_TEMPLATE_FILE_BYTES:
            raise TemplateError(f"larger than {MAX_TEMPLATE_FILE_BYTES // 1024} KiB")
        raw = TemplateFile.model_validate(json.loads(path.read_text(encoding="utf-8")))
        definition = validate_definition(raw.definition)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, TemplateError) as exc:
        raise TemplateError(f"Template {path.name}: {exc}") from exc
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise TemplateError(f"Template {path.name}: {problems}") from exc
    except InvalidDefinition as exc:
        raise TemplateError(f"Template {path.name}: {exc.message}") from exc
    if definition.key.lower() != key:
        raise TemplateError(f"Template {path.name}: its definition's key {definition.key!r} does not match the file")
    return WorkflowTemplate(
        key=key,
        workflow_key=definition.key,
        industry=raw.industry,
        role=raw.role,
        title=raw.title,
        description=raw.description,
        schedule=raw.definition.get("schedule"),
        definition=raw.definition,
    )


def load_catalogue(folder: Path) -> dict[str, WorkflowTemplate]:
    """Every `*.json` template of a folder, by key (sorted), each validated; TemplateError on the first bad one."""
    templates = {}
    for path in sorted(folder.glob("*.json")):
        if not re.match(KEY_PATTERN, path.stem):
            raise TemplateError(f"Template {path.name}: the file name must be a lower-case key ({KEY_PATTERN})")
        templates[path.stem] = _load_file(path)
    return templates


@cache
def catalogue() -> dict[str, WorkflowTemplate]:
    return load_catalogue(TEMPLATES_DIR)


def list_templates(industry: str | None = None, role: str | None = None) -> list[WorkflowTemplate]:
    return [
        t
        for t in catalogue().values()
        if (industry is None or t.industry == industry) and (role is None or t.role == role)
    ]


def get_template(key: str) -> WorkflowTemplate:
    found = catalogue().get(key)
    if found is None:
        raise NotFound(f"No workflow template {key!r}; see GET /workflow-templates.")
    return found


def template_for_workflow(workflow_key: str) -> WorkflowTemplate | None:
    """The template defining the workflow (task type) `workflow_key`, if the catalogue has one."""
    return next((t for t in catalogue().values() if t.workflow_key == workflow_key), None)
