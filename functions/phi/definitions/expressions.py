"""A safe expression language for conditions, filters and derived columns: a subset of JSON Logic
(https://jsonlogic.com), evaluated by walking the JSON — never eval, no attribute access, no loops, bounded
depth and size.

    {"var": "kpis.late.rate"}            a value from the data by dotted path ({"var": ["x", default]})
    {">": [{"var": "late"}, 0.05]}        comparisons: == != < <= > >=   (also "<" with 3 args: between)
    {"and": [..]} {"or": [..]} {"!": x}   logic; {"if": [cond, then, else]}
    {"+": [..]} {"-": [a, b]} {"*": [..]} {"/": [a, b]} {"min": [..]} {"max": [..]}   arithmetic
    {"in": [x, [..] or "text"]}           membership; {"missing": ["a", "b"]} names the absent ones
    {"round": [x, digits]} {"abs": x} {"cat": [..]} {"lower": x} {"upper": x}   round: half away from zero

Each operator takes a fixed number of arguments where that matters (ARITY, checked with the rest by check()).
Evaluation fails only with ExpressionError, naming the operator: an argument of the wrong type, arithmetic whose
result is not a finite number (JSON has no NaN or Infinity: the result could be neither stored nor shown), or a
`cat` longer than MAX_TEXT_CHARS — derived columns feed each other, so text that could grow unchecked would
multiply with every op (a column of 10 characters catted 200 times, three times over, is 80 MB per row).
"""

from __future__ import annotations

import decimal
import json
import math
import operator
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from phi.definitions.nesting import MAX_DEPTH
from phi.definitions.values import Unorderable, is_blank, loosely_equal, number_in_text, order_pair, timestamps

MAX_NODES = 2_000
MAX_TEXT_CHARS = 100_000  # as templating.MAX_OUTPUT_CHARS: what a template may print of one value


class ExpressionError(ValueError):
    """An expression that cannot be evaluated, with the reason."""


def _var(data: Any, path: Any, default: Any = None) -> Any:
    """The value at `path`: a key holding the whole name first (a column called "unit.price"), else the
    dotted path into the data."""
    if path in (None, ""):
        return data
    if isinstance(data, Mapping) and isinstance(path, str) and path in data:
        return data[path]
    current = data
    for part in str(path).split("."):
        if isinstance(current, Mapping) and part in current:
            current = current[part]
        elif isinstance(current, list | tuple) and part.isascii() and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return default
    return current


def _number(value: Any) -> int | float:
    """A number as arithmetic takes it: an integer stays an integer (exact, however large), anything else a
    float."""
    if isinstance(value, bool) or value is None:
        raise ExpressionError(f"expected a number, got {_shown(value)}")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        written = number_in_text(value)  # "1,234.5" from a CSV cell; "nan" and "1e999" fall through, refused
        if written is not None and (isinstance(written, int) or math.isfinite(written)):
            return written
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ExpressionError(f"expected a number, got {_shown(value)}") from exc
    if not math.isfinite(number):
        raise ExpressionError(f"expected a finite number, got {_shown(value)}")
    return number


# An integer result may be as large as a float may be (about 1.8e308): integers stay exact, but a derived column
# multiplied by itself from op to op would otherwise grow without end (and JSON refuses 4,300 digits).
MAX_INTEGER_BITS = 1024


def _finite(value: Any) -> Any:
    """An arithmetic result as it can be stored: JSON has no NaN or Infinity."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ExpressionError("the result is not a finite number (it overflows)")
    if isinstance(value, int) and value.bit_length() > MAX_INTEGER_BITS:
        raise ExpressionError("the result overflows (it is larger than the largest number a float can hold)")
    return value


def _overflowing(function: Callable[[list[Any]], Any]) -> Callable[[list[Any]], Any]:
    """Arithmetic whose result is checked by _finite, an integer too large for a float (mixed with one, or
    divided) failing the same way."""

    def run(args: list[Any]) -> Any:
        try:
            return _finite(function(args))
        except OverflowError:
            raise ExpressionError("the result is not a finite number (it overflows)") from None

    return run


def _add(args: list[Any]) -> int | float:
    """Integers added exactly; with a float among them, the correctly rounded sum (math.fsum: 0.1 + 0.2 + 0.3
    is 0.6)."""
    numbers = [_number(x) for x in args]
    if all(isinstance(n, int) for n in numbers):
        return sum(numbers)
    return math.fsum(numbers)


def _subtract(args: list[Any]) -> int | float:
    if len(args) == 1:
        return -_number(args[0])
    return _number(args[0]) - _number(args[1])


def _shown(value: Any) -> str:
    """A value as an error message quotes it: JSON's words for null and the booleans, bounded."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:80]}…"


def _text(value: Any) -> str:
    """A plain value as text. A list or object is refused: its text would be built whole before anything could
    measure it, and derived columns can nest lists of lists that share their items (small in memory, not as text)."""
    if isinstance(value, list | tuple | dict):
        raise ExpressionError(f"takes plain values (text, numbers), not a {type(value).__name__}")
    return "" if value is None else str(value)


def _cat(values: list[Any]) -> str:
    """The texts joined, refused before the joined text is built when it would be over MAX_TEXT_CHARS."""
    texts: list[str] = []
    length = 0
    for value in values:
        text = _text(value)
        length += len(text)
        if length > MAX_TEXT_CHARS:
            raise ExpressionError(f"the text would be longer than {MAX_TEXT_CHARS:,} characters")
        texts.append(text)
    return "".join(texts)


_PLAIN_NUMBERS = frozenset({int, float})


def _ordered(op: Callable[[Any, Any], bool], a: Any, b: Any) -> bool:
    """`op` (an order) on two values: numbers as they are, two timestamp texts in time order (as instants with
    their zones, as wall-clock times without), a text written as a number as that number, amounts of one unit
    by their number, other texts as text (values.order_pair); an empty text beside a number is a missing value.
    What no order can compare without a guess is refused: a number (1000 or "1000") with a text that is no
    number, "12%" with 12, "1,500" (1500 or 1.5?) with any number."""
    if type(a) in _PLAIN_NUMBERS and type(b) in _PLAIN_NUMBERS:  # the common case first: per row, cheap
        return bool(op(a, b))
    if type(a) is str:
        if type(b) is str:
            moments = _timestamps(a, b)
            if moments is not None:
                return bool(op(*moments))
        elif type(b) in _PLAIN_NUMBERS:  # a CSV's column beside a number: per row, the next most common
            number = number_in_text(a)
            if number is not None:
                return bool(op(number, b))
    try:
        pair = order_pair(a, b)
    except Unorderable as exc:
        raise ExpressionError(str(exc)) from None
    if pair is None:
        return False  # an empty CSV cell is a missing value, and nothing compares with one
    try:
        return bool(op(*pair))
    except TypeError:
        raise ExpressionError(f"cannot compare {_shown(a)} with {_shown(b)}") from None


def _compare(op: Callable[[Any, Any], bool]) -> Callable[[list[Any]], bool]:
    def run(args: list[Any]) -> bool:
        if len(args) not in (2, 3):
            raise ExpressionError("comparisons take 2 arguments (3 for a between test)")
        if any(a is None for a in args):
            return False  # nothing compares with a missing value
        if len(args) == 3:
            return _ordered(op, args[0], args[1]) and _ordered(op, args[1], args[2])
        return _ordered(op, args[0], args[1])

    return run


def _timestamps(a: str, b: str) -> tuple[Any, Any] | None:
    try:
        return timestamps(a, b)
    except Unorderable as exc:
        raise ExpressionError(str(exc)) from None


# Enough digits for any integer arithmetic gives (MAX_INTEGER_BITS) and any float's decimals at the scale asked.
_ROUNDING = decimal.Context(prec=1_000, rounding=decimal.ROUND_HALF_UP)
_FEWEST_DIGITS = -400  # rounding any number a float can hold to a multiple of 10**400 gives 0


def round_half_up(value: int | float, digits: int) -> int | float:
    """`value` rounded half away from zero on its decimal value as written (2.5 → 3, -2.5 → -3, 2.675 → 2.68 with
    2 digits): what a reader does by hand. Python's round() rounds half to even (2.5 → 2) and on the binary
    value (2.675 is stored as 2.67499…, so → 2.67). A whole number when `digits` is 0 or less."""
    written = decimal.Decimal(repr(value))
    digits = max(digits, _FEWEST_DIGITS)
    exponent = written.as_tuple().exponent
    if isinstance(exponent, int) and exponent >= -digits:  # no digit below the one asked for: nothing to round
        return value if digits > 0 or isinstance(value, int) else int(value)
    rounded = written.quantize(decimal.Decimal(1).scaleb(-digits), context=_ROUNDING)
    return float(rounded) if digits > 0 else int(rounded)


_PLACES = re.compile(r"\s*[+-]?\d{1,9}\s*", re.ASCII)


def _digits(value: Any) -> int:
    """round's number of decimal places: a whole number (a number written as text too)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _PLACES.fullmatch(value):  # ASCII digits only ("²" is a digit to isdigit())
        return int(value)
    raise ExpressionError(f"the number of decimal places must be a whole number, got {_shown(value)}")


def _within(value: Any, container: Any) -> bool:
    """`in`: a value among a list's items, or a text within a text. Null is in no text (as a comparison with a
    missing value is false); anything else must be text to be looked for in text."""
    if isinstance(container, list):
        return value in container
    if not isinstance(container, str) or value is None:
        return False
    if not isinstance(value, str):
        raise ExpressionError(f"looks for a text within the text {_shown(container)}, got {_shown(value)}")
    return value in container


def _divide(args: list[Any]) -> int | float | None:
    a, b = (_number(x) for x in args)
    return None if b == 0 else a / b


_OPERATORS: dict[str, Callable[[list[Any]], Any]] = {
    "==": lambda a: loosely_equal(a[0], a[1]),  # a join's keys follow it (phi.definitions.values)
    "!=": lambda a: not loosely_equal(a[0], a[1]),
    "<": _compare(operator.lt),
    "<=": _compare(operator.le),
    ">": _compare(operator.gt),
    ">=": _compare(operator.ge),
    "+": _overflowing(_add),
    "*": _overflowing(lambda a: _product([_number(x) for x in a])),
    "-": _overflowing(_subtract),
    "/": _overflowing(_divide),
    "min": lambda a: min(_number(x) for x in a) if a else None,
    "max": lambda a: max(_number(x) for x in a) if a else None,
    "abs": lambda a: abs(_number(a[0])),
    "round": lambda a: _finite(round_half_up(_number(a[0]), _digits(a[1]) if len(a) > 1 else 0)),
    "in": lambda a: _within(a[0], a[1]),
    "cat": _cat,
    "lower": lambda a: _text(a[0]).lower(),
    "upper": lambda a: _text(a[0]).upper(),
}
# (least, most) arguments; an operator not named here takes any number. "var" takes a path and a default.
ARITY: dict[str, tuple[int, int]] = {
    "==": (2, 2),
    "!=": (2, 2),
    "<": (2, 3),
    "<=": (2, 3),
    ">": (2, 3),
    ">=": (2, 3),
    "!": (1, 1),
    "!!": (1, 1),
    "-": (1, 2),
    "/": (2, 2),
    "abs": (1, 1),
    "round": (1, 2),
    "in": (2, 2),
    "lower": (1, 1),
    "upper": (1, 1),
    "var": (0, 2),
}


def _guarded(op: str, function: Callable[[list[Any]], Any]) -> Callable[[list[Any]], Any]:
    """The operator, failing only with an ExpressionError that names it (never a bare TypeError from the data)."""

    def run(args: list[Any]) -> Any:
        try:
            return function(args)
        except ExpressionError as exc:
            raise ExpressionError(f"{op}: {exc}") from None
        except (TypeError, ValueError, IndexError, ArithmeticError) as exc:  # a case the operators above missed
            raise ExpressionError(f"{op}: {exc}") from None

    return run


def _read_from(args: list[Any]) -> str:
    """Where an operator's failing arguments came from, for its error: the names its direct `var`s read."""
    names = [json.dumps(path) for path in (_var_path(arg) for arg in args) if path is not None]
    return f" (reading {', '.join(names)})" if names else ""


def _var_path(expression: Any) -> str | None:
    if isinstance(expression, dict) and len(expression) == 1 and "var" in expression:
        args = expression["var"]
        path = args[0] if isinstance(args, list) and args else args
        return str(path) if isinstance(path, str | int) and not isinstance(path, bool) else None
    return None


def _applied(function: Callable[[list[Any]], Any], values: list[Any], args: list[Any]) -> Any:
    """The operator applied to its arguments' values; its error says where those values were read from."""
    try:
        return function(values)
    except ExpressionError as exc:
        raise ExpressionError(f"{exc}{_read_from(args)}") from None


_OPERATORS = {op: _guarded(op, function) for op, function in _OPERATORS.items()}
KNOWN = frozenset({*_OPERATORS, "var", "and", "or", "if", "missing", "!", "!!"})


def _product(values: list[int | float]) -> int | float:
    """The product, integers staying exact; checked as it grows, so that no huge integer is ever built."""
    result: int | float = 1
    for value in values:
        result = _finite(result * value)
    return result


def check(expression: Any) -> None:
    """Raises ExpressionError naming the first unknown operator or a tree too deep or too large."""
    count = 0

    def walk(node: Any, depth: int) -> None:
        nonlocal count
        count += 1
        if depth > MAX_DEPTH or count > MAX_NODES:
            raise ExpressionError(f"expression too large (at most depth {MAX_DEPTH}, {MAX_NODES} terms)")
        if isinstance(node, dict):
            if len(node) != 1:
                raise ExpressionError(f"an operation is an object with exactly one operator, got {sorted(node)}")
            [(op, args)] = node.items()
            if op not in KNOWN:
                raise ExpressionError(f"unknown operator {op!r}; known: {', '.join(sorted(KNOWN))}")
            least, most = ARITY.get(op, (0, len(args) if isinstance(args, list) else 1))
            given = len(args) if isinstance(args, list) else 1
            if not least <= given <= most:
                wanted = str(least) if least == most else f"{least} to {most}"
                raise ExpressionError(f"{op!r} takes {wanted} argument(s), got {given}")
            for arg in args if isinstance(args, list) else [args]:
                walk(arg, depth + 1)
        elif isinstance(node, list):
            for item in node:
                walk(item, depth + 1)

    walk(expression, 0)


def evaluate(expression: Any, data: Any) -> Any:
    """The value of `expression` over `data` (call check() first on untrusted input)."""
    if isinstance(expression, list):
        return [evaluate(item, data) for item in expression]
    if not isinstance(expression, dict):
        return expression
    [(op, raw)] = expression.items()
    args = raw if isinstance(raw, list) else [raw]
    if op == "var":
        return _var(data, evaluate(args[0], data) if args else None, evaluate(args[1], data) if len(args) > 1 else None)
    if op == "missing":
        return [name for name in (evaluate(a, data) for a in args) if _absent(_var(data, name))]
    if op in _NEGATIONS:
        return _NEGATIONS[op](truth(evaluate(args[0], data), args[0], f"{op}: its argument is"))
    if op == "and":
        value: Any = True
        for index, arg in enumerate(args):
            value = evaluate(arg, data)
            if index < len(args) - 1 and not truth(value, arg, _AND_TESTS):
                return value
        return value
    if op == "or":
        value = False
        for arg in args:
            value = evaluate(arg, data)
            if _filled(value):
                return value
        return value
    if op == "if":
        for index in range(0, len(args) - 1, 2):
            if truth(evaluate(args[index], data), args[index], _IF_TESTS):
                return evaluate(args[index + 1], data)
        return evaluate(args[-1], data) if len(args) % 2 == 1 else None
    function = _OPERATORS.get(op)
    if function is None:
        raise ExpressionError(f"unknown operator {op!r}")
    return _applied(function, [evaluate(arg, data) for arg in args], args)


def _operations(expression: Any) -> Iterator[tuple[str, Any]]:
    """Every operation of the expression tree, as (operator, its arguments), outermost first."""
    if isinstance(expression, list):
        for item in expression:
            yield from _operations(item)
    elif isinstance(expression, dict):
        for op, args in expression.items():
            yield op, args
            yield from _operations(args)


def read_names(expression: Any) -> list[str]:
    """The names the expression's `var`s read without a default, written as literal text (a computed path or one
    with a default cannot be checked before the data is there)."""
    names = []
    for op, args in _operations(expression):
        path = args[0] if isinstance(args, list) and len(args) == 1 else args
        if op == "var" and isinstance(path, str | int) and not isinstance(path, bool) and path != "":
            names.append(str(path))
    return list(dict.fromkeys(names))


def guarded_names(expression: Any) -> list[str]:
    """The names the expression asks `missing` about, written as literal text: it expects them to be absent."""
    return [
        name
        for op, args in _operations(expression)
        if op == "missing"
        for name in (args if isinstance(args, list) else [args])
        if isinstance(name, str)
    ]


# --- truth: what a filter, `if`, `!`, `!!` and `and` test --------------------------------------------------------

_IF_TESTS, _AND_TESTS = "if: a condition is", "and: an operand before its last is"
_NEGATIONS: dict[str, Callable[[bool], bool]] = {"!": operator.not_, "!!": bool}
# The text that means true, beside one that may mean either: what a refused text's column is to be compared with.
_TRUE_TEXTS = {
    **{"true": "true", "false": "true", "yes": "yes", "no": "yes", "y": "y", "n": "y"},
    **{"t": "t", "f": "t", "1": "1", "0": "1", "on": "on", "off": "on"},
}


def truth(value: Any, expression: Any, tester: str) -> bool:
    """`value`, the value of `expression`, as a test takes it (a filter's condition, `if`'s conditions, `!`,
    `!!`, `and`'s operands but its last): JSON Logic's truth — false for null, false, 0, an empty list, and an
    empty (or blank) text, a CSV's empty cell — except that a text with something in it is refused, naming it.
    JSON Logic counts every such text as true: a CSV's "false", "no" and "0" too, so a filter on a flag column
    would keep every row without a word. (`or` gives its first operand that is not false as its value, a text
    too — `{"or": [{"var": "region"}, "unknown"]}` fills gaps — and that value is tested where it is used.)"""
    if value is True or value is False:
        return value
    if isinstance(value, str):
        if value.strip():
            raise ExpressionError(_not_a_truth(value, expression, tester))
        return False
    return bool(value)


def _not_a_truth(value: str, expression: Any, tester: str) -> str:
    """Why a text is refused as a truth, and the comparison to write instead, with the column it reads."""
    path = _var_path(expression)
    names = [path] if path is not None else read_names(expression)
    true_text = _TRUE_TEXTS.get(value.strip().lower(), "true")
    if value.strip().isupper():
        true_text = true_text.upper()
    elif value.strip()[:1].isupper():
        true_text = true_text.capitalize()
    reason = (
        f"{tester} {_shown(value)}, a text, which is neither true nor false (JSON Logic counts every text but an "
        'empty one as true, "false", "no" and "0" too)'
    )
    if not names:
        compared = json.dumps({"==": [expression, true_text]}, ensure_ascii=False)
        return f"{reason}; compare it with the text that means true: {compared[:300]}"
    compared = json.dumps({"==": [{"var": names[0]}, true_text]}, ensure_ascii=False)
    filled = json.dumps({"!": {"missing": [names[0]]}}, ensure_ascii=False)
    return (
        f"{reason}; compare it with the text that means true, {compared[:300]}, or, to test that it is filled "
        f"in, {filled[:300]}{_read_from([expression])}"
    )


def _absent(value: Any) -> bool:
    """A value `missing` names: null, or an empty text (as JSON Logic says; a blank one is empty too)."""
    return value is None or is_blank(value)


# The operators whose value is always true or false.
_GIVING_BOOLEANS = frozenset({"==", "!=", "<", "<=", ">", ">=", "!", "!!"})


def compile_condition(expression: Any) -> Callable[[Any], bool]:
    """compile_expression for a condition (a filter's `where`): whether it holds for the data, its value taken
    as `truth` takes it."""
    value_of = compile_expression(expression)
    if isinstance(expression, dict) and len(expression) == 1 and next(iter(expression)) in _GIVING_BOOLEANS:
        return value_of  # its value is true or false: nothing to test, per row

    def holds(data: Any) -> bool:
        value = value_of(data)
        if value is True or value is False:  # a comparison's, per row: cheap
            return value
        return truth(value, expression, "the condition gives")

    return holds


# --- compiled once, evaluated per row ------------------------------------------------------------------------

Compiled = Callable[[Any], Any]


def compile_expression(expression: Any) -> Compiled:
    """A function giving evaluate(expression, data) for any data, built once from the checked expression tree:
    for expressions evaluated per row (table filters and derived columns), where walking the JSON again for every
    row costs most of the time. Still no eval: it is a tree of closures, each calling one entry of the operator
    table above, with the same short-circuits and the same errors as evaluate."""
    check(expression)
    return _compile(expression)


def _compile(expression: Any) -> Compiled:
    if isinstance(expression, list):
        items = [_compile(item) for item in expression]
        return lambda data: [item(data) for item in items]
    if not isinstance(expression, dict):
        return lambda data: expression
    [(op, raw)] = expression.items()
    args = raw if isinstance(raw, list) else [raw]
    parts = [_compile(arg) for arg in args]
    if op == "var":
        return _compile_var(args, parts)
    if op == "missing":
        return lambda data: [name for name in (part(data) for part in parts) if _absent(_var(data, name))]
    if op in _NEGATIONS:
        return _compile_negation(op, parts[0], args[0])
    if op in ("and", "or"):
        return _compile_and(parts, args) if op == "and" else _compile_or(parts)
    if op == "if":
        return _compile_if(parts, args)
    function = _OPERATORS.get(op)
    if function is None:

        def unknown(data: Any) -> Any:
            raise ExpressionError(f"unknown operator {op!r}")

        return unknown
    if len(parts) == 2:
        first, second = parts
        if op in _COMPARISONS:
            return _compile_comparison(op, first, second, _read_from(args))
        return lambda data: _applied(function, [first(data), second(data)], args)
    return lambda data: _applied(function, [part(data) for part in parts], args)


_COMPARISONS: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _compile_comparison(op: str, first: Compiled, second: Compiled, read_from: str) -> Compiled:
    """_compare with two arguments, without building an argument list per row."""
    compare = _COMPARISONS[op]

    def run(data: Any) -> bool:
        a, b = first(data), second(data)
        if a is None or b is None:
            return False  # nothing compares with a missing value
        try:
            return _ordered(compare, a, b)
        except ExpressionError as exc:
            raise ExpressionError(f"{op}: {exc}{read_from}") from None

    return run


def _compile_var(args: list[Any], parts: list[Compiled]) -> Compiled:
    if not parts:
        return lambda data: _var(data, None, None)
    path_of, default_of = parts[0], (parts[1] if len(parts) > 1 else None)
    path = args[0]
    if default_of is None and isinstance(path, str) and path and "." not in path:
        # the common case, a plain column name: one dict lookup (the default, None, needs no evaluation)
        def column(data: Any) -> Any:
            if isinstance(data, dict) and path in data:
                return data[path]
            return _var(data, path, None)

        return column
    if default_of is None:
        return lambda data: _var(data, path_of(data), None)
    return lambda data: _var(data, path_of(data), default_of(data))


def _compile_and(parts: list[Compiled], args: list[Any]) -> Compiled:
    tested = list(zip(parts[:-1], args[:-1], strict=True))  # every operand but the last, whose value it gives
    last = parts[-1] if parts else (lambda data: True)

    def run(data: Any) -> Any:
        for part, arg in tested:
            value = part(data)
            if not truth(value, arg, _AND_TESTS):
                return value
        return last(data)

    return run


def _compile_negation(op: str, part: Compiled, arg: Any) -> Compiled:
    negation, tester = _NEGATIONS[op], f"{op}: its argument is"
    return lambda data: negation(truth(part(data), arg, tester))


def _compile_or(parts: list[Compiled]) -> Compiled:
    def run(data: Any) -> Any:
        value: Any = False
        for part in parts:
            value = part(data)
            if _filled(value):
                return value
        return value

    return run


def _filled(value: Any) -> bool:
    """Whether `or` stops at `value`: JSON Logic's truth, but a blank text (a padded export's empty cell) is empty
    as `truth` and `missing` take it, so `{"or": [{"var": "region"}, "unknown"]}` fills it too."""
    return bool(value.strip()) if isinstance(value, str) else bool(value)


def _compile_if(parts: list[Compiled], args: list[Any]) -> Compiled:
    def run(data: Any) -> Any:
        for index in range(0, len(parts) - 1, 2):
            if truth(parts[index](data), args[index], _IF_TESTS):
                return parts[index + 1](data)
        return parts[-1](data) if len(parts) % 2 == 1 else None

    return run
