"""The shape of `webapp/`, read from its source with `ast`: no import cycles, and a registry
client that knows nothing of the web app.

Every import counts, at module level and inside functions alike: a deferred import hides a
cycle from Python, not from the design. Two kinds are left out. Imports under
`if TYPE_CHECKING:` never run. A module's import of its own parent package is Flask's
blueprint package pattern (`webapp/registries/__init__.py` defines `bp` and then imports its
views, which take `bp` from it): the package is already being imported when its modules are.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import webapp

PACKAGE = Path(webapp.__file__).resolve().parent
CLIENT = "webapp.registry_client"
#: What the registry client must never import: the web framework, the database layer, and the
#: rest of the app (models, services, blueprints) above it.
FORBIDDEN_IN_CLIENT = ("flask", "flask_login", "flask_migrate", "flask_sqlalchemy", "flask_wtf",
                       "flask_limiter", "sqlalchemy", "werkzeug", "itsdangerous", "wtforms")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES: dict[str, Path] = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(node: ast.AST, *, type_only: bool) -> Iterator[tuple[ast.AST, bool]]:
    """Every Import/ImportFrom below `node`, with whether it sits under `if TYPE_CHECKING:`."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for inner in child.body:
                yield from _import_nodes_of(inner, type_only=True)
            for inner in child.orelse:
                yield from _import_nodes_of(inner, type_only=type_only)
            continue
        yield from _import_nodes_of(child, type_only=type_only)


def _import_nodes_of(node: ast.AST, *, type_only: bool) -> Iterator[tuple[ast.AST, bool]]:
    if isinstance(node, ast.Import | ast.ImportFrom):
        yield node, type_only
    yield from _import_nodes(node, type_only=type_only)


def imports(name: str) -> Iterator[tuple[str, int, bool]]:
    """(imported module, line, type-only) for each import of module `name`, relative ones
    resolved. `from package import name` names the submodule when there is one."""
    path = MODULES[name]
    tree = ast.parse(path.read_text(), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node, type_only in _import_nodes(tree, type_only=False):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno, type_only
            continue
        assert isinstance(node, ast.ImportFrom)
        if node.level:
            base_parts = package.split(".")
            base_parts = base_parts[: len(base_parts) - (node.level - 1)]
            base = ".".join(base_parts + ([node.module] if node.module else []))
        else:
            base = node.module or ""
        for alias in node.names:
            submodule = f"{base}.{alias.name}"
            yield (submodule if submodule in MODULES else base), node.lineno, type_only


def graph(names: list[str] | None = None, *, type_hints: bool = False) -> dict[str, set[str]]:
    """webapp's modules (or those `names`) and the ones among them each imports at run time
    (and for type hints only, with `type_hints`)."""
    names = list(MODULES) if names is None else names
    edges: dict[str, set[str]] = {name: set() for name in names}
    for name in names:
        parent = name.rpartition(".")[0]
        for target, _, type_only in imports(name):
            if (type_only and not type_hints) or target in (parent, name) or target not in edges:
                continue
            edges[name].add(target)
    return edges


def knots(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module, or of one module that imports
    itself (Tarjan's algorithm): the modules that import each other, directly or not."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in edges[node]:
                components.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return components


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per knot, as a path that ends where it starts."""
    return [_one_cycle(component, edges) for component in knots(edges)]


def _one_cycle(component: list[str], edges: dict[str, set[str]]) -> list[str]:
    """A shortest way from the component's first module back to itself (breadth first)."""
    start, members = component[0], set(component)
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for target in sorted(edges[node] & members):
            if target == start:
                return paths[node] + [start]
            if target not in paths:
                paths[target] = paths[node] + [target]
                queue.append(target)
    raise AssertionError(f"no cycle through {start}")  # pragma: no cover - a component has one


def test_the_graph_sees_what_it_must():
    """The reader itself: function-level imports count, TYPE_CHECKING and parent packages do
    not, and relative imports resolve to the modules they name."""
    edges = graph()
    assert "webapp.registries.views" in edges["webapp.registries"]  # the blueprint's own views
    assert "webapp.registries" not in edges["webapp.registries.views"]  # `from . import bp`
    assert "webapp.cli" in edges["webapp"]  # create_app imports it inside the function
    assert "webapp.extensions" in edges["webapp.models"]  # `from .extensions import db`
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"a"}}) == [["a", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_webapp_has_no_import_cycle():
    edges = graph()
    found = knots(edges)
    assert not found, "import cycles in webapp/:\n" + "\n".join(
        f"{' -> '.join(_one_cycle(knot, edges))}  (the knot: {', '.join(knot)})" for knot in found
    )


CLIENT_MODULES = sorted(name for name in MODULES if name == CLIENT or name.startswith(CLIENT + "."))


def test_every_registry_client_module_is_read():
    on_disk = {module_name(path) for path in (PACKAGE / "registry_client").rglob("*.py")}
    assert set(CLIENT_MODULES) == on_disk and len(on_disk) > 10


@pytest.mark.parametrize("name", CLIENT_MODULES)
def test_the_registry_client_imports_no_web_app(name):
    """Plain Python: no Flask, no SQLAlchemy, nothing of the app above it (models, services,
    blueprints, extensions), not even for type hints."""
    wrong = []
    for target, line, _ in imports(name):
        top = target.split(".")[0]
        outside_client = top == "webapp" and not (target == CLIENT or target.startswith(CLIENT + "."))
        if top in FORBIDDEN_IN_CLIENT or outside_client:
            wrong.append(f"{MODULES[name].relative_to(PACKAGE.parent)}:{line} imports {target}")
    assert not wrong, "\n".join(wrong)


def test_the_registry_client_has_no_knot_even_in_its_type_hints():
    """Its modules stack up (errors, policy, address, providers, ... check): a type hint that
    points back up the stack is a dependency too, even if Python never runs it."""
    edges = graph(CLIENT_MODULES, type_hints=True)
    found = knots(edges)
    assert not found, "\n".join(" -> ".join(_one_cycle(knot, edges)) for knot in found)
