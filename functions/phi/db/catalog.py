"""The catalog: industries, role templates and tools. Shared by every organisation and read-only for them."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from phi.db.connection import DbConnection
from phi.domain.models import Industry, RoleTemplate, Tool

_ROLE_SELECT = """SELECT r.id, r.industry_id, i.key AS industry_key, r.key, r.name, r.description,
                         r.default_capabilities, r.default_tools, r.default_workflows
                  FROM role_templates r JOIN industries i ON i.id = r.industry_id"""
_TOOL_COLUMNS = "id, key, name, description, runs_on, operations, config_schema, available"


def list_industries(conn: DbConnection) -> list[Industry]:
    rows = conn.execute("SELECT id, key, name, description FROM industries ORDER BY name, key").fetchall()
    return [Industry.model_validate(r) for r in rows]


def get_industry(conn: DbConnection, *, industry_id: UUID | None = None, key: str | None = None) -> Industry | None:
    row = conn.execute(
        """SELECT id, key, name, description FROM industries
           WHERE (%(id)s::uuid IS NULL OR id = %(id)s::uuid) AND (%(key)s::text IS NULL OR key =
           %(key)s::text)
           LIMIT 1""",
        {"id": industry_id, "key": key},
    ).fetchone()
    return Industry.model_validate(row) if row else None


def list_role_templates(conn: DbConnection, industry_key: str | None = None) -> list[RoleTemplate]:
    rows = conn.execute(
        _ROLE_SELECT + " WHERE (%(key)s::text IS NULL OR i.key = %(key)s::text) ORDER BY i.key, r.name",
        {"key": industry_key},
    ).fetchall()
    return [RoleTemplate.model_validate(r) for r in rows]


def get_role_template(conn: DbConnection, template_id: UUID) -> RoleTemplate | None:
    row = conn.execute(_ROLE_SELECT + " WHERE r.id = %s", (template_id,)).fetchone()
    return RoleTemplate.model_validate(row) if row else None


def find_role_template(conn: DbConnection, industry_key: str, role_key: str) -> RoleTemplate | None:
    row = conn.execute(_ROLE_SELECT + " WHERE i.key = %s AND r.key = %s", (industry_key, role_key)).fetchone()
    return RoleTemplate.model_validate(row) if row else None


def list_tools(conn: DbConnection) -> list[Tool]:
    rows = conn.execute(f"SELECT {_TOOL_COLUMNS} FROM tools ORDER BY key").fetchall()
    return [Tool.model_validate(r) for r in rows]


def tools_by_id(conn: DbConnection, tool_ids: Sequence[UUID]) -> list[Tool]:
    rows = conn.execute(f"SELECT {_TOOL_COLUMNS} FROM tools WHERE id = ANY(%s) ORDER BY key", (list(tool_ids),))
    return [Tool.model_validate(r) for r in rows.fetchall()]


def tools_by_key(conn: DbConnection, keys: Sequence[str]) -> list[Tool]:
    rows = conn.execute(f"SELECT {_TOOL_COLUMNS} FROM tools WHERE key = ANY(%s) ORDER BY key", (list(keys),))
    return [Tool.model_validate(r) for r in rows.fetchall()]
