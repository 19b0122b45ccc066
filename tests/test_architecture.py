"""The package's import rules (docs/architecture.md), read from the source: a broken rule fails here."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "djstruct"
# Heavy optional packages: the only ones that may be imported inside functions (besides lazy CLI commands).
HEAVY = ("torch", "transformers", "matplotlib", "selenium", "cleanlab", "ray", "pyarrow", "pyrekordbox",
         "fluidsynth", "soxr", "soundfile", "av", "mutagen", "librosa", "mir_eval", "scipy", "platformdirs",
         "psutil", "webbrowser", "sqlcipher3")
# package (prefix) -> packages it must never import
FORBIDDEN = {
    "djstruct.library": ("djstruct.writeback", "djstruct.cli"),
    "djstruct.detect": ("djstruct.train",),
    "djstruct.model": ("djstruct.train", "djstruct.detect"),
    "djstruct.postprocess": ("torch", "djstruct.model", "djstruct.train"),
}


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, list[tuple[str, bool, int]]]:
    """module -> [(imported module, inside a function, line)]."""
    out: dict[str, list[tuple[str, bool, int]]] = defaultdict(list)
    for path in ROOT.rglob("*.py"):
        mod = _module(path)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        in_function: set[int] = set()
        for fn in ast.walk(tree):
            if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                in_function |= {id(n) for n in ast.walk(fn)}
        type_only_ids = _type_checking_nodes(tree)
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            type_only = id(node) in type_only_ids
            for name in names:
                if not type_only:
                    out[mod].append((name, id(node) in in_function, node.lineno))
    return out


def _type_checking_nodes(tree: ast.Module) -> set[int]:
    """ids of the nodes inside ``if TYPE_CHECKING:`` blocks (imports for annotations only)."""
    out: set[int] = set()
    for block in ast.walk(tree):
        if isinstance(block, ast.If) and isinstance(block.test, ast.Name) and block.test.id == "TYPE_CHECKING":
            out |= {id(n) for b in block.body for n in ast.walk(b)}
    return out


IMPORTS = _imports()
MODULES = set(IMPORTS) | {_module(p) for p in ROOT.rglob("*.py")}


def _real(name: str) -> str | None:
    """The djstruct module an import names (``from djstruct.x import y``: y if it is a module, else x)."""
    return name if name in MODULES else None


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_forbidden_imports(package: str) -> None:
    bad = [f"{mod}:{line} imports {name}" for mod, imps in IMPORTS.items()
           if mod == package or mod.startswith(package + ".")
           for name, _, line in imps
           for banned in FORBIDDEN[package] if name == banned or name.startswith(banned + ".")]
    assert not bad, "\n".join(bad)


def test_function_level_imports_only_for_heavy_packages_and_cli() -> None:
    heavy = _heavy_users()
    statements: dict[tuple[str, int], set[str]] = defaultdict(set)  # (module, line) -> djstruct modules it loads
    for mod, imps in IMPORTS.items():
        if mod.startswith("djstruct.cli"):
            continue
        for name, inside, line in imps:
            if inside and name.startswith("djstruct") and (target := _real(name)):
                statements[(mod, line)].add(target)
    bad = [f"{mod}:{line} imports {', '.join(sorted(targets))} inside a function"
           for (mod, line), targets in statements.items() if not any(heavy.get(t) for t in targets)]
    assert not bad, "\n".join(sorted(bad))


def _heavy_users() -> dict[str, bool]:
    """djstruct module -> whether importing it loads a heavy package (itself or through the djstruct modules
    it imports at its top); such a module may be imported lazily."""
    direct: dict[str, bool] = {}
    deps: dict[str, set[str]] = defaultdict(set)
    for mod, imps in IMPORTS.items():
        direct[mod] = any(name.split(".")[0] in HEAVY for name, inside, _ in imps if not inside)
        deps[mod] = {t for name, inside, _ in imps if not inside and (t := _real(name)) and t != mod}
    heavy = dict(direct)
    changed = True
    while changed:
        changed = False
        for mod in heavy:
            if not heavy[mod] and any(heavy.get(d) for d in deps[mod]):
                heavy[mod] = changed = True
    return heavy


def test_no_import_cycles() -> None:
    graph: dict[str, set[str]] = defaultdict(set)
    for mod, imps in IMPORTS.items():
        for name, _, _ in imps:
            target = _real(name)
            if target and target != mod and not mod.startswith(target + "."):  # a package's own __init__
                graph[mod].add(target)
    seen: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        seen[m] = 1
        stack.append(m)
        for n in sorted(graph.get(m, ())):
            if seen.get(n) == 1:
                return stack[stack.index(n):] + [n]
            if n not in seen and (cycle := visit(n)):
                return cycle
        stack.pop()
        seen[m] = 2
        return None

    for m in sorted(graph):
        if m not in seen and (cycle := visit(m)):
            pytest.fail("import cycle: " + " -> ".join(cycle))


def test_no_module_over_400_lines() -> None:
    long = {str(p.relative_to(ROOT.parent)): n for p in ROOT.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 400}
    assert not long, long
