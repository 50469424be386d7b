"""The house without cycles (issue 14): the module-level import graph of poi_ode, read from the source with ``ast``.

The rule. An edge ``A -> B`` is an import *executed when module A is imported*: a statement at module level of A,
including inside module-level ``try``/``if`` blocks, but excluding ``if TYPE_CHECKING:`` blocks and imports inside
functions or classes (those run at call time and cannot make the import of a module loop). ``import poi_ode.x.y`` and
``from poi_ode.x import y`` (or the relative ``from .x import y``) give the edge to ``poi_ode.x.y`` when ``y`` is a
module, otherwise to ``poi_ode.x``; ``from . import x`` is an edge to the sibling module ``x``. The implicit import of
the parent packages of B is not counted (a package ``__init__`` only re-exports, see below), so the graph is the
dependencies that a reader sees in the import lines. The graph must have no cycle.

Stricter, also counting the imports inside functions (still not the ``TYPE_CHECKING`` ones, which never run): the only
cycles are those listed in ``CALL_TIME_CYCLES`` with a reason. (By this reading ``compile`` <-> ``model.core`` and
``plotting`` <-> ``simulate`` are no cycles: one direction of each is an annotation under ``TYPE_CHECKING``.)

Also: no private name (a leading underscore) is imported, at module level or in a function, from another subpackage
of poi_ode (exceptions in ``PRIVATE_EXCEPTIONS``, with a reason; there are none); within one subpackage
(e.g. ``poi_ode.fitting.problem`` from ``poi_ode.fitting.config``) a private name is shared implementation. The
top-level modules (``poi_ode.simulate``, ``poi_ode.compile``, ...) are each their own "subpackage" for this rule,
except the helper modules whose name itself starts with an underscore (``poi_ode._files``), which exist to be shared.

And: a package ``__init__.py`` holds only a docstring and re-exports (imports, ``__all__``), no functions or classes
(exceptions in ``INIT_EXCEPTIONS``, with a reason).
"""
from __future__ import annotations

import ast
from pathlib import Path

import poi_ode

ROOT = Path(poi_ode.__file__).resolve().parent
PKG = "poi_ode"

# Private names imported across subpackages that could not be removed, as {(importer, source module, name): reason}.
PRIVATE_EXCEPTIONS: dict[tuple[str, str, str], str] = {}

# Cycles that exist only through imports inside functions (allowed by the rule, listed so that none is added):
# {frozenset of modules: reason}.
CALL_TIME_CYCLES: dict[frozenset, str] = {}

# Package __init__ files that still define code (to be moved in a later change), as {package: reason}.
INIT_EXCEPTIONS: dict[str, str] = {
}


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _all_imports(tree: ast.Module):
    """Every import statement, also inside functions and classes, except under ``if TYPE_CHECKING:``."""
    def walk(node):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for other in child.orelse:
                    yield from visit(other)
            else:
                yield from visit(child)

    def visit(node):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        yield from walk(node)

    yield from walk(tree)


def _module_level_imports(tree: ast.Module):
    """The import statements executed at import time (not in functions/classes, not under TYPE_CHECKING)."""
    stack = list(tree.body)
    while stack:
        node = stack.pop(0)
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                stack.extend(node.body)
            stack.extend(node.orelse)
        elif isinstance(node, ast.Try):
            stack.extend(node.body + node.orelse + node.finalbody)
            for handler in node.handlers:
                stack.extend(handler.body)
        elif isinstance(node, (ast.With,)):
            stack.extend(node.body)


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    if node.level > 1:
        base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _graph(reader=None):
    reader = reader or _module_level_imports
    modules = _modules()
    edges: dict[str, set[str]] = {m: set() for m in modules}
    private: list[tuple[str, str, str]] = []
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        for node in reader(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] == PKG and alias.name in modules:
                        edges[module].add(alias.name)
                continue
            source = _resolve(module, is_package, node)
            if source.split(".")[0] != PKG:
                continue
            for alias in node.names:
                target = f"{source}.{alias.name}"
                if target in modules:
                    edges[module].add(target)
                else:
                    edges[module].add(source)
                    if alias.name.startswith("_"):
                        private.append((module, source, alias.name))
    return modules, edges, private


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (or a self-loop), by Tarjan's algorithm."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in edges.get(v, ()):
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def _area(module: str) -> str:
    """The subpackage of a module for the private-name rule: poi_ode.fitting.result -> poi_ode.fitting."""
    parts = module.split(".")
    return ".".join(parts[:2])


def test_graph_is_read():
    modules, edges, _ = _graph()
    assert "poi_ode.simulate" in modules and "poi_ode.fitting" in modules
    assert "poi_ode.dosing" in edges["poi_ode.simulate"]


def test_no_import_cycles():
    _, edges, _ = _graph()
    cycles = _cycles(edges)
    detail = [" <-> ".join(c) + ": " + "; ".join(f"{a} -> {b}" for a in c for b in sorted(edges[a]) if b in c)
              for c in cycles]
    assert not cycles, "import cycles:\n" + "\n".join(detail)


def test_call_time_cycles_are_the_known_ones():
    """Counting imports inside functions too (they run at call time, so they are allowed by the rule), the only
    cycles are the listed ones: the cycles the issue named (fitting <-> sensitivity, fitting.plots <->
    fitting.result) are gone."""
    _, edges, _ = _graph(_all_imports)
    cycles = [c for c in _cycles(edges) if frozenset(c) not in CALL_TIME_CYCLES]
    detail = [" <-> ".join(c) + ": " + "; ".join(f"{a} -> {b}" for a in c for b in sorted(edges[a]) if b in c)
              for c in cycles]
    assert not cycles, "import cycles through imports in functions:\n" + "\n".join(detail)


def test_cycle_finder_finds_cycles():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_private_names_across_subpackages():
    _, _, private = _graph(_all_imports)
    crossing = [(m, s, n) for m, s, n in private
                if _area(m) != _area(s) and not s.split(".")[-1].startswith("_")
                and (m, s, n) not in PRIVATE_EXCEPTIONS]
    assert not crossing, "private names imported across subpackages:\n" + "\n".join(
        f"{m}: from {s} import {n}" for m, s, n in crossing)


def _is_docstring(node: ast.stmt) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)


def _is_re_export(node: ast.stmt) -> bool:
    """An import, or ``__all__ = [...]`` / ``__all__ += [...]``."""
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return True
    targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AugAssign) else []
    return bool(targets) and all(isinstance(t, ast.Name) and t.id == "__all__" for t in targets)


def test_init_files_only_re_export():
    offenders = []
    for module, path in _modules().items():
        if path.name != "__init__.py" or module in INIT_EXCEPTIONS:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for k, node in enumerate(tree.body):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                offenders.append(f"{module}: {node.name} (line {node.lineno})")
            elif not (_is_re_export(node) or (k == 0 and _is_docstring(node))):
                offenders.append(f"{module}: {ast.unparse(node).splitlines()[0]} (line {node.lineno})")
    assert not offenders, "package __init__ files defining code:\n" + "\n".join(offenders)


def test_init_rule_tells_re_exports_from_code():
    def body(src: str) -> list[ast.stmt]:
        return ast.parse(src).body

    assert all(_is_re_export(n) for n in body("from .a import b\nimport x\n__all__ = ['b']\n__all__ += ['c']"))
    assert not any(_is_re_export(n) for n in body("X = 1\n_DIR = 2\nif True:\n    pass\nprint(1)"))
    assert _is_docstring(body('"""Doc."""')[0]) and not _is_docstring(body("1")[0])
