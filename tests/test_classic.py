"""Tests for microgrant.classic: the models the notes build before backprop."""

import operator
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from microgrant import classic, data
from microgrant.classic import (
    Adaline,
    McCullochPitts,
    Perceptron,
    ThresholdNetwork,
    heaviside,
    perceptron_trick,
    xor_network,
)
from microgrant.data import admissions, blobs, logic_gate
from microgrant.nn import Neuron

ROWS = [(0, 0), (0, 1), (1, 0), (1, 1)]


def test_heaviside_is_1_at_zero():
    # notes 000 and 004: output 1 when W^T X + b >= 0, so the step fires at exactly 0
    assert heaviside(0.0) == 1
    assert heaviside(1e-12) == 1
    assert heaviside(-1e-12) == 0


# --------------------------------------------------------------------------- McCulloch-Pitts


def test_mcculloch_pitts_and_fires_at_threshold_2():
    AND = McCullochPitts([1, 1], threshold=2)
    assert [AND(x) for x in ROWS] == [int(a and b) for a, b in ROWS]


def test_mcculloch_pitts_or_fires_at_threshold_1():
    OR = McCullochPitts([1, 1], threshold=1)
    assert [OR(x) for x in ROWS] == [int(a or b) for a, b in ROWS]


def test_mcculloch_pitts_fires_when_sum_equals_threshold():
    unit = McCullochPitts([1, 1, 1], threshold=2)
    assert unit.predict([1, 1, 0]) == 1  # sum 2 == threshold: ">=" fires
    assert unit.predict([1, 0, 0]) == 0


def test_mcculloch_pitts_batch_and_numpy_inputs():
    X, y = logic_gate("and")
    AND = McCullochPitts(np.array([1.0, 1.0]), threshold=2)
    assert AND.predict(X) == y.tolist()


@pytest.mark.parametrize("x", [[0.5, 1], [2, 0], [-1, 1]])
def test_mcculloch_pitts_rejects_non_boolean_inputs(x):
    with pytest.raises(ValueError, match="0 or 1"):
        McCullochPitts([1, 1], threshold=1).predict(x)


def test_mcculloch_pitts_checks_input_length():
    with pytest.raises(ValueError, match="2 inputs"):
        McCullochPitts([1, 1], threshold=1).predict([1, 0, 1])


# --------------------------------------------------------------------------- XOR network


def test_xor_network_truth_table():
    net = xor_network()
    assert [net(x) for x in ROWS] == [operator.xor(a, b) for a, b in ROWS]
    X, y = logic_gate("xor")
    assert net.predict(X) == y.tolist()


def test_xor_network_hidden_units_are_as_note_004_defines_them():
    net = xor_network()
    assert [len(layer) for layer in net.layers] == [2, 1]
    for x1, x2 in ROWS:
        (h1, h2), (y,) = net.layer_outputs([x1, x2])
        assert h1 == int(x2 and not x1)
        assert h2 == int(x1 and not x2)
        assert y == int(h1 or h2)


def test_threshold_network_checks_layer_widths():
    with pytest.raises(ValueError, match="layer 1"):
        ThresholdNetwork([[McCullochPitts([1, 1], 1)], [McCullochPitts([1, 1], 1)]])


# --------------------------------------------------------------------------- perceptron trick


@pytest.mark.parametrize("negative", [0, -1])  # note 003 writes class 0, note 000 class -1
def test_perceptron_trick_notes_000_003(negative):
    weights = [3.0, 4.0]
    w, b = perceptron_trick(weights, -10.0, point=(4, 5), label=negative, lr=0.1)
    assert w == pytest.approx([2.6, 3.5])
    assert b == pytest.approx(-10.1)
    assert weights == [3.0, 4.0]  # the caller's list is not modified


def test_perceptron_step_is_the_trick():
    p = Perceptron(2, weights=[3, 4], bias=-10)
    assert p.step([4, 5], 0, lr=0.1) == -1
    assert p.weights == pytest.approx([2.6, 3.5])
    assert p.bias == pytest.approx(-10.1)


def test_perceptron_trick_leaves_correct_points_alone():
    # (4, 5) scores 3*4 + 4*5 - 10 = 22 >= 0: a positive point there is already right
    assert perceptron_trick([3, 4], -10, (4, 5), label=1, lr=0.1) == ([3.0, 4.0], -10.0)


def test_perceptron_trick_adds_for_a_misclassified_positive_point():
    # (1, 1) scores 3 + 4 - 10 = -3 < 0, but it is positive: add 0.1 * (1, 1, 1)
    w, b = perceptron_trick([3, 4], -10, (1, 1), label=1, lr=0.1)
    assert w == pytest.approx([3.1, 4.1])
    assert b == pytest.approx(-9.9)


@pytest.mark.parametrize("label", [2, 0.5, "1"])
def test_perceptron_trick_rejects_bad_labels(label):
    with pytest.raises(ValueError, match="label"):
        perceptron_trick([3, 4], -10, (4, 5), label=label)


finite = st.floats(min_value=-10, max_value=10, allow_nan=False)


@settings(max_examples=100, deadline=None)
@given(
    w=st.lists(finite, min_size=2, max_size=2),
    b=finite,
    x=st.lists(finite, min_size=2, max_size=2),
    label=st.sampled_from([0, 1]),
    lr=st.floats(min_value=0.01, max_value=1.0),
)
def test_perceptron_trick_moves_the_score_toward_the_label(w, b, x, label, lr):
    # Why the trick works: the point's score changes by exactly lr * (x1^2 + x2^2 + 1),
    # upward for a positive point, downward for a negative one.
    before = w[0] * x[0] + w[1] * x[1] + b
    new_w, new_b = perceptron_trick(w, b, x, label, lr)
    after = new_w[0] * x[0] + new_w[1] * x[1] + new_b
    misclassified = (before >= 0) != (label == 1)
    expected_change = lr * (x[0] ** 2 + x[1] ** 2 + 1) if misclassified else 0.0
    direction = 1 if label == 1 else -1
    assert after - before == pytest.approx(direction * expected_change, abs=1e-9)


# --------------------------------------------------------------------------- 004 exercise

EXERCISE_X = [[3, 2, 1], [1, 1, 1], [1, 2, 3]]
EXERCISE_Y = [0, 1, 1]


def test_note_004_exercise_one_pass():
    p = Perceptron(3, weights=[0, 0, 0], bias=0.5)
    p.fit(EXERCISE_X, EXERCISE_Y, lr=0.1, epochs=1)
    assert p.weights == pytest.approx([-0.2, -0.1, 0.0])
    assert p.bias == pytest.approx(0.5)
    assert p.mistakes == [2]
    assert len(p.history) == 1


def test_note_004_exercise_step_by_step_updates_the_bias():
    # Worked by hand with note 004's rule (error = y - g(W.x + b); W += r*error*x; b += r*error):
    p = Perceptron(3, weights=[0, 0, 0], bias=0.5)
    # sample 1: 0 + 0.5 >= 0 predicts 1, label 0, error -1
    assert p.step(EXERCISE_X[0], 0, lr=0.1) == -1
    assert p.weights == pytest.approx([-0.3, -0.2, -0.1])
    assert p.bias == pytest.approx(0.4)  # the bias moves too; it comes back in sample 2
    # sample 2: -0.3 - 0.2 - 0.1 + 0.4 = -0.2 < 0 predicts 0, label 1, error +1
    assert p.step(EXERCISE_X[1], 1, lr=0.1) == 1
    assert p.weights == pytest.approx([-0.2, -0.1, 0.0])
    assert p.bias == pytest.approx(0.5)
    # sample 3: -0.2 - 0.2 + 0 + 0.5 = 0.1 >= 0 predicts 1, label 1: no change
    assert p.step(EXERCISE_X[2], 1, lr=0.1) == 0
    assert p.weights == pytest.approx([-0.2, -0.1, 0.0])
    assert p.bias == pytest.approx(0.5)


def test_note_004_exercise_trained_to_convergence_separates_the_samples():
    p = Perceptron(3, weights=[0, 0, 0], bias=0.5).fit(EXERCISE_X, EXERCISE_Y, lr=0.1)
    assert p.predict(EXERCISE_X) == EXERCISE_Y
    assert p.mistakes[-1] == 0


# --------------------------------------------------------------------------- perceptron


def test_note_000_and_perceptron():
    p = Perceptron(2, weights=[1.0, 1.0], bias=-1.2)
    assert p.predict(list(ROWS)) == [int(a and b) for a, b in ROWS]


def test_note_003_and_perceptron_relies_on_step_of_zero_being_1():
    # note 003: "a weight of 1 for a and b w/ a bias of -2 will create an AND perceptron".
    # At (1, 1) the score is exactly 0, so this works only because the step fires at 0.
    p = Perceptron(2, weights=[1, 1], bias=-2)
    assert p.decision_function([1, 1]) == 0.0
    assert p.predict(list(ROWS)) == [int(a and b) for a, b in ROWS]


def test_note_003_admissions_student():
    p = Perceptron(2, weights=[2, 1], bias=-18)
    assert p.decision_function([7, 6]) == pytest.approx(2.0)
    assert p.predict([7, 6]) == 1


@pytest.mark.parametrize("gate", ["and", "or", "nand"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_perceptron_converges_on_linearly_separable_gates(gate, seed):
    X, y = logic_gate(gate)
    p = Perceptron(2, seed=seed).fit(X, y, lr=0.1, epochs=200)
    assert p.mistakes[-1] == 0
    assert len(p.mistakes) < 200  # stopped early, having converged
    assert p.predict(X) == y.tolist()
    assert p.score(X, y) == 1.0


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_perceptron_converges_on_admissions(seed):
    X, y = admissions(n=100, seed=seed)
    p = Perceptron(2, seed=seed).fit(X, y, lr=0.1, epochs=2000)
    assert p.mistakes[-1] == 0
    assert p.predict(X) == y.tolist()


def test_perceptron_history_records_the_moving_line():
    X, y = admissions(n=100, seed=0)
    p = Perceptron(2, weights=[0.0, 0.0], bias=0.0).fit(X, y, lr=0.1, epochs=2000)
    assert len(p.history) == len(p.mistakes) > 1
    assert p.history[-1] == (p.weights, p.bias)
    assert p.history[0] != p.history[-1]  # the line moved
    for (w_prev, b_prev), (w_next, b_next), wrong in zip(p.history, p.history[1:], p.mistakes[1:]):
        assert ((w_prev, b_prev) != (w_next, b_next)) == (wrong > 0)
    # history holds copies: later training does not rewrite earlier entries
    first = p.history[0]
    p.step([10.0, 10.0], 0, lr=1.0)
    assert p.history[0] is first and p.history[0][0] != p.weights


def test_perceptron_pm1_labels_take_the_same_steps_as_01():
    X01, y01 = admissions(n=60, seed=1)
    _, ypm = admissions(n=60, seed=1, labels="pm1")
    a = Perceptron(2, weights=[0.3, -0.2], bias=0.1).fit(X01, y01, lr=0.1, epochs=50)
    b = Perceptron(2, weights=[0.3, -0.2], bias=0.1, labels="pm1").fit(X01, ypm, lr=0.1, epochs=50)
    assert a.weights == pytest.approx(b.weights)
    assert a.bias == pytest.approx(b.bias)
    assert set(b.predict(X01)) == {-1, 1}
    assert b.predict(X01) == ypm.tolist()


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
@pytest.mark.parametrize("lr", [0.01, 0.1, 1.0])
def test_single_perceptron_cannot_fit_xor(seed, lr):
    # The documents' point (Minsky and Papert): no line separates XOR, so however long the
    # perceptron trains, at least one of the four rows stays misclassified.
    X, y = logic_gate("xor")
    p = Perceptron(2, seed=seed).fit(X, y, lr=lr, epochs=1000)
    assert len(p.mistakes) == 1000  # never had a clean epoch
    assert min(p.mistakes) >= 1
    wrong = sum(int(pred != target) for pred, target in zip(p.predict(X), y.tolist()))
    assert wrong >= 1
    assert p.score(X, y) <= 0.75


def test_perceptron_seeding():
    assert Perceptron(3, seed=1).weights == Perceptron(3, seed=1).weights
    assert Perceptron(3, seed=1).weights != Perceptron(3, seed=2).weights
    rng = np.random.default_rng(5)
    first, second = Perceptron(3, seed=rng).weights, Perceptron(3, seed=rng).weights
    assert first != second  # a shared numpy Generator advances
    assert first == Perceptron(3, seed=np.random.default_rng(5)).weights
    # One way to take a seed, as everywhere in microgrant: random.Random is not one.
    with pytest.raises(TypeError, match="seed must be None, a whole number >= 0 or a numpy "
                                        "Generator"):
        Perceptron(3, seed=random.Random(5))
    assert all(-1.0 <= w < 1.0 for w in first)


@pytest.mark.parametrize("model", [Perceptron, Adaline])
def test_numpy_integer_seeds_work_as_in_nn(model):
    # A seed often comes out of numpy (np.arange, a seeds array): it must act as the int.
    assert model(3, seed=np.int64(3)).weights == model(3, seed=3).weights
    assert Neuron(3, seed=np.int64(3)).state_dict() == Neuron(3, seed=3).state_dict()


def test_label_conventions_are_the_ones_data_makes():
    # One table of label conventions, shared with microgrant.data, so the two cannot drift.
    assert classic.LABELS is data.LABELS
    for labels, classes in data.LABELS.items():
        assert Perceptron(2, labels=labels).classes == classes
    with pytest.raises(ValueError, match="unknown labels 'yes/no'; valid ones are '01', 'pm1'"):
        Perceptron(2, labels="yes/no")


def test_classic_models_leave_the_global_random_state_alone():
    random.seed(99)
    state = random.getstate()
    Perceptron(4, seed=None)
    Perceptron(4, seed=3)
    Adaline(4, seed=None)
    assert random.getstate() == state


def test_perceptron_accepts_numpy_inputs_and_returns_python_numbers():
    X, y = logic_gate("or")
    p = Perceptron(2, weights=np.array([0.5, 0.5]), bias=np.float64(-0.25))
    assert p.predict(X) == y.tolist()
    assert isinstance(p.bias, float) and all(isinstance(w, float) for w in p.weights)
    assert isinstance(p.predict(X[0]), int)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"n_inputs": 0}, ValueError, "n_inputs"),
        ({"n_inputs": 2.0}, TypeError, "n_inputs"),
        ({"n_inputs": 2, "weights": [1.0]}, ValueError, "weights"),
        ({"n_inputs": 2, "labels": "yes/no"}, ValueError, "labels"),
        ({"n_inputs": 2, "seed": 1.5}, TypeError, "seed"),
    ],
)
def test_perceptron_constructor_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        Perceptron(**kwargs)


def test_perceptron_fit_errors():
    X, y = logic_gate("and")
    p = Perceptron(2, seed=0)
    with pytest.raises(ValueError, match="labels"):
        p.fit(X, 2 * y - 1)  # -1/+1 labels given to a 0/1 perceptron
    with pytest.raises(ValueError, match="rows"):
        p.fit(X, y[:3])
    with pytest.raises(ValueError, match="lr"):
        p.fit(X, y, lr=0.0)
    with pytest.raises(ValueError, match="epochs"):
        p.fit(X, y, epochs=0)
    with pytest.raises(ValueError, match="inputs"):
        p.predict([1.0, 2.0, 3.0])


# --------------------------------------------------------------------------- Adaline


def least_squares_fit(X, y):
    """The exact minimiser of Adaline's squared error, from numpy, independent of the code."""
    A = np.column_stack([X, np.ones(len(X))])
    coef = np.linalg.lstsq(A, y.astype(float), rcond=None)[0]
    residual = y - A @ coef
    return coef[:-1], coef[-1], float(residual @ residual) / (2 * len(y))


@pytest.mark.parametrize("gate", ["and", "or", "nand"])
@pytest.mark.parametrize("labels", ["01", "pm1"])
def test_adaline_error_decreases_and_converges_to_least_squares(gate, labels):
    X, y = logic_gate(gate, labels=labels)
    a = Adaline(2, seed=0, labels=labels).fit(X, y, lr=0.01, epochs=2000)
    losses = a.losses
    assert len(losses) == 2000
    # steadily downhill at first ...
    assert all(later < earlier for earlier, later in zip(losses[:300], losses[1:300]))
    # ... and it ends at the bottom of the bowl: numpy's least-squares solution
    w_star, b_star, loss_star = least_squares_fit(X, y)
    assert losses[-1] == pytest.approx(loss_star, abs=1e-4)
    assert losses[0] > loss_star + 0.01
    assert a.weights == pytest.approx(w_star.tolist(), abs=0.05)
    assert a.bias == pytest.approx(b_star, abs=0.05)
    assert a.predict(X) == y.tolist()


def test_adaline_classifies_separable_blobs():
    X, y = blobs(n=100, centers=[[-2, -2], [2, 2]], cluster_std=0.5, seed=0)
    a = Adaline(2, seed=0).fit(X, y, lr=0.01, epochs=50)
    assert a.losses[-1] < a.losses[0] / 2
    assert a.score(X, y) == 1.0
    assert len(a.history) == 50 and a.history[-1] == (a.weights, a.bias)


def test_adaline_loss_matches_its_definition():
    X, y = logic_gate("or")
    a = Adaline(2, weights=[0.2, -0.4], bias=0.1)
    outputs = X @ np.array([0.2, -0.4]) + 0.1
    assert a.loss(X, y) == pytest.approx(np.sum((y - outputs) ** 2) / (2 * len(y)))


def test_adaline_step_is_the_delta_rule():
    a = Adaline(2, weights=[0.5, -0.5], bias=0.25)
    x, target, lr = [2.0, 1.0], 1, 0.1
    error = target - (0.5 * 2.0 - 0.5 * 1.0 + 0.25)  # 1 - 0.75 = 0.25
    assert a.step(x, target, lr) == pytest.approx(error)
    assert a.weights == pytest.approx([0.5 + lr * error * 2.0, -0.5 + lr * error * 1.0])
    assert a.bias == pytest.approx(0.25 + lr * error)


def test_adaline_too_large_a_learning_rate_diverges_with_a_clear_error():
    X, y = admissions(n=50, seed=0)  # features up to 10: lr 0.5 overshoots
    with pytest.raises(FloatingPointError, match="lr"):
        Adaline(2, seed=0).fit(X, y, lr=0.5, epochs=200)


@pytest.mark.parametrize("fitted_before", [False, True])
def test_a_diverging_adaline_fit_loses_nothing(fitted_before):
    X, y = admissions(n=50, seed=0)  # features up to 10: lr 0.5 overshoots
    a = Adaline(2, seed=0)
    if fitted_before:
        a.fit(X, y, lr=0.001, epochs=3)
    before = (list(a.weights), a.bias, list(a.losses), list(a.history))
    with pytest.raises(FloatingPointError, match="diverged"):
        a.fit(X, y, lr=0.5, epochs=200)
    assert (a.weights, a.bias, a.losses, a.history) == before
    assert a.fit(X, y, lr=0.001, epochs=1) is a  # and it can still be trained


def test_adaline_seeding():
    assert Adaline(3, seed=4).weights == Adaline(3, seed=4).weights
    assert Adaline(3, seed=4).weights != Adaline(3, seed=5).weights
