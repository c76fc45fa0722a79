"""The label grammar: written by nn and the losses, read by viz, defined in one place."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import microgrant
from microgrant import Value, labels, nn
from microgrant.losses import mse_loss

PACKAGE = Path(microgrant.__file__).parent


def test_what_is_written_is_read_back():
    for k in (1, 2, 12):
        for j in (1, 3, 10):
            for i in (1, 2, 11):
                name = labels.layer(k) + labels.neuron(j) + labels.weight(i)
                assert name == f"L{k}.n{j}.w{i}"
                assert labels.layer_of(name) == k
                assert labels.group_of(name) == labels.neuron_group(k, j) == f"L{k}.n{j}"
                assert labels.neuron_index(labels.group_of(name)) == j
                assert labels.weight_index(name) == i
                assert labels.part_of(name) == f"w{i}"
    bias = labels.neuron_group(2, 1) + "." + labels.BIAS
    assert labels.is_bias(bias) and labels.weight_index(bias) is None
    assert labels.is_net_value("L2.n1." + labels.SUM) and labels.is_net_value("n1.a")
    assert labels.split_index(labels.indexed("mse", 3)) == ("mse", 3)
    assert labels.split_index(labels.input_name(2, 7)) == ("x2", 7)


@pytest.mark.parametrize("text", ["mse", "mse[0]", "mse[]", "mse[x]", "[3]", "mse[03]"])
def test_what_is_not_in_the_grammar_reads_as_nothing(text):
    assert labels.split_index(text) is None


def test_names_that_only_look_alike_are_not_read_as_the_grammar():
    assert labels.layer_of("CL1.n2") is None and labels.layer_of("L0.n1") is None
    assert labels.weight_index("w1") is None  # a lone neuron's weight has no neuron to name
    assert labels.weight_index("L1.n2.aw1") is None
    assert labels.group_of("w") is None and not labels.is_bias("b")
    assert sorted(["L1.n10", "L1.n9", "L1.n1"], key=labels.natural_key) == \
        ["L1.n1", "L1.n9", "L1.n10"]


def test_nn_and_the_losses_write_what_labels_says():
    model = nn.MLP(2, [3, 1], activation="tanh", seed=0)
    out = [model([1.0, -1.0]), model([0.5, 2.0])]
    loss = mse_loss(out, [0.0, 1.0])
    w = model.layers[0].neurons[2].w[1]
    assert w.label == labels.layer(1) + labels.neuron(3) + labels.weight(2)
    assert model.layers[1].neurons[0].b.label == labels.neuron_group(2, 1) + "." + labels.BIAS
    assert out[0].label == labels.neuron_group(2, 1) + "." + labels.SUM
    # z = w·x + b: its inputs are the weights, then the hidden layer's activations
    assert out[0].inputs[3].label == labels.neuron_group(1, 1) + "." + labels.ACTIVATION
    terms = [v for v in loss.inputs[0].inputs]
    assert [labels.split_index(t.label) for t in terms] == [("mse", 1), ("mse", 2)]
    seq = nn.Sequential(nn.Linear(2, 2, seed=0), nn.Tanh(), nn.Linear(2, 1, seed=0))
    (a,) = seq([1.0, 2.0])
    assert a.label == labels.neuron_group(2, 1) + "." + labels.SUM
    hidden = [v for v in seq.parameters() if labels.layer_of(v.label) == 1]
    assert len(hidden) == 6 and all(labels.group_of(v.label) in ("L1.n1", "L1.n2")
                                    for v in hidden)


# Where the grammar was written and read before it had a home: f-strings and regexes that
# spell its pieces.  Only labels.py may hold them now.
_GRAMMAR = [re.compile(p) for p in (
    r"L\{[^}]*\}\.",            # f"L{k}."
    r"n\{[^}]*\}\.",            # f"n{j}."
    r"\.w\(\[1-9\]",            # a regex for ".w1"
    r"\\\.\)L\(\[1-9\]",         # a regex for "L1."
    r"\\\[\(\[1-9\]",           # a regex for "[3]"
    r"endswith\(\"\.b\"\)",     # the bias, read by hand
    r"\}\[\{k\}\]",             # f"{name}[{k}]"
)]


def _strings_and_code(path: Path) -> str:
    """The module's code and strings, without its docstrings (which may show the grammar)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef)) and node.body and \
                isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value,
                                                                  ast.Constant):
            node.body = node.body[1:] or [ast.Pass()]
    return ast.unparse(tree)


@pytest.mark.parametrize("module", ["nn.py", "losses.py", "viz/trace.py", "viz/structure.py",
                                    "viz/text.py", "viz/dot.py", "viz/collapsed.py",
                                    "viz/layout.py", "viz/network.py", "viz/stepper.py"])
def test_the_grammar_is_written_and_read_only_in_labels(module):
    code = _strings_and_code(PACKAGE / module)
    found = [p.pattern for p in _GRAMMAR if p.search(code)]
    assert not found, f"{module} spells the label grammar itself: {found}"


def test_the_grammar_check_sees_the_grammar_spelled_out():
    code = _strings_and_code(PACKAGE / "labels.py")
    assert any(p.search(code) for p in _GRAMMAR)
    sample = 'x = f"L{k + 1}."\ny = re.compile(r"(?:^|\\.)L([1-9][0-9]*)")\n'
    assert sum(bool(p.search(sample)) for p in _GRAMMAR) == 2


def test_a_value_made_by_hand_keeps_its_label():
    v = Value(1.0, label="L9.n9.w9")
    assert labels.weight_index(v.label) == 9
