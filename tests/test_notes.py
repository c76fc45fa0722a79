"""The notes' worked graphs: note 004's chain rule, factor by factor, against backward."""

import math

import pytest

from microgrant import gradcheck
from microgrant.data import logic_gate
from microgrant.notes import neuron, note_004_factors, note_004_table, train_xor, two_neurons
from microgrant.train import accuracy

POINTS = [(1.5, 1.0, 0.8, -0.6), (-2.0, 1.0, 0.3, 1.7), (0.5, 0.0, -1.2, 2.5),
          (-1.0, 0.0, 800.0, -0.6), (3.0, 1.0, -50.0, 30.0)]


@pytest.mark.parametrize("x1, y, w1, w2", POINTS)
def test_the_corrected_chain_equals_backward_and_the_printed_one_flips_when_y_is_1(x1, y, w1, w2):
    v = two_neurons(x1, y, w1, w2)
    v["J"].backward()
    f = note_004_factors(x1, y, w1, w2)
    for w in ("w1", "w2"):
        assert math.isfinite(f[f"dJ/d{w}, corrected"])
        assert f[f"dJ/d{w}, corrected"] == pytest.approx(v[w].grad, rel=1e-9, abs=1e-15)
        printed = f[f"dJ/d{w}, as printed"]
        expected = -v[w].grad if y == 1.0 else v[w].grad
        assert printed == pytest.approx(expected, rel=1e-9, abs=1e-15)


def test_the_network_is_labelled_like_the_note():
    v = two_neurons()
    assert [v[k].label for k in ("z1", "a1", "z2", "y_hat", "J")] == ["z1", "a1", "z2", "ŷ", "J"]
    assert v["x1"].grad is None and v["y"].grad is None  # data, not parameters


def test_its_gradients_agree_with_finite_differences():
    x1, y = 1.5, 1.0

    def _rebuilt(w1, w2):
        y_hat = (w2 * (w1 * x1).sigmoid()).sigmoid()
        return -y * y_hat.log() - (1 - y) * (1 - y_hat).log()

    result = gradcheck(_rebuilt, [0.8, -0.6])
    v = two_neurons()
    v["J"].backward()
    assert result.ok
    assert [row.analytic for row in result.rows] == pytest.approx([v["w1"].grad, v["w2"].grad])


def test_micrograds_neuron_has_round_gradients():
    o = neuron()
    o.backward()
    leaves = {}
    stack = [o]
    while stack:
        node = stack.pop()
        for x in node.inputs:
            if not x.inputs:
                leaves[x.label] = x.grad
            stack.append(x)
    assert leaves == pytest.approx({"x1": -1.5, "w1": 1.0, "x2": 0.5, "w2": 0.0, "b": 0.5})


def test_train_xor_is_the_recipe_one_hidden_neuron_cannot_fit():
    one = train_xor(1, epochs=200)
    three = train_xor(3, epochs=200)
    assert one.accuracy <= 0.75 and three.accuracy == 1.0
    assert len(three.history.loss) == 200 and three.history.loss[-1] < three.history.loss[0]
    X, y = logic_gate("xor")
    assert accuracy(three.model, X, y, loss="bce_logits") == three.accuracy


def test_train_xor_is_seeded():
    a, b = train_xor(2, epochs=20, seed=5), train_xor(2, epochs=20, seed=5)
    assert [p.data for p in a.model.parameters()] == [p.data for p in b.model.parameters()]
    assert a.history.loss != train_xor(2, epochs=20, seed=6).history.loss


@pytest.mark.parametrize("y, sign_error", [(1.0, True), (0.0, False)])
def test_note_004_table_puts_the_notes_products_next_to_backwards(y, sign_error):
    v = two_neurons(y=y)
    v["J"].backward()
    table = note_004_table(y=y)
    f = note_004_factors(y=y)
    row = next(line for line in table.splitlines() if line.strip().startswith("dJ/dw2"))
    assert row.split()[1:] == [f"{f['dJ/dw2, as printed']:+.6g}",
                               f"{f['dJ/dw2, corrected']:+.6g}", f"{v['w2'].grad:+.6g}"]
    assert ("has a sign error" in table) == sign_error
