"""CONTRIBUTING.md's module map names every module of the library (a newcomer finds the
home of each step there), in pipeline order: no module imports one listed below it, and
the import graph has no cycle."""
import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIB = ROOT / "robotpose_lib"


def _section() -> str:
    text = (ROOT / "CONTRIBUTING.md").read_text()
    start = text.index("## The pipeline and who owns each arrow")
    return text[start:text.index("## Robot models")]


def _modules() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the library."""
    out = {}
    for path in LIB.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Library modules ``name`` imports anywhere (inside functions and ``__main__`` blocks too)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    stack = [ast.parse(path.read_text())]
    while stack:
        node = stack.pop()
        stack.extend(ast.iter_child_nodes(node))
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name in modules}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.add(sub if sub in modules else target)
    return {m for m in found if m in modules and m != name}


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def _entry(module: str) -> str:
    """The map entry of a module: ``x.py`` for a top-level module, ``pkg/`` inside a package."""
    parts = module.split(".")[1:]
    if not parts:
        return "__init__.py"
    if len(parts) == 1 and not (LIB / parts[0]).is_dir():
        return f"{parts[0]}.py"
    return f"{parts[0]}/"


def _map_order() -> list[str]:
    """Entries of the map (``name.py`` or ``name/`` starting a line), top to bottom."""
    block = _section().split("```")[1]
    return [m.group(1) for m in re.finditer(r"^([A-Za-z_][\w]*(?:\.py|/))", block, re.M)]


def test_contributing_lists_every_module():
    section = _section()
    missing = []
    for path in sorted(LIB.rglob("*.py")):
        rel = path.relative_to(LIB)
        if rel.name == "__init__.py" and rel.parent != Path("."):
            continue  # a package is listed as its folder
        if rel.parent != Path("."):
            if f"{rel.parts[0]}/" not in section:
                missing.append(str(rel))
        elif rel.name != "__init__.py" and rel.name not in section:
            missing.append(str(rel))
    assert not missing, f"modules missing from CONTRIBUTING.md's module map: {missing}"


def test_modules_import_only_what_the_map_lists_above_them():
    order = _map_order()
    position = {entry: i for i, entry in enumerate(order)}
    position["__init__.py"] = -1  # the package itself imports nothing
    upward = []
    for module, imported in _graph().items():
        entry = _entry(module)
        if entry not in position:
            continue  # reported by test_contributing_lists_every_module
        for other in imported:
            other_entry = _entry(other)
            if position.get(other_entry, -1) > position[entry]:
                upward.append(f"{module} imports {other} ({other_entry} is listed below {entry})")
    assert not upward, "imports against the pipeline order of CONTRIBUTING.md:\n" + "\n".join(sorted(upward))


def test_import_graph_has_no_cycle():
    graph = _graph()
    state, cycles = {}, []

    def visit(node, trail):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycles.append(" -> ".join(trail[trail.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_no_imports_by_name_strings():
    """Modules are imported with import statements (visible to the checks above), not with
    importlib and "module:attr" strings."""
    users = [str(p.relative_to(ROOT)) for p in LIB.rglob("*.py")
             if re.search(r"import_module\(|__import__\(", p.read_text())]
    assert not users, f"string imports in {users}"
