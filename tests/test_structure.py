"""The shape of the package: backprop's pipeline, with data flowing one way.

* No import cycles among microgrant's modules, and no imports inside functions (a lazy
  import is a cycle postponed, not removed).
* No module imports another module's private (underscore) names.
* Every name in a public module's ``__all__`` at the previous release still imports from
  where it did, whichever module now holds the code behind it (see `PREVIOUS` for the one name
  retired on purpose).
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


# Every name in every public module's __all__ at the previous release: each must still import
# from there, though the code behind it may have moved to a module with one job.  One name is
# gone on purpose: `microgrant.ops.function_from_source` compiled op partials from text for a
# generated backward loop, and the engine's loop is now written out by hand.
PREVIOUS = {
    "microgrant": ["GradcheckResult", "GradcheckRow", "OPS", "Op", "Value", "backward_pass",
                   "compile", "grad", "gradcheck", "is_grad_enabled", "local_grads", "no_grad",
                   "topological_order"],
    "microgrant.autodiff": ["BackwardPass", "ChainStep", "backward_pass", "grad", "local_grads"],
    "microgrant.checks": ["count", "finite", "fraction", "isfinite", "nonnegative", "one_of",
                          "positive", "real", "rng", "satisfies", "shown"],
    "microgrant.classic": ["Adaline", "LABELS", "McCullochPitts", "Perceptron", "ThresholdNetwork",
                           "heaviside", "perceptron_trick", "xor_network"],
    "microgrant.cli": ["ACTIVATIONS", "DATASETS", "UsageError", "main"],
    "microgrant.compile": ["CheckReport", "CompiledStep", "Tape", "TapeGroup", "compile"],
    "microgrant.data": ["GATES", "LABELS", "admissions", "blobs", "circles", "logic_gate", "moons",
                        "split"],
    "microgrant.engine": ["BACKWARD_LOOP", "OPS", "Op", "Value", "is_grad_enabled", "local_grads",
                          "no_grad", "topological_order", "undefined_grad_error"],
    "microgrant.expr": ["Expression", "ExpressionError", "FUNCTIONS", "MAX_LENGTH", "build",
                        "parse"],
    "microgrant.gradcheck": ["GradcheckResult", "GradcheckRow", "KINKS", "gradcheck"],
    "microgrant.io": ["FORMAT", "VERSION", "check_state", "load", "save", "write_atomically"],
    "microgrant.losses": ["REDUCTIONS", "binary_cross_entropy", "binary_cross_entropy_with_logits",
                          "cross_entropy", "hinge_loss", "log_softmax", "mse_loss", "softmax"],
    "microgrant.nn": ["ACTIVATIONS", "Activation", "Dense", "INITS", "Layer", "LeakyReLU",
                      "Linear", "MLP", "Module", "Neuron", "ParameterList", "REDUCTIONS", "ReLU",
                      "Sequential", "Sigmoid", "Softmax", "Tanh", "binary_cross_entropy",
                      "binary_cross_entropy_with_logits", "cross_entropy", "hinge_loss",
                      "log_softmax", "mse_loss", "softmax"],
    "microgrant.notes": ["TWO_NEURONS", "TrainedXor", "neuron", "note_004_factors",
                         "note_004_table", "train_xor", "two_neurons"],
    "microgrant.ops": ["OPS", "Op", "UNDEFINED", "log", "sigmoid"],
    "microgrant.optim": ["Adam", "Optimizer", "RMSProp", "RMSprop", "SGD"],
    "microgrant.plot": ["ACTIVATIONS", "activation_with_derivative", "activations",
                        "decision_boundaries", "decision_boundary", "save_figure",
                        "training_curves"],
    "microgrant.pytorch": ["CheckResult", "CheckRow", "check", "from_torch", "to_torch"],
    "microgrant.train": ["History", "LOSSES", "accuracy", "fit", "predict"],
    "microgrant.viz": ["BackwardStep", "DEFAULT_MAX_NODES", "Drawing", "FORMATS", "RenderError",
                       "Stepper", "VIEWS", "backward_steps", "draw", "draw_dot", "draw_network",
                       "explain", "format_number", "save_stepper", "stepper", "to_dot"],
    "microgrant.viz.dot": ["ASPECT", "GROUPS", "HIGHLIGHT", "Html", "Layout", "MUTED", "OP_FILL",
                           "RANKDIRS", "REUSE_LIMIT", "STYLE", "VIEWS", "attributes",
                           "choose_rankdir", "clean", "html", "plan_layout", "prepare", "quote",
                           "to_dot", "write"],
    "microgrant.viz.network": ["LABELLED_EDGES", "LISTED_WEIGHTS", "draw_network"],
    "microgrant.viz.render": ["Drawing", "FORMATS", "INSTALL_HINT", "RenderError", "check_format",
                              "draw", "draw_dot", "find_dot", "format_from_path",
                              "load_pygraphviz", "picture", "render_dot", "svg_element"],
    "microgrant.viz.stepper": ["MAX_CHECKS", "Stepper", "save_stepper", "stepper"],
    "microgrant.viz.steps": ["BackwardStep", "backward_steps", "steps_of"],
    "microgrant.viz.text": ["as_ratio_part", "check_digits", "display_names", "equations",
                            "explain", "expression", "factor", "format_number", "formula",
                            "shorten"],
    "microgrant.viz.trace": ["DEFAULT_MAX_NODES", "SHARED", "Trace", "check_root", "is_step_of"],
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
