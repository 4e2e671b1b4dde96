"""The package's layout rule, read from the source: imports point down the flow, no module imports
itself back, what generation runs never imports TensorFlow, and importing the package starts none."""

import ast
import subprocess
import sys
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


STARTS_NOTHING = """
import importlib, pkgutil
import musicgan
for m in pkgutil.walk_packages(musicgan.__path__, "musicgan."):
    if not m.name.endswith("__main__"):
        importlib.import_module(m.name)
import tensorflow as tf

def split(n):
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * n)

split(2)                     # raises if a module made a tensor at import
tf.constant(0)
try:
    split(3)
except RuntimeError:
    print("a started TensorFlow is seen")
"""


def test_importing_every_module_leaves_tensorflow_unstarted():
    """A tensor made at import time starts TensorFlow, which fixes the CPU device count before
    tf.distribute can split it (the failure reads "started with 1 CPU device(s) before 2")."""
    run = subprocess.run([sys.executable, "-c", STARTS_NOTHING], check=False, cwd=ROOT.parent, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-1500:]
    assert "a started TensorFlow is seen" in run.stdout
