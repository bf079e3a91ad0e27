"""The import structure: probes/ is the lower layer, and no module imports itself back.

Imports are read from the source (inside functions too, where a lazy import used to hide a
cycle between the registry and the composite kinds), so the test sees what a reader sees.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("exporter", "probes")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, modules: set[str]) -> set[str]:
    """The project modules that ``path`` imports, anywhere in the file."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            # ``from . import x`` may name a module x of the package.
            targets = [base, *(f"{base}.{a.name}" for a in node.names)]
        else:
            continue
        found.update(t for t in targets if t in modules and t != name)
    return found


def graph() -> dict[str, set[str]]:
    files = [p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")]
    modules = {module_name(p) for p in files}
    return {module_name(p): imports(p, modules) for p in files}


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    done: set[str] = set()
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return None
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            cycle = visit(nxt)
            if cycle:
                return cycle
        path.pop()
        done.add(node)
        return None

    for start in sorted(edges):
        cycle = visit(start)
        if cycle:
            return cycle
    return None


def test_no_import_cycle():
    # Package __init__ files re-export nothing here; leave them out so "a.b imports a" is no cycle.
    edges = {m: {t for t in ts if t not in PACKAGES} for m, ts in graph().items()}
    assert find_cycle(edges) is None, " -> ".join(find_cycle(edges) or [])


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_probes_never_import_the_exporter():
    wrong = {
        m: ts
        for m, ts in graph().items()
        if m.startswith("probes") and any(t.startswith("exporter") for t in ts)
    }
    assert not wrong


def test_engine_and_attest_name_no_probe_kind():
    """They ask the registry's Kind hooks; a kind's name in them would be knowledge leaking."""
    from probes.registry import KINDS

    for module in ("exporter/engine.py", "exporter/attest.py"):
        strings = {
            n.value
            for n in ast.walk(ast.parse((ROOT / module).read_text()))
            if isinstance(n, ast.Constant) and isinstance(n.value, str)
        }
        assert not strings & set(KINDS), (module, strings & set(KINDS))


def test_the_readme_layout_names_every_module():
    """README's "Layout" lists each module under its folder; a new module is added there."""
    text = (ROOT / "README.md").read_text()
    layout = text[text.index("- **Layout.**") : text.index("- **Why aiohttp, not httpx.**")]
    sections = {
        folder: layout[layout.index(f"  - `{folder}`") :].split("\n  - ", 2)[0]
        for folder in ("probes/", "exporter/", "exporter/web/", "exporter/render/")
    }
    missing = [
        f"{folder}{path.name}"
        for folder, section in sections.items()
        for path in sorted((ROOT / folder).glob("*.py"))
        if path.name != "__init__.py" and f"`{path.name}`" not in section
    ]
    assert not missing, f"README's layout does not name {', '.join(missing)}"


def test_every_kind_has_its_own_test_file():
    """docs/probes.md, "Adding a probe kind": a kind is its module, its test and one entry."""
    from probes.registry import KINDS

    modules = {KINDS[kind].probe.__module__.removeprefix("probes.") for kind in KINDS}
    missing = [m for m in sorted(modules) if not (ROOT / "tests" / f"test_probe_{m}.py").exists()]
    assert not missing, f"no tests/test_probe_<module>.py for {', '.join(missing)}"
