"""Filling a definition's parameters and texts from the task's inputs with a sandboxed template engine
(jinja2's SandboxedEnvironment: no attribute access to Python internals, no imports, no file system).

SQL is never templated: a `local_tool` node's SQL is sent as written, and only its *parameters* are filled
here, so values reach the database as bound parameters. A parameter written as exactly "{{ expression }}"
keeps the expression's type (a number stays a number); any other template renders to text."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Any

MAX_TEMPLATE_CHARS = 4_000
MAX_OUTPUT_CHARS = 100_000
_WHOLE_EXPRESSION = re.compile(r"^\{\{(?P<expr>[^{}]*)\}\}$")


class TemplateError(ValueError):
    """A template that does not parse or fails to render, with the reason."""


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def day_start(value: Any) -> str:
    """'YYYY-MM-DDT00:00:00' of a date: the start of a half-open day interval."""
    return datetime.combine(_as_date(value), time()).strftime("%Y-%m-%dT%H:%M:%S")


def day_end(value: Any) -> str:
    """The start of the next day: the end of a half-open day interval."""
    return day_start(_as_date(value) + timedelta(days=1))


def add_days(value: Any, days: int) -> str:
    return (_as_date(value) + timedelta(days=int(days))).isoformat()


@cache
def _environment() -> Any:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class BoundedEnvironment(ImmutableSandboxedEnvironment):
        """No '*' or '**' that builds a huge string or number ('x' * 10**9) inside the Think process."""

        intercepted_binops = frozenset({"*", "**"})

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            if operator == "**" and (abs(_magnitude(left)) > 1e6 or abs(_magnitude(right)) > 100):
                raise TemplateError("'**' is limited to small numbers in templates")
            if operator == "*" and (isinstance(left, str | list) or isinstance(right, str | list)):
                sequence, count = (left, right) if isinstance(left, str | list) else (right, left)
                if _magnitude(count) * max(len(sequence), 1) > MAX_OUTPUT_CHARS:
                    raise TemplateError("repetition larger than the template output limit")
            return super().call_binop(context, operator, left, right)

    env = BoundedEnvironment(undefined=StrictUndefined, autoescape=False)
    env.globals.update(day_start=day_start, day_end=day_end, add_days=add_days)
    return env


def _magnitude(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def check_template(text: str) -> None:
    """Raises TemplateError when `text` does not parse (at validation time, before any task runs)."""
    if len(text) > MAX_TEMPLATE_CHARS:
        raise TemplateError(f"template longer than {MAX_TEMPLATE_CHARS} characters")
    from jinja2 import TemplateSyntaxError

    try:
        _environment().parse(text)
    except TemplateSyntaxError as exc:
        raise TemplateError(f"template does not parse: {exc.message}") from exc


def fill(value: Any, context: dict[str, Any]) -> Any:
    """A parameter's value: literals as they are, templates rendered in the sandbox."""
    if not isinstance(value, str) or "{" not in value:
        return value
    from jinja2 import TemplateError as JinjaError
    from jinja2 import Undefined

    check_template(value)
    try:
        whole = _WHOLE_EXPRESSION.match(value.strip())
        if whole:
            value = _environment().compile_expression(whole["expr"], undefined_to_none=False)(**context)
            if isinstance(value, Undefined):
                raise TemplateError(f"template {value!r} names something undefined: {whole['expr'].strip()}")
            return value
        rendered = str(_environment().from_string(value).render(**context))
    except JinjaError as exc:
        raise TemplateError(f"template {value!r} failed: {exc}") from exc
    if len(rendered) > MAX_OUTPUT_CHARS:
        raise TemplateError(f"template output longer than {MAX_OUTPUT_CHARS} characters")
    return rendered
