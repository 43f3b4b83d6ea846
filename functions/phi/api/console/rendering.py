"""Templates (Jinja2, autoescaped), the Markdown renderer and the console's error pages."""

from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from phi.api.console.session import console_root, csrf_token, remember_csrf
from phi.domain.models import FINAL_TASK_STATUSES
from phi.wording import capitalised, in_words, workflow_name

HERE = Path(__file__).resolve().parent
TERMINAL_STATUSES = frozenset(status.value for status in FINAL_TASK_STATUSES)


def _datetime(value: datetime | str | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.strftime("%Y-%m-%d %H:%M:%S %Z").strip()


def _markdown(text: str | None) -> Markup:
    """Markdown as HTML inside a page: raw HTML in the source is escaped, never passed through (reports quote
    customers' data and documents), and headings move one level down under the page's own h1."""
    parser = _markdown_parser()
    tokens = parser.parse(text or "")
    for index, token in enumerate(tokens):
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(int(token.tag[1]) + 1, 6)}"
        elif token.type in ("th_open", "td_open") and "style" in token.attrs:
            # A column's alignment as a class: the console's Content-Security-Policy refuses inline styles.
            alignment = str(token.attrs.pop("style")).removeprefix("text-align:")
            if alignment in ("left", "center", "right"):
                token.attrJoin("class", f"align-{alignment}")
        if token.type == "td_open" and _is_one_word(tokens[index + 1] if index + 1 < len(tokens) else None):
            # An id, a date and time or a figure stays on one line ('ORD-2026-0042' broke at its hyphens);
            # sentences wrap.
            token.attrJoin("class", "nowrap")
    return Markup(parser.renderer.render(tokens, parser.options, {}))


MAX_UNBROKEN_CELL_CHARS = 32  # one word: an id, a figure
MAX_SHORT_CELL_CHARS = 20  # a few words: a date and time, a code in words ('2026-12-02 07:25:47', 'missed pickup')


def _is_one_word(token: Any) -> bool:
    content = token.content if token is not None and token.type == "inline" else ""
    if not content:
        return False
    return len(content) <= MAX_SHORT_CELL_CHARS or (
        len(content) <= MAX_UNBROKEN_CELL_CHARS and not any(char.isspace() for char in content)
    )


@lru_cache(maxsize=1)
def _markdown_parser() -> Any:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


def _compact_json(value: Any) -> str:
    """JSON on one line, its strings as written: "Zürich <North>" reads as that, where Jinja's tojson writes
    unicode escapes (meant for a script block). The page's autoescape makes it safe as text."""
    return json.dumps(value, ensure_ascii=False, default=str)


def _pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=False, default=str, ensure_ascii=False)


def _counted(count: int, noun: str, plural: str | None = None) -> str:
    """`1 agent key`, `2 agent keys`, `0 document passages`."""
    return f"{count} {noun if count == 1 else (plural or noun + 's')}"


_TRIGGERS = {
    "api": "The console or the API",
    "run_now": "A schedule's “Run now”",
    "schedule": "Its schedule",
    "request": "A request in the ask box",
}


def trigger_words(trigger: str) -> str:
    """How a task was started, as people say it ('schedule' → 'Its schedule')."""
    return _TRIGGERS.get(trigger) or capitalised(in_words(trigger.lower())) or trigger


_HOW = {
    "api": "in the console or through the API",
    "run_now": "with a schedule's “Run now”",
    "request": "through a request in the ask box",
}


def started_by(trigger: str, email: str | None) -> str:
    """Who started a task and how: 'bea@example.com, in the console or through the API'; 'Its schedule'."""
    if email is None:
        return trigger_words(trigger)
    return f"{email}, {_HOW.get(trigger) or in_words(trigger.lower())}"


def input_entries(task_input: Any) -> list[tuple[str, str, bool]]:
    """A task's input as (label, value, is_code) lines: a text or a number as written, anything else as compact
    JSON; the key in words ('date' → 'Date', 'max_rows' → 'Max rows')."""
    if not isinstance(task_input, dict):
        return [("Input", _compact_json(task_input), True)]
    entries = []
    for key, value in task_input.items():
        label = capitalised(in_words(str(key))) or str(key)
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            entries.append((label, str(value), False))
        else:
            entries.append((label, _compact_json(value), True))
    return entries


_SUMMARY_INPUT_CHARS = 60


def task_input_summary(task_input: Any) -> str:
    """A task's input in a list, so that runs of one workflow can be told apart: its values in order ('2026-12-02',
    '2026-11-29 · late'), short; nothing for an empty input."""
    if not isinstance(task_input, dict) or not task_input:
        return ""
    values = [str(v) for v in task_input.values() if isinstance(v, str | int | float) and not isinstance(v, bool)]
    text = " · ".join(values)
    return text if len(text) <= _SUMMARY_INPUT_CHARS else text[: _SUMMARY_INPUT_CHARS - 1].rstrip() + "…"


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["dt"] = _datetime
    env.filters["markdown"] = _markdown
    env.filters["pretty_json"] = _pretty_json
    env.filters["compact_json"] = _compact_json
    env.filters["counted"] = _counted
    env.filters["workflow_name"] = workflow_name
    env.filters["task_input_summary"] = task_input_summary
    env.filters["trigger_words"] = trigger_words
    env.globals["started_by"] = started_by
    env.filters["input_entries"] = input_entries
    env.globals["TERMINAL_STATUSES"] = TERMINAL_STATUSES
    return env


def form_json(text: str) -> Any:
    """A form field's JSON. ValueError with a readable reason when it is not JSON — or is nested deeper than the
    parser can follow: a few thousand brackets, which any form field's length allows, raise RecursionError."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    root = console_root(request)
    html = (
        environment()
        .get_template(template)
        .render(
            C=root,
            csrf=csrf_token(request),
            path=request.url.path,
            **context,
        )
    )
    response = HTMLResponse(html, status_code=status_code)
    remember_csrf(request, response)
    return response


def redirect(request: Request, path: str) -> Response:
    """A redirect within the console after a POST (303: the browser follows with a GET); htmx follows HX-Redirect."""
    url = console_root(request) + path
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


MAX_NEXT_CHARS = 500  # the log-in page's `next` parameter accepts no more


def login_path(request: Request) -> str:
    """The log-in page, with the console page the browser was on as `next`, so that logging in leads back to it
    (a link to a task opened without a session, a page left open past the session's end). For an htmx request
    that page is htmx's HX-Current-URL; a form posted without a session is not replayed: its page is not known.
    Log-in checks `next` again (`safe_next`): this only proposes it."""
    if is_htmx(request):
        current = urlsplit(request.headers.get("HX-Current-URL", ""))
        path, query = current.path, current.query
    elif request.method == "GET":
        path, query = request.url.path, request.url.query
    else:
        return "/login"
    root = console_root(request)
    if not path.startswith(root + "/"):
        return "/login"
    next_path = path.removeprefix(root) + (f"?{query}" if query else "")
    if next_path in ("/login", "/signup") or len(next_path) > MAX_NEXT_CHARS:
        return "/login"
    return f"/login?{urlencode({'next': next_path})}"


_TITLES = {
    400: "That did not work",
    403: "Not allowed",
    404: "Not found",
    409: "Conflict",
    413: "Too large",
    429: "Too many attempts",
    500: "Something went wrong",
    503: "Unavailable",
}


def console_error_response(request: Request, status_code: int, message: str) -> Response:
    """How the console shows an error the API would answer as JSON: the login page for a missing or expired
    session, otherwise a page (or, for an htmx request, a fragment) that names the problem."""
    if status_code == 401:
        return redirect(request, login_path(request))
    title = _TITLES.get(status_code, "Error")
    template = "_error_fragment.html" if is_htmx(request) else "error.html"
    response = render(request, template, status_code=status_code, title=title, message=message)
    if is_htmx(request):
        # htmx swaps only 2xx answers by default; show the error where the action was.
        response.headers["HX-Retarget"] = "#flash"
        response.headers["HX-Reswap"] = "innerHTML"
    return response
