"""The engine's layout rules (docs/design.md, "Architecture"): no import cycle between modules,
no Streamlit in the engine, no importlib probing, and no file over 400 lines in the engine or
the app. Read from the source with ``ast``, so the checks see lazy (in-function) imports too."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENGINE = ROOT / "frame_core"
MAX_LINES = 400


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def engine_imports() -> dict[str, set[str]]:
    """Module → the engine modules it imports (anywhere in the file)."""
    modules = {_module_name(p): p for p in ENGINE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        deps = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("frame_core"):
                for alias in node.names:
                    sub = f"{node.module}.{alias.name}"
                    deps.add(sub if sub in modules else node.module)
            elif isinstance(node, ast.Import):
                deps |= {a.name for a in node.names if a.name.startswith("frame_core")}
        graph[name] = {d for d in deps if d in modules and d != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first == last), or None. Imports of a package
    from its own submodules' ``__init__`` re-exports are edges too."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            # a submodule importing its own package's __init__ is how re-exports work, not a cycle
            if n.startswith(m + "."):
                continue
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if state.get(m) is None and (c := visit(m)):
                return c
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if state.get(n) is None and (c := visit(n)):
            return c
    return None


def test_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_in_the_engine():
    assert find_cycle(engine_imports()) is None


# importlib is allowed only where a third-party package must be imported in a special way
IMPORTLIB_ALLOWED = {"frame_core/baselines/_deepctr.py"}  # deepctr_torch without its network version check


def test_engine_never_imports_streamlit_or_probes_modules():
    for path in ENGINE.rglob("*.py"):
        banned = ("streamlit",) if str(path.relative_to(ROOT)) in IMPORTLIB_ALLOWED else ("streamlit", "importlib")
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            assert not any(n.split(".")[0] in banned for n in names), path


def test_no_file_over_400_lines():
    long = {str(p.relative_to(ROOT)): n for d in ("frame_core", "app") for p in (ROOT / d).rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}
