"""Templates are bounded while they render: every way a short template can build a huge value (a width, a
separator repeated per item, a replacement per occurrence, '%' and str.format widths, shared references printed
many times, accumulation in a loop) or loop for long is refused with a TemplateError naming the limit, before
the memory is spent; and ordinary templates render as before."""

from __future__ import annotations

from typing import Any

import pytest

from phi.definitions.templating import (
    MAX_OUTPUT_CHARS,
    MAX_RENDER_CHARS,
    MAX_RENDER_STEPS,
    TemplateError,
    check_template,
    fill,
)
from tests.support.memory import Measured, peaks_in_child

SHARED_REFERENCES = "{% set a = [1, 1] %}" + "".join(
    f"{{% set {b} = [{a}, {a}] %}}" for a, b in zip("abcdefghijklmnopq", "bcdefghijklmnopqr", strict=True)
)

BUILDS_TOO_MUCH = [
    # filters with a width, a count or a string repeated per line, item or occurrence
    "{{ 'x'|center(20000000) }}",
    "{{ '%020000000d'|format(1) }}",
    "{{ range(4000)|join('y' * 5000) }}",
    "{{ ('a\n' * 1000)|indent(100000) }}",
    "{{ ('a\n' * 1000)|indent('y' * 100000) }}",
    "{{ ('a ' * 1000)|wordwrap(1, wrapstring='y' * 100000) }}",
    "{{ ('x' * 1000)|replace('x', 'y' * 5000) }}",
    "{{ [1]|batch(100000000, 'x')|list }}",
    "{{ [1]|slice(100000000)|list }}",
    "{{ {'a': [1, 2, 3]}|tojson(100000000) }}",
    "{{ ('http://a.example ' * 500)|urlize(target='y' * 50000) }}",
    "{{ 'x'|truncate(10, end='y'|center(200000)) }}",
    # the str and int methods the sandbox hands out
    "{{ 'x'.center(20000000) }}",
    "{{ 'x'.ljust(20000000) }}",
    "{{ 'x'.rjust(20000000) }}",
    "{{ '1'.zfill(20000000) }}",
    "{{ ('\t' * 1000).expandtabs(100000) }}",
    "{{ ('x' * 1000).replace('', 'y' * 5000) }}",
    "{{ ('y' * 5000).join(range(4000)|map('string')) }}",
    "{{ ('x' * 50000).translate({120: 'y' * 50000}) }}",
    "{{ (1).to_bytes(100000000, 'big') }}",
    "{{ (1).to_bytes(length=100000000) }}",
    "{{ ('x'|safe).center(20000000) }}",
    "{{ ('x'|escape).ljust(20000000) }}",
    "{{ (('y' * 5000)|safe).join(range(4000)|map('string')) }}",
    "{{ 'x'.encode().center(20000000) }}",
    "{% filter center(20000000) %}x{% endfilter %}",
    "{% set x | indent(100000) %}{{ 'a\n' * 1000 }}{% endset %}{{ x|length }}",
    # '%' formatting and str.format
    "{{ '%020000000d' % 1 }}",
    "{{ '%*d' % (20000000, 1) }}",
    "{{ '%.20000000f' % 1.5 }}",
    "{{ '{:>20000000}'.format(1) }}",
    "{{ '{0:{1}}'.format(1, 20000000) }}",
    "{{ '{x:>20000000}'.format_map({'x': 1}) }}",
    "{{ ('{0}' * 1000).format('x'|center(99999)) }}",
    # operators: repetition, concatenation, '~', big numbers
    "{{ 'ab' * 100000000 }}",
    "{{ [1] * 100000000 }}",
    "{{ ['x'|center(99999)] * 100000 }}",
    "{{ 'x' + ('y'|center(99999)) + ('y'|center(99999)) }}",
    "{{ ('x'|center(99999)) ~ ('x'|center(99999)) }}",
    "{% set ns = namespace(x=2) %}{% for i in range(100) %}{% set ns.x = ns.x * ns.x %}{% endfor %}{{ ns.x }}",
    # one value referenced many times prints many times
    SHARED_REFERENCES + "{{ r|string|length }}",
    "{% set a = 'x'|center(90000) %}{% set b = [a, a, a, a] %}{{ b|length }}",
    "{{ dict.fromkeys(range(10000), 'x'|center(99999))|length }}",
    # lists of what range() gives
    "{{ range(100000)|list }}",
    "{{ range(10000)|map('center', 99999)|join|length }}",
    "{{ range(10000)|map('center', 99999)|list|length }}",
    # accumulation in a loop, and text written by a macro
    "{% set ns = namespace(s='') %}{% for i in range(10000) %}{% set ns.s = ns.s ~ 'xxxxxxxxxx' %}{% endfor %}",
    "{% set ns = namespace(s=[]) %}{% for i in range(10000) %}{% set ns.s = ns.s + ['xxxxxxxxxx'] %}{% endfor %}",
    "{% set ns = namespace(x=[]) %}{% for i in range(10000) %}{% set ns.x = [ns.x] %}{% endfor %}",
    "{% macro m() %}{% for i in range(10000) %}" + "x" * 300 + "{% endfor %}{% endmacro %}{{ m()|length }}",
    "{% macro m() %}{% for i in range(9000) %}{{ 'x'|center(1000) }}{% endfor %}{% endmacro %}{{ m()|length }}",
    "{% for i in range(10000) %}{% for j in range(10000) %}{{ 'x'|center(1000) }}{% endfor %}{% endfor %}",
    # a global that writes as much as it is asked
    "{{ lipsum(100000) }}",
]


@pytest.fixture(scope="module")
def refusals() -> dict[str, Measured]:
    """Each template rendered alone in a fresh interpreter (after a warm-up that builds the environment), so the
    peak is the render's own and not the allocations of other threads of the test process."""
    setup = "from phi.definitions.templating import fill\nfill('{{ 1 + 1 }} {{ x|upper }}', {'x': 'warm'})"
    measured = peaks_in_child(setup, [f"fill({template!r}, {{}})" for template in BUILDS_TOO_MUCH])
    return dict(zip(BUILDS_TOO_MUCH, measured, strict=True))


@pytest.mark.parametrize("template", BUILDS_TOO_MUCH)
def test_a_short_template_cannot_build_a_huge_value(template: str, refusals: dict[str, Measured]) -> None:
    refused = refusals[template]
    assert refused.error is not None and refused.error.startswith(("TemplateError", "TemplateLimit")), refused
    assert refused.peak < 10 * MAX_OUTPUT_CHARS * 4, f"{template!r} allocated {refused.peak / 1e6:.0f} MB first"
    limits = (f"{MAX_OUTPUT_CHARS:,}", f"{MAX_RENDER_CHARS:,}", f"{MAX_RENDER_STEPS:,}", "96 levels", "4096 bits",
              "10,000 items", "'lipsum' is undefined")  # fmt: skip
    assert any(limit in refused.error for limit in limits), refused.error


@pytest.mark.parametrize(
    "template",
    [
        "{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}",
        "{% for i in range(10000) %}{% for j in range(10000) %}{{ j }}{% endfor %}{% endfor %}",
        "{% for i in rows %}{% for j in rows %}{% for k in rows %}{% endfor %}{% endfor %}{% endfor %}",
        "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(30)|length }}",
        "{% for x in rows recursive %}{{ loop(rows) }}{% endfor %}",
        "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
    ],
)
def test_a_template_cannot_loop_or_recurse_for_long(template: str) -> None:
    # Unbounded, these run for hours (and pytest's timeout fails the test); bounded, the step or depth limit stops
    # them (or, on a machine too slow for that, the render's own time limit, also a TemplateError).
    with pytest.raises(TemplateError, match=r"steps|nest deeper than 32|longer than"):
        fill(template, {"rows": list(range(1000))})


@pytest.mark.parametrize(
    "template",
    ["{{ " + "(" * 300 + "1" + ")" * 300 + " }}", "{% for a in x %}" * 25 + "{% endfor %}" * 25],
)
def test_a_template_nested_too_deeply_is_refused_when_checked(template: str) -> None:
    with pytest.raises(TemplateError, match="nests too deeply"):
        check_template(template)


def test_a_failing_expression_is_a_template_error() -> None:
    with pytest.raises(TemplateError, match="ZeroDivisionError"):
        fill("{{ 1 / 0 }}", {})


def test_ordinary_templates_render_as_before_and_only_what_they_build_is_measured() -> None:
    rows = [{"carrier": f"C{i}", "late": i, "rate": i / 7} for i in range(1000)]
    context: dict[str, Any] = {"inputs": {"date": "2026-11-20", "top": 5}, "late": {"rows": rows}, "kpis": {"a": 1}}

    table = fill(
        "{% for r in late.rows %}{{ r.carrier|upper }}: {{ '%.2f'|format(r.rate) }} {{ '{:>4}'.format(r.late) }}\n"
        "{% endfor %}",
        context,
    )
    assert table.count("\n") == 1000 and "C999: 142.71  999" in table
    assert fill("{{ late.rows|map(attribute='late')|sum }}", context) == sum(range(1000))
    assert fill("{{ late.rows|map(attribute='carrier')|join(', ')|truncate(20) }}", context) == "C0, C1, C2, C3,..."
    assert fill("{{ [inputs.top, 2] }}", context) == [5, 2]
    assert fill("{{ (inputs.top, 2) }}", context) == (5, 2)
    assert fill("top: {{ {'top': inputs.top} }}", context) == "top: {'top': 5}"
    assert fill("{{ 'x' * 3 ~ inputs.date }}", context) == "xxx2026-11-20"
    assert fill("{{ range(3)|list }}", context) == [0, 1, 2]
    assert fill("{{ 'a-b'.replace('-', '+').center(5) }}", context) == " a+b "
    assert fill("{{ inputs.top ** 2 }}", context) == 25
    assert fill(
        "{% set ns = namespace(total=0) %}{% for r in late.rows %}{% set ns.total = ns.total + r.late %}{% endfor %}"
        "{{ ns.total }}",
        context,
    ) == str(sum(range(1000)))
    assert fill("{% macro row(r) %}<{{ r.carrier }}>{% endmacro %}{{ row(late.rows[3]) }}", context) == "<C3>"
    assert fill("{{ kpis|tojson(2) }}", context) == '{\n  "a": 1\n}'

    big = {"rows": [["x" * 100] * 10] * 200}  # a node's result, over the output limit when printed
    assert fill("{{ report }}", {"report": big}) is big  # a lookup passes it on as it is
    assert fill("{{ results['report'].rows }}", {"results": {"report": big}}) is big["rows"]
    with pytest.raises(TemplateError, match="100,000"):
        fill("{{ report.rows|list }}", {"report": big})  # a copy is built: measured


@pytest.mark.parametrize(
    "template",
    [
        # punycode is quadratic: these few kilobytes took half a minute in one call, which no step limit sees
        "{% set s %}{% for i in range(19968, 21968) %}{{ '%c' % i }}{% endfor %}{% endset %}"
        "{{ (s * 50).encode('punycode')|length }}",
        "{{ 'x'.encode('idna') }}",
        "{{ 'x'.encode(encoding='utf_7') }}",
        "{{ 'x'.encode('ascii').decode('punycode') }}",
    ],
)
def test_encodings_whose_cost_is_not_linear_are_refused(template: str) -> None:
    with pytest.raises(TemplateError, match=r"encoding .* is not allowed"):
        fill(template, {})


def test_linear_encodings_stay_available() -> None:
    assert fill("{{ 'Zürich'.encode('utf-8')|length }}", {}) == 7
    assert fill("{{ 'Zürich'.encode('latin-1').decode('latin_1') }}", {}) == "Zürich"
    assert fill("{{ name.encode().decode('UTF8') }}", {"name": "Ana"}) == "Ana"
