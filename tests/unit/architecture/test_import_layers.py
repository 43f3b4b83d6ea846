"""The layering contract of functions/phi: a module imports only from its own layer or the layers below.

    0  phi.names, phi.domain, phi.errors, phi.settings, phi.log,      names, models, settings, errors, logger,
       phi.recently_used, phi.lifetime, phi.wording                   a bounded cache, process-lifetime objects,
                                                                      codes in words
    1  phi.aws, phi.secrets, phi.guarded_http,                        AWS clients, secrets, guarded outbound HTTPS
       phi.deadline_transport,                                        (and its one deadline);
       phi.definitions, phi.workflows.warehouse                       workflow types and
       phi.workflows.timeframes, phi.workflows.operations,            definitions; pure functions; document models
       phi.workflows.safety, phi.documents.models
    2  phi.db                                                         SQL, one module per aggregate
    3  phi.documents, phi.embeddings, phi.llm                         document pipeline and providers
    4  phi.services | phi.workflows                                   the API's use cases | the task loop's graphs
                                                                      (siblings: neither imports the other)
    5  phi.api                                                        the FastAPI app
    6  phi.handlers                                                   Lambda entry points (one wraps the API)
    7  phi.embedded, phi.cli                                          the one-machine stack and the command line

Every import counts, including those inside functions (a lazy import is still a dependency)."""

from __future__ import annotations

import ast
from pathlib import Path

PHI = Path(__file__).resolve().parents[3] / "functions" / "phi"

LAYERS: dict[str, int] = {
    "phi.names": 0,
    "phi.domain": 0,
    "phi.errors": 0,
    "phi.settings": 0,
    "phi.log": 0,
    "phi.recently_used": 0,
    "phi.lifetime": 0,
    "phi.wording": 0,
    "phi.aws": 1,
    "phi.approval_tokens": 1,
    "phi.email_delivery": 1,
    "phi.secrets": 1,
    "phi.guarded_http": 1,
    "phi.deadline_transport": 1,
    "phi.definitions": 1,
    "phi.workflows.warehouse": 1,
    "phi.workflows.timeframes": 1,
    "phi.workflows.operations": 1,
    "phi.workflows.safety": 1,
    "phi.documents.models": 1,
    "phi.db": 2,
    "phi.documents": 3,
    "phi.embeddings": 3,
    "phi.llm": 3,
    "phi.services": 4,
    "phi.workflows": 4,
    "phi.api": 5,
    "phi.handlers": 6,
    "phi.embedded": 7,
    "phi.cli": 7,
}


def _component(module: str) -> str | None:
    """The most specific component a module belongs to (phi.workflows.warehouse before phi.workflows)."""
    matches = [c for c in LAYERS if module == c or module.startswith(c + ".")]
    return max(matches, key=len) if matches else None


def _module_name(path: Path) -> str:
    parts = path.relative_to(PHI.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found.extend((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
    return [(line, name) for line, name in found if name == "phi" or name.startswith("phi.")]


def violations() -> list[str]:
    problems = []
    for path in sorted(PHI.rglob("*.py")):
        source = _component(_module_name(path))
        if source is None:
            continue
        for line, imported in _imports(path):
            target = _component(imported)
            if target is None or target == source or source.startswith(target + ".") or target.startswith(source + "."):
                continue
            if LAYERS[target] > LAYERS[source] or (LAYERS[target] == LAYERS[source] and LAYERS[source] == 4):
                problems.append(
                    f"{path.relative_to(PHI.parent)}:{line}: {source} (layer {LAYERS[source]}) "
                    f"imports {imported} ({target}, layer {LAYERS[target]})"
                )
    return problems


def test_every_module_belongs_to_a_layer() -> None:
    unplaced = [_module_name(p) for p in PHI.rglob("*.py") if _component(_module_name(p)) is None]
    assert unplaced in ([], ["phi"]), f"place these modules in LAYERS: {unplaced}"


def test_no_module_imports_from_a_higher_layer_or_a_sibling() -> None:
    assert violations() == []


def test_the_check_catches_an_upward_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from phi.handlers.observability import logger\n")
    assert (2, "phi.handlers.observability") in _imports(sample)
    assert _component("phi.handlers.observability") == "phi.handlers"
    assert LAYERS[_component("phi.handlers.observability") or ""] > LAYERS["phi.services"]
