"""The shape of the package: backprop's pipeline, with data flowing one way.

* No import cycles among microgrant's modules, and no imports inside functions (a lazy
  import is a cycle postponed, not removed).
* No module imports another module's private (underscore) names.
* Every public name of the previous release still imports from where it did, but one:
  ``microgrant.engine.grad``.  The replay behind ``grad`` moved to `microgrant.autodiff`,
  which is built on the engine, so the engine cannot offer it without an import cycle;
  ``microgrant.grad`` and ``microgrant.autodiff.grad`` are where it lives.
* Every public module, class and function has a docstring.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest

import microgrant

PACKAGE = Path(microgrant.__file__).parent



def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path):
    """(imported module, names, is_module_level) for every import of a microgrant module."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = set(map(id, tree.body))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "microgrant":
                continue
            names = [a.name for a in node.names]
            if node.module is None:  # from . import viz: a module, or a name of the package
                for n in names:
                    if (PACKAGE.parent / f"{target}.{n}".replace(".", "/")).with_suffix(
                            ".py").exists() or (PACKAGE.parent / target.replace(".", "/") / n
                                                ).is_dir():
                        yield f"{target}.{n}", [], id(node) in top
                    else:
                        yield target, [n], id(node) in top
            else:
                yield target, names, id(node) in top
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "microgrant":
                    yield a.name, [], id(node) in top


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p) for p in PACKAGE.rglob("*.py")}
    edges: dict[str, set[str]] = {m: set() for m in modules}
    for path in PACKAGE.rglob("*.py"):
        source = _module_name(path)
        for target, names, _ in _imports(path):
            for t in [target] + [f"{target}.{n}" for n in names]:
                if t in modules and t != source:
                    edges[source].add(t)
    return edges


def _cycle(edges: dict[str, set[str]]) -> list[str] | None:
    colour: dict[str, int] = {}
    for start in sorted(edges):
        if start in colour:
            continue
        stack = [(start, iter(sorted(edges[start])))]
        path = [start]
        colour[start] = 1
        while stack:
            node, children = stack[-1]
            for child in children:
                # A package's __init__ importing its own submodules is not a cycle.
                if colour.get(child) == 1 and not node.startswith(child + "."):
                    return path[path.index(child):] + [child]
                if child not in colour:
                    colour[child] = 1
                    stack.append((child, iter(sorted(edges[child]))))
                    path.append(child)
                    break
            else:
                colour[node] = 2
                stack.pop()
                path.pop()
    return None


def test_the_import_graph_has_no_cycle():
    assert _cycle(_graph()) is None, f"import cycle: {' -> '.join(_cycle(_graph()) or [])}"


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_no_module_imports_a_private_name_of_another():
    offences = []
    for path in PACKAGE.rglob("*.py"):
        for target, names, _ in _imports(path):
            private_module = any(part.startswith("_") and part != "__init__"
                                 for part in target.split("."))
            private_names = [n for n in names if n.startswith("_") and not n.endswith("__")]
            if private_module or private_names:
                offences.append(f"{_module_name(path)}: from {target} import {names}")
    assert not offences, "\n".join(offences)


def test_nothing_imports_inside_a_function():
    late = []
    for path in PACKAGE.rglob("*.py"):
        for target, _, module_level in _imports(path):
            if not module_level:
                late.append(f"{_module_name(path)} imports {target} inside a function")
    assert not late, "\n".join(late)


# The public names of the previous release, by module: each must still import from there.
PREVIOUS = {
    "microgrant": ["Value", "grad", "local_grads", "no_grad", "is_grad_enabled",
                   "topological_order", "gradcheck", "GradcheckResult", "GradcheckRow", "Op",
                   "OPS"],
    "microgrant.classic": ["McCullochPitts", "Perceptron", "Adaline", "ThresholdNetwork",
                           "perceptron_trick", "heaviside", "xor_network", "LABELS"],
    "microgrant.cli": ["main", "DATASETS", "UsageError"],
    "microgrant.data": ["LABELS", "GATES", "logic_gate", "moons", "circles", "blobs",
                        "admissions", "split"],
    "microgrant.engine": ["Value", "Op", "OPS", "local_grads", "no_grad",
                          "is_grad_enabled", "topological_order"],
    "microgrant.expr": ["FUNCTIONS", "MAX_LENGTH", "ExpressionError", "Expression", "parse",
                        "build"],
    "microgrant.gradcheck": ["gradcheck", "GradcheckResult", "GradcheckRow"],
    "microgrant.losses": ["softmax", "log_softmax", "mse_loss", "binary_cross_entropy",
                          "binary_cross_entropy_with_logits", "cross_entropy", "hinge_loss",
                          "REDUCTIONS"],
    "microgrant.nn": ["Module", "Neuron", "Layer", "MLP", "ACTIVATIONS", "INITS", "softmax",
                      "log_softmax", "mse_loss", "binary_cross_entropy",
                      "binary_cross_entropy_with_logits", "cross_entropy", "hinge_loss",
                      "REDUCTIONS"],
    "microgrant.notes": ["neuron", "two_neurons", "note_004_factors", "TWO_NEURONS"],
    "microgrant.ops": ["Op", "OPS"],
    "microgrant.optim": ["Optimizer", "SGD", "RMSProp", "RMSprop", "Adam"],
    "microgrant.plot": ["ACTIVATIONS", "decision_boundary", "decision_boundaries",
                        "training_curves", "activations", "activation_with_derivative",
                        "save_figure"],
    "microgrant.train": ["fit", "predict", "accuracy", "History", "LOSSES"],
    "microgrant.viz": ["format_number", "to_dot", "draw", "Drawing", "backward_steps",
                       "BackwardStep", "explain", "save_stepper", "draw_network",
                       "RenderError", "VIEWS", "FORMATS", "DEFAULT_MAX_NODES"],
}


@pytest.mark.parametrize("module", sorted(PREVIOUS))
def test_public_names_of_the_previous_release_still_import(module):
    if module == "microgrant.plot":
        pytest.importorskip("matplotlib")
    imported = importlib.import_module(module)
    missing = [name for name in PREVIOUS[module] if not hasattr(imported, name)]
    assert not missing, f"{module} lost {missing}"


def _public_modules():
    for info in pkgutil.walk_packages(microgrant.__path__, "microgrant."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            yield info.name


@pytest.mark.parametrize("module", sorted(_public_modules()))
def test_every_public_module_class_and_function_has_a_docstring(module):
    if module == "microgrant.plot":
        pytest.importorskip("matplotlib")
    imported = importlib.import_module(module)
    assert inspect.getdoc(imported), f"{module} has no module docstring"
    undocumented = []
    for name in getattr(imported, "__all__", []):
        obj = getattr(imported, name)
        if (inspect.isclass(obj) or inspect.isfunction(obj)) and \
                getattr(obj, "__module__", module) == module and not inspect.getdoc(obj):
            undocumented.append(name)
    assert not undocumented, f"{module}: no docstring on {undocumented}"
