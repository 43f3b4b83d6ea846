"""Filling a definition's parameters and texts from the task's inputs with a sandboxed template engine
(jinja2's SandboxedEnvironment: no attribute access to Python internals, no imports, no file system).

SQL is never templated: a `local_tool` node's SQL is sent as written, and only its *parameters* are filled
here, so values reach the database as bound parameters. A parameter written as exactly "{{ expression }}"
keeps the expression's type (a number stays a number); any other template renders to text.

A template is bounded while it renders, not after: thirty characters of template ('x'|center(10**9),
'%0999999999d'|format(1), range(4000)|join('y' * 5000)) would otherwise build gigabytes inside the Think
process before any check of the result. So every filter, every str method the sandbox exposes, the operators
'*', '**', '+', '%' and '~', str.format, list and dict literals and the text written are measured as they
build (phi.definitions.nesting.measure): an amplifying one (a width, a separator repeated per item, a
replacement per occurrence) is refused from its arguments before it runs, any value built is refused past
MAX_OUTPUT_CHARS, and one render may build at most MAX_RENDER_CHARS in all and take at most MAX_RENDER_STEPS
loop iterations, calls and range() items, with calls (macros) nested at most MAX_DEPTH deep. Each refusal is a
TemplateError naming the limit. A whole expression's value is measured the same way unless it only looks a
value up (`{{ kpis }}` passes a node's result on as it is)."""

from __future__ import annotations

import codecs
import inspect
import re
import types
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import cache, lru_cache, wraps
from time import monotonic
from typing import Any

from phi.definitions.nesting import MAX_DEPTH, TooLarge, measure, number_chars

MAX_TEMPLATE_CHARS = 4_000
MAX_OUTPUT_CHARS = 100_000
# All one render may build (values and text, a macro's text counted each time it is written) and do (loop
# iterations, calls, range() items): far above what a report or a prompt needs, far below a stuck Think.
MAX_RENDER_CHARS = 20 * MAX_OUTPUT_CHARS
MAX_RENDER_STEPS = 200_000
MACRO_CALL_STEPS = 25  # a macro call costs about as much as 25 loop iterations
MAX_RENDER_SECONDS = 10.0  # a backstop for what steps do not weigh well; a real template takes milliseconds
MAX_NUMBER_BITS = 4_096  # integers up to about 10**1233
MAX_RANGE_ITEMS = 10_000  # jinja's sandbox allows 100,000: a list of them alone takes megabytes
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


class TemplateLimit(TemplateError):
    """A template that passes one of the bounds while it renders."""


# --- the render's budget ----------------------------------------------------------------------------------------


@dataclass
class _Budget:
    steps: int = 0
    chars: int = 0
    depth: int = 0
    started: float = field(default_factory=monotonic)

    def step(self, count: int = 1) -> None:
        self.steps += count
        if self.steps > MAX_RENDER_STEPS:
            raise TemplateLimit(
                f"the template takes more than {MAX_RENDER_STEPS:,} steps (loop iterations, calls, range() items)"
            )
        now = monotonic()
        if now - self.started > MAX_RENDER_SECONDS:
            raise TemplateLimit(f"the template takes longer than {MAX_RENDER_SECONDS:g} seconds to render")
        step_budget = _STEP_BUDGET.get()
        if step_budget is not None and now > step_budget[0]:
            raise TemplateLimit(
                f"the workflow's templates take longer than {step_budget[1]:g} seconds in all in one step of the task"
            )

    def spend(self, chars: int) -> None:
        self.chars += chars
        if self.chars > MAX_RENDER_CHARS:
            raise TemplateLimit(f"the template builds more than {MAX_RENDER_CHARS:,} characters while rendering")


# All the templates one step of a task renders, together: each has its own 10 s, and a definition may hold
# hundreds (four loops in one compute node's args took 36 s; a hundred nodes would outlast Think's time limit).
MAX_STEP_TEMPLATE_SECONDS = 60.0
_STEP_BUDGET: ContextVar[tuple[float, float] | None] = ContextVar("template_step_budget", default=None)


@contextmanager
def step_time_budget(seconds: float = MAX_STEP_TEMPLATE_SECONDS) -> Iterator[None]:
    """Within this block, the templates rendered take at most `seconds` in all (checked as each one works)."""
    token = _STEP_BUDGET.set((monotonic() + seconds, seconds))
    try:
        yield
    finally:
        _STEP_BUDGET.reset(token)


# One budget per fill(): the environment is shared (and cached) by every thread that renders.
_BUDGET: ContextVar[_Budget | None] = ContextVar("template_budget", default=None)


def _budget() -> _Budget:
    return _BUDGET.get() or _Budget()


@contextmanager
def _rendering() -> Iterator[None]:
    token = _BUDGET.set(_Budget())
    try:
        yield
    finally:
        _BUDGET.reset(token)


def _contents(item: Any) -> Any:
    from jinja2.utils import Namespace

    return object.__getattribute__(item, "_Namespace__attrs") if isinstance(item, Namespace) else item


def _size(value: Any, indent: int = 0) -> int:
    """The characters `value` prints as; TemplateLimit past MAX_OUTPUT_CHARS."""
    if isinstance(value, str):  # the common case, without the walk
        if len(value) > MAX_OUTPUT_CHARS:
            raise TemplateLimit(f"a value in the template is longer than {MAX_OUTPUT_CHARS:,} characters")
        return len(value)
    try:
        return measure(value, MAX_OUTPUT_CHARS, expand=_contents, indent=indent)
    except TooLarge as exc:
        raise TemplateLimit(f"a value in the template is {exc}") from None


def _built(result: Any, *inputs: Any) -> Any:
    """A value a call or an operator built, measured and charged to the render (not one of its inputs passed
    through, nor a lazy iterator: what it yields is measured where it is built)."""
    if isinstance(result, Iterator) or any(result is value for value in inputs):
        return result
    _budget().spend(_size(result))
    return result


def _refuse_over(chars: int, what: str) -> None:
    if chars > MAX_OUTPUT_CHARS:
        raise TemplateLimit(f"{what} would build about {chars:,} characters; the limit is {MAX_OUTPUT_CHARS:,}")


def _count(value: Any) -> int:
    """A width or a count as given (0 for what is not a number: the call itself then refuses it)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:  # NaN
        return 0
    return int(min(abs(value), 10**12))


def _text(value: Any) -> int:
    return len(value) if isinstance(value, str | bytes) else _size(value)


# --- estimates of what an amplifying call would build, from its arguments ------------------------------------

_PRINTF_SPEC = re.compile(r"%(?:\([^)]*\))?[#0 +\-]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?(.)", re.DOTALL)
_FORMAT_SPEC = re.compile(r"(?:.?[<>=^])?[+\- ]?z?#?0?(\d*)[,_]?(?:\.(\d+))?")
_FULL_FLOAT_CHARS = 330  # a float printed in full ('%f' of 1e308)


def _digits(text: str | None, star: int = 0) -> int:
    if text == "*":
        return star
    return (10**12 if len(text) > 12 else int(text)) if text else 0


def _printf_chars(template: Any, values: Any) -> int:
    """'%' formatting: the template, the values, and each conversion's width and precision."""
    numbers = [_count(v) for v in (values if isinstance(values, tuple) else (values,))]
    star = max(numbers, default=0)
    chars = _text(template) + _size(values)
    for spec in _PRINTF_SPEC.finditer(str(template) if not isinstance(template, str) else template):
        if spec[3] != "%":
            chars += _digits(spec[1], star) + _digits(spec[2], star) + _FULL_FLOAT_CHARS
    return chars


def _format_field_chars(value: Any, spec: str) -> int:
    """str.format: one replacement field with its format spec ({:>80}, {:.3f})."""
    match = _FORMAT_SPEC.match(spec)
    width, precision = (_digits(match[1]), _digits(match[2])) if match else (0, 0)
    if isinstance(value, float):
        base = _FULL_FLOAT_CHARS
    elif isinstance(value, int | Decimal):
        base = number_chars(value)
    else:
        base = _size(value)
    return max(width, base + precision)


def _join_chars(items: list[Any], separator: Any) -> int:
    return sum(_text(item) for item in items) + max(len(items) - 1, 0) * _text(separator)


def _replace_chars(text: Any, old: Any, new: Any, count: Any) -> int:
    if not isinstance(text, str | bytes) or type(old) is not type(text):
        return _text(text) + _text(new)  # the call itself refuses these
    found = text.count(old) if old else len(text) + 1  # type: ignore[arg-type]  # same type, checked above
    if isinstance(count, int) and count >= 0:
        found = min(found, count)
    return len(text) + found * max(_text(new) - len(old), 0)


def _translate_chars(text: Any, table: Any) -> int:
    if not isinstance(text, str) or not isinstance(table, Mapping):
        return _text(text)
    return sum(_text(table[ord(c)]) if isinstance(table.get(ord(c)), str) else 1 for c in text)


def _lines(text: str) -> int:
    return text.count("\n") + 1


_FILTER_ESTIMATES: dict[str, Callable[[dict[str, Any]], int]] = {
    "center": lambda a: max(_text(a["value"]), _count(a.get("width", 80))),
    "indent": lambda a: (
        _text(a["s"])
        + _lines(str(a["s"]))
        * (_text(a.get("width", 4)) if isinstance(a.get("width"), str) else _count(a.get("width", 4)))
    ),
    "wordwrap": lambda a: (
        _text(a["s"])
        + (len(str(a["s"]).split()) + _text(a["s"]) // max(_count(a.get("width", 79)), 1) + _lines(str(a["s"])))
        * _text(a.get("wrapstring") or "\n")
    ),
    "replace": lambda a: _replace_chars(a["s"], a["old"], a["new"], a.get("count")),
    "format": lambda a: _printf_chars(a["value"], a.get("kwargs") or a.get("args") or ()),
    "join": lambda a: _join_chars(a["value"], a.get("d", "")),
    "batch": lambda a: _count(a["linecount"]) * (_size(a["fill_with"]) + 2) if a.get("fill_with") is not None else 0,
    "slice": lambda a: _count(a["slices"]) * (_size(a.get("fill_with")) + 2),
    "tojson": lambda a: _size(a["value"], indent=_count(a.get("indent") or 0)),
    "pprint": lambda a: _size(a["value"], indent=1),
    "urlize": lambda a: (
        2 * _text(a["value"])
        + len(str(a["value"]).split()) * (60 + sum(_text(a.get(k) or "") for k in ("target", "rel")))
    ),
}
# Filters whose input is iterated by the estimate: a one-pass iterator is listed first (its items are
# measured where they are built).
_LISTED_ARGUMENT = {"join": "value"}

_METHOD_ESTIMATES: dict[str, Callable[[Any, dict[str, Any]], int]] = {
    "center": lambda s, a: max(len(s), _count(a["width"])),
    "ljust": lambda s, a: max(len(s), _count(a["width"])),
    "rjust": lambda s, a: max(len(s), _count(a["width"])),
    "zfill": lambda s, a: max(len(s), _count(a["width"])),
    "expandtabs": lambda s, a: len(s) + s.count("\t" if isinstance(s, str) else b"\t") * _count(a.get("tabsize", 8)),
    "replace": lambda s, a: _replace_chars(s, a["old"], a["new"], a.get("count", -1)),
    "join": lambda s, a: _join_chars(next(iter(a.values())), s),
    "translate": lambda s, a: _translate_chars(s, a["table"]),
    "to_bytes": lambda n, a: _count(a.get("length", 1)),
}


def _bind(function: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> inspect.BoundArguments | None:
    try:
        bound = inspect.signature(function).bind(*args, **kwargs)
    except (TypeError, ValueError):
        return None  # the call itself refuses these arguments
    bound.apply_defaults()
    return bound


def _listed(bound: inspect.BoundArguments, name: str) -> None:
    value = bound.arguments.get(name)
    if isinstance(value, Iterable) and not isinstance(value, str | bytes | list | tuple | Mapping):
        bound.arguments[name] = list(value)


def _bounded_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    from jinja2.utils import _PassArg

    estimate = _FILTER_ESTIMATES.get(name)
    # The context, eval context or environment jinja passes first; some filters' signatures (jinja's async
    # variants) leave it out.
    parameters = list(inspect.signature(function).parameters)
    passed = _PassArg.from_obj(function) is not None and parameters[:1] not in (
        ["context"],
        ["eval_ctx"],
        ["environment"],
        ["env"],
    )

    @wraps(function)  # keeps jinja's pass_context / pass_eval_context marks
    def bounded(*args: Any, **kwargs: Any) -> Any:
        _budget().step()
        prefix, args = (args[:1], args[1:]) if passed else ((), args)
        if estimate is not None and (bound := _bind(function, args, kwargs)) is not None:
            if name in _LISTED_ARGUMENT:
                _listed(bound, _LISTED_ARGUMENT[name])
            arguments = {**bound.arguments, **bound.arguments.get("kwargs", {})}
            _refuse_over(estimate(arguments), f"the {name} filter")
            args, kwargs = bound.args, bound.kwargs
        return _built(function(*prefix, *args, **kwargs), *args, *kwargs.values())

    return bounded


# Codecs whose cost is linear in the text. Others are not: punycode's is quadratic (a few kilobytes take
# minutes, in one call the render's time limit cannot interrupt), and no template needs them.
_LINEAR_CODECS = frozenset(
    {"utf-8", "ascii", "iso8859-1", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"}
)


def _check_codec(bound: inspect.BoundArguments) -> None:
    encoding = bound.arguments.get("encoding", "utf-8")
    try:
        name = codecs.lookup(str(encoding)).name
    except LookupError:
        return  # the call itself refuses an unknown encoding
    if name not in _LINEAR_CODECS:
        raise TemplateLimit(f"the encoding {str(encoding)[:40]!r} is not allowed in templates (UTF-8, ASCII, Latin-1)")


def _bounded_method(method: Any) -> Any:
    """A str/bytes/int method the sandbox hands out (Markup's too: it wraps str's), refused from its arguments
    when it would build too much, or take too long (encode/decode with a costly codec)."""
    name, owner = method.__name__, method.__self__
    base = next((t for t in (str, bytes, bytearray, int) if isinstance(owner, t)), None)
    codec = name in ("encode", "decode")
    if (name not in _METHOD_ESTIMATES and not codec) or base is None or not hasattr(base, name):
        return method
    unbound = getattr(base, name)  # Markup's wrappers take *args: the builtin's signature names them
    if codec:

        def checked(*args: Any, **kwargs: Any) -> Any:
            bound = _bind(unbound, (owner, *args), kwargs)
            if bound is not None:
                _check_codec(bound)
            return method(*args, **kwargs)

        return checked

    def bounded(*args: Any, **kwargs: Any) -> Any:
        if name == "join" and args and isinstance(args[0], Iterable) and not isinstance(args[0], list):
            args = (list(args[0]), *args[1:])
        bound = _bind(unbound, (owner, *args), kwargs)
        if bound is not None:
            arguments = dict(list(bound.arguments.items())[1:])  # without self
            _refuse_over(_METHOD_ESTIMATES[name](owner, arguments), f"{type(owner).__name__}.{name}")
        return method(*args, **kwargs)

    return bounded


def _range(*args: int) -> range:
    numbers = range(*args)
    if len(numbers) > MAX_RANGE_ITEMS:
        raise TemplateLimit(f"range() is limited to {MAX_RANGE_ITEMS:,} items in templates")
    _budget().step(len(numbers))  # what is done with them is at least one step each
    return numbers


def _checks_its_result(function: Callable[..., Any]) -> Callable[..., Any]:
    function.checks_its_result = True  # type: ignore[attr-defined]
    return function


@_checks_its_result
def _counted(iterable: Iterable[Any]) -> Iterator[Any]:
    """A `{% for %}` loop's iterable: each iteration is a step."""
    budget = _budget()
    for item in iterable:
        budget.step()
        yield item


@_checks_its_result
def _literal(value: Any) -> Any:
    """A list, tuple or dict literal: the same item written twice is one reference, printed twice."""
    _budget().spend(_size(value))
    return value


@_checks_its_result
def _concatenated(*parts: Any) -> str:
    """'~': measured part by part before anything is joined."""
    chars = 0
    for part in parts:
        chars += _text(part)
        _refuse_over(chars, "'~'")
    text = "".join(str(part) for part in parts)
    _budget().spend(len(text))
    return text


@_checks_its_result
def _written(text: str) -> str:
    """What an output writes, routed through finalize at run time so that every time it is written it counts."""
    return text


def _finalize(value: Any) -> Any:
    """Every `{{ }}` written and every piece of template text, in the output or in a macro's or a block's."""
    _budget().spend(_size(value))
    return value


@cache
def _environment() -> Any:
    from jinja2 import StrictUndefined, nodes
    from jinja2.runtime import Macro
    from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedEscapeFormatter, SandboxedFormatter
    from jinja2.utils import Namespace
    from jinja2.visitor import NodeTransformer
    from markupsafe import Markup

    class BoundedFormatter(SandboxedFormatter):
        """str.format: each replacement field measured (with its width and precision) before it is formatted."""

        chars = 0

        def format_field(self, value: Any, format_spec: str) -> Any:
            self.chars += _format_field_chars(value, format_spec)
            _refuse_over(self.chars, "str.format")
            return super().format_field(value, format_spec)

    class BoundedEscapeFormatter(BoundedFormatter, SandboxedEscapeFormatter):
        pass

    class BoundedNamespace(Namespace):
        """namespace(): what a loop accumulates in it is measured at each assignment."""

        def __setitem__(self, name: str, value: Any) -> None:
            _size({**_contents(self), name: value})
            super().__setitem__(name, value)

    def helper(name: str, *args: Any) -> Any:
        return nodes.Call(nodes.EnvironmentAttribute(name), list(args), [], None, None)

    class Bounding(NodeTransformer):
        """Routes what builds or repeats through the environment's measured helpers."""

        def visit_For(self, node: Any) -> Any:
            self.generic_visit(node)
            node.iter = helper("bounded_iteration", node.iter)
            return node

        def visit_List(self, node: Any) -> Any:
            self.generic_visit(node)
            return helper("bounded_literal", node)

        visit_Dict = visit_List

        def visit_Tuple(self, node: Any) -> Any:
            self.generic_visit(node)
            return helper("bounded_literal", node) if node.ctx == "load" else node

        def visit_Concat(self, node: Any) -> Any:
            self.generic_visit(node)
            return helper("bounded_concat", *node.nodes)

        def visit_Output(self, node: Any) -> Any:
            self.generic_visit(node)
            # every piece, template text and constants alike (jinja folds 'x'|center(1000) into one when it
            # compiles, and writes constants without finalize): at run time, each time it is written
            node.nodes = [helper("bounded_text", n) for n in node.nodes]
            return node

    class BoundedEnvironment(ImmutableSandboxedEnvironment):
        intercepted_binops = frozenset({"*", "**", "+", "%"})
        bounded_iteration = staticmethod(_counted)
        bounded_literal = staticmethod(_literal)
        bounded_concat = staticmethod(_concatenated)
        bounded_text = staticmethod(_written)

        def _generate(self, source: Any, name: Any, filename: Any, defer_init: bool = False) -> Any:
            bounded = Bounding().visit(source)
            bounded.set_environment(self)
            return super()._generate(bounded, name, filename, defer_init=defer_init)

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            if operator == "**" and (abs(_magnitude(left)) > 1e6 or abs(_magnitude(right)) > 100):
                raise TemplateLimit("'**' is limited to small numbers in templates")
            sequences = str | bytes | list | tuple
            if operator == "*" and (isinstance(left, sequences) or isinstance(right, sequences)):
                sequence, count = (left, right) if isinstance(left, sequences) else (right, left)
                _refuse_over(_count(count) * max(_size(sequence), 1), "'*' repetition")
            elif operator == "*" and _is_int(left) and _is_int(right) and _bits(left) + _bits(right) > MAX_NUMBER_BITS:
                raise TemplateLimit(f"'*' is limited to numbers of {MAX_NUMBER_BITS} bits in templates")
            if operator == "+" and isinstance(left, sequences) and isinstance(right, sequences):
                _refuse_over(_size(left) + _size(right), "'+'")
            if operator == "%" and isinstance(left, str | bytes):
                _refuse_over(_printf_chars(left, right), "'%' formatting")
            return _built(super().call_binop(context, operator, left, right), left, right)

        def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
            budget = _budget()
            budget.step(MACRO_CALL_STEPS if isinstance(__obj, Macro) else 1)
            if budget.depth >= MAX_DEPTH:
                raise TemplateLimit(f"calls (macros, recursive loops) nest deeper than {MAX_DEPTH} levels")
            budget.depth += 1
            try:
                result = super().call(__context, __obj, *args, **kwargs)
            finally:
                budget.depth -= 1
            if getattr(__obj, "checks_its_result", False):
                return result
            return _built(result, __obj, *args, *kwargs.values())

        def getattr(self, obj: Any, attribute: str) -> Any:
            return _member(super().getattr(obj, attribute))

        def getitem(self, obj: Any, argument: Any) -> Any:
            return _member(super().getitem(obj, argument))

        def wrap_str_format(self, value: Any) -> Any:
            if (
                not isinstance(value, types.MethodType | types.BuiltinMethodType)
                or value.__name__ not in ("format", "format_map")
                or not isinstance(value.__self__, str)
            ):
                return None
            text: str = value.__self__
            as_map = value.__name__ == "format_map"

            def bounded_format(*args: Any, **kwargs: Any) -> str:
                if as_map and (kwargs or len(args) != 1):
                    raise TypeError("format_map() takes exactly one argument")
                positional, named = ((), args[0]) if as_map else (args, kwargs)
                formatter = (
                    BoundedEscapeFormatter(self, escape=text.escape)
                    if isinstance(text, Markup)
                    else BoundedFormatter(self)
                )
                return type(text)(formatter.vformat(text, positional, named))

            return bounded_format

    def _member(value: Any) -> Any:
        if isinstance(value, types.BuiltinMethodType | types.MethodType) and not isinstance(value.__self__, type):
            return _bounded_method(value)
        return value

    env = BoundedEnvironment(undefined=StrictUndefined, autoescape=False, finalize=_finalize)
    env.filters = {name: _bounded_filter(name, function) for name, function in env.filters.items()}
    del env.globals["lipsum"]  # lipsum(n=10**6) writes a million paragraphs, and no definition needs it
    env.globals.update(range=_range, namespace=BoundedNamespace)
    env.globals.update(day_start=day_start, day_end=day_end, add_days=add_days)
    return env


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _bits(value: int) -> int:
    return value.bit_length()


def _magnitude(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


@lru_cache(maxsize=256)
def _template(text: str) -> Any:
    """The compiled template (the same definition's templates render at every run)."""
    from jinja2 import TemplateSyntaxError

    try:
        return _environment().from_string(text)
    except TemplateSyntaxError as exc:
        raise TemplateError(f"template does not parse: {exc.message}") from exc
    except (RecursionError, SyntaxError, MemoryError) as exc:  # jinja's parser and Python's compiler recurse
        raise TemplateError("template nests too deeply") from exc


@lru_cache(maxsize=256)
def _expression(text: str) -> tuple[Any, bool]:
    """A whole expression compiled, and whether it only looks a value up (names, '.', '[]' and constants)."""
    from jinja2 import nodes

    env = _environment()
    tree = env.parse("{{" + text + "}}").body[0].nodes[0]
    lookup = all(
        isinstance(n, nodes.Name | nodes.Getattr | nodes.Getitem | nodes.Const)
        for n in [tree, *tree.find_all(nodes.Node)]
    )
    return env.compile_expression(text, undefined_to_none=False), lookup


def check_template(text: str) -> None:
    """Raises TemplateError when `text` does not parse (at validation time, before any task runs)."""
    if len(text) > MAX_TEMPLATE_CHARS:
        raise TemplateError(f"template longer than {MAX_TEMPLATE_CHARS} characters")
    _template(text)


def fill(value: Any, context: dict[str, Any]) -> Any:
    """A parameter's value: literals as they are, templates rendered in the sandbox."""
    if not isinstance(value, str) or "{" not in value:
        return value
    from jinja2 import TemplateError as JinjaError
    from jinja2 import Undefined

    check_template(value)
    whole = _WHOLE_EXPRESSION.match(value.strip())
    try:
        with _rendering():
            if whole:
                expression, lookup = _expression(whole["expr"])
                result = expression(**context)
                if isinstance(result, Undefined):
                    raise TemplateError(f"template {value!r} names something undefined: {whole['expr'].strip()}")
                if not lookup:
                    _size(result)
                return result
            rendered = str(_template(value).render(**context))
    except TemplateError:
        raise
    except JinjaError as exc:
        raise TemplateError(f"template {value!r} failed: {exc}") from exc
    except (ArithmeticError, LookupError, TypeError, ValueError, RecursionError) as exc:
        raise TemplateError(f"template {value!r} failed: {type(exc).__name__}: {exc}") from exc
    if len(rendered) > MAX_OUTPUT_CHARS:
        raise TemplateLimit(f"template output longer than {MAX_OUTPUT_CHARS} characters")
    return rendered


def fill_text(value: Any, context: dict[str, Any]) -> str:
    """A parameter's value as text (a search query, a prompt, a subject): what `fill` gives, written out within
    MAX_OUTPUT_CHARS. A template that only looks a value up (`{{ results }}`) is not measured by `fill`, since it
    builds nothing; written as text it would be (each node's query quoting every earlier one had grown 2.5x a
    node, to gigabytes)."""
    filled = fill(value, context)
    if not isinstance(filled, str):
        _size(filled)
    text = filled if isinstance(filled, str) else str(filled)
    if len(text) > MAX_OUTPUT_CHARS:
        raise TemplateLimit(f"the value written as text is longer than {MAX_OUTPUT_CHARS:,} characters")
    return text
