"""The package's layout rule, read from the source: imports point down the flow, no module imports
itself back, and what generation runs never imports TensorFlow."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent / "musicgan"
# top to bottom; a module may import from its own package and from the packages below it
LAYERS = ("cli", "train", "evaluate", "generate", "models", "data", "harmony", "io", "core")
HEAVY = ("tensorflow", "keras")


def _module(path):
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _targets(node, package):
    """The modules an import statement names (a `from X import y` names X.y when y is a module)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    base = node.module or ""
    if node.level:
        anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
        base = ".".join(anchor + ([base] if base else []))
    return [f"{base}.{a.name}" if _is_module(f"{base}.{a.name}") else base for a in node.names]


def _imports(path):
    """[(imported module, imported at module level?)] for every import in the file."""
    name = _module(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text())
    top = {id(n) for n in tree.body}
    return [(t, id(node) in top) for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
            for t in _targets(node, package)]


def _is_module(name):
    path = ROOT.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


MODULES = {_module(p): p for p in sorted(ROOT.rglob("*.py"))}
GRAPH = {m: _imports(p) for m, p in MODULES.items()}


def _layer(module):
    """0 for the top layer; the entry point `python -m musicgan` stands above them all, the root package below."""
    if module == "musicgan.__main__":
        return -1
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else len(LAYERS)


def test_every_module_sits_in_a_layer():
    loose = [m for m in MODULES if _layer(m) == len(LAYERS) and m not in ("musicgan", "musicgan.__main__")]
    assert not loose, f"modules outside the layers {LAYERS}: {loose}"


def test_imports_point_down_the_flow():
    upward = [f"{m} imports {target}" for m, imports in GRAPH.items() for target, _ in imports
              if target.startswith("musicgan.") and _layer(target) < _layer(m)]
    assert not upward, "upward imports:\n" + "\n".join(upward)


def test_no_import_cycle():
    edges = {m: {t for t, _ in imports if t in MODULES and t != m} for m, imports in GRAPH.items()}
    state = {}

    def visit(m, path):
        state[m] = "open"
        for t in sorted(edges[m]):
            if state.get(t) == "open":
                pytest.fail("import cycle: " + " -> ".join(path[path.index(t):] + [t]))
            if t not in state:
                visit(t, path + [t])
        state[m] = "done"

    for m in sorted(edges):
        if m not in state:
            visit(m, [m])


def _closure(start):
    """Modules imported at module level from `start`, transitively (lazy imports inside functions excluded)."""
    seen, todo = set(), [start]
    while todo:
        m = todo.pop()
        if m in seen:
            continue
        seen.add(m)
        todo += [t for t, top in GRAPH.get(m, []) if top and (t in MODULES or t.split(".")[0] in HEAVY)]
    return seen


@pytest.mark.parametrize("start", ["musicgan.cli.generate", "musicgan.generate.songs", "musicgan.evaluate.metrics",
                                   "musicgan.evaluate.novelty", "musicgan.data.corpus"])
def test_generation_and_numpy_metrics_never_import_tensorflow(start):
    heavy = sorted(m for m in _closure(start) if m.split(".")[0] in HEAVY)
    assert not heavy, f"{start} imports {heavy} at import time"


def test_the_rule_catches_a_violation(tmp_path):
    """The walker itself: an upward import and a TensorFlow import are both seen."""
    upward = [t for t, _ in GRAPH["musicgan.train.loop"] if t.startswith("musicgan.data")]
    assert upward and all(_layer(t) > _layer("musicgan.train.loop") for t in upward)
    assert "tensorflow" in {t.split(".")[0] for t in _closure("musicgan.train.loop")}
