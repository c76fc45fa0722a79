"""Losses and softmax: values and gradients against float64 PyTorch, stability, and errors."""

import math
import warnings

import numpy as np
import pytest

from microgrant import Value, gradcheck, losses, nn
from microgrant.engine import no_grad, topological_order
from microgrant.losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    cross_entropy_probs,
    hinge_loss,
    log_softmax,
    mse_loss,
    softmax,
)
from microgrant.nn import MLP
from microgrant.train import fit

LOGITS = [-1000.0, -40.0, -3.5, -1e-3, 0.0, 1e-8, 0.7, 2.0, 40.0, 1000.0]
PROBS = [1e-10, 1e-4, 0.3, 0.5, 0.9, 1.0 - 1e-9]


def close(a, b, rel=1e-12, abs_=1e-15):
    return abs(a - b) <= rel * abs(b) + abs_


def values(xs):
    return [Value(x) for x in xs]


def test_losses_are_importable_from_nn():
    assert nn.softmax is softmax and nn.cross_entropy is cross_entropy
    assert nn.hinge_loss is hinge_loss and nn.mse_loss is mse_loss
    assert nn.binary_cross_entropy_with_logits is binary_cross_entropy_with_logits


# ---- softmax ------------------------------------------------------------------------------

def test_softmax_matches_the_definition():
    zs = [1.0, 2.0, -0.5]
    out = softmax(values(zs))
    total = sum(math.exp(z) for z in zs)
    for o, z in zip(out, zs):
        assert close(o.data, math.exp(z) / total)
    assert close(sum(o.data for o in out), 1.0)


def test_softmax_gradient_is_its_jacobian():
    # d softmax_i / d z_j = s_i (delta_ij - s_j); with upstream weights c the gradient of
    # sum_i c_i s_i with respect to z_j is s_j (c_j - sum_i c_i s_i).
    zs, c = values([0.3, -1.2, 2.0]), [1.0, -2.0, 0.5]
    s = softmax(zs)
    Value.sum([ci * si for ci, si in zip(c, s)]).backward()
    mean_c = sum(ci * si.data for ci, si in zip(c, s))
    for z, si, cj in zip(zs, s, c):
        assert close(z.grad, si.data * (cj - mean_c))


@pytest.mark.parametrize("fn", [softmax, log_softmax])
def test_softmax_and_log_softmax_pass_gradcheck(fn):
    weights = [0.7, -1.3, 2.1, 0.4]
    result = gradcheck(lambda *z: Value.sum([w * o for w, o in zip(weights, fn(z))]),
                       [0.2, -0.9, 1.5, 0.0])
    assert result, str(result)


def test_softmax_is_stable_at_1000():
    out = softmax(values([1000.0, -1000.0, 999.0]))
    assert all(math.isfinite(o.data) for o in out)
    assert close(out[0].data, 1.0 / (1.0 + math.exp(-1.0)))
    assert out[1].data == 0.0
    logs = log_softmax(values([1000.0, -1000.0]))
    assert [v.data for v in logs] == [0.0, -2000.0]


def test_softmax_accepts_numbers_and_numpy_as_constants():
    out = softmax(np.array([0.0, 0.0]))
    assert [o.data for o in out] == [0.5, 0.5]
    assert all(o.grad is None for o in out)


def test_softmax_rejects_empty_and_non_numbers():
    with pytest.raises(ValueError, match="at least one"):
        softmax([])
    with pytest.raises(TypeError, match="str"):
        log_softmax([Value(1.0), "2"])


# ---- the logistic losses -----------------------------------------------------------------------

def test_bce_with_logits_has_gradient_sigmoid_minus_y_even_at_zero():
    # relu(z) and |z| both have kinks at 0 (derivative taken as 0 there); the loss must not
    # inherit them: its true gradient at z = 0 is sigmoid(0) - y = 0.5 - y.
    for y in (0.0, 1.0, 0.25):
        z = Value(0.0)
        binary_cross_entropy_with_logits(z, y).backward()
        assert z.grad == 0.5 - y


@pytest.mark.parametrize("z", LOGITS)
@pytest.mark.parametrize("y", [0.0, 1.0, 0.3])
def test_bce_with_logits_is_exact_and_stable(z, y):
    v = Value(z)
    loss = binary_cross_entropy_with_logits(v, y)
    loss.backward()
    # Reference: the two halves of the formula with math.log1p (exact to the last bit).
    expected = (max(z, 0.0) - z * y + math.log1p(math.exp(-abs(z))))
    sigmoid = 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))
    assert close(loss.data, expected, abs_=0.0)
    assert close(v.grad, sigmoid - y, abs_=1e-16)


@pytest.mark.parametrize("p", PROBS)
@pytest.mark.parametrize("y", [0.0, 1.0, 0.3])
def test_bce_from_probabilities_is_exact(p, y):
    v = Value(p)
    loss = binary_cross_entropy(v, y)
    loss.backward()
    expected = -(y * math.log(p) + (1 - y) * math.log1p(-p))
    assert close(loss.data, expected, abs_=0.0)
    assert close(v.grad, (p - y) / (p * (1 - p)), rel=1e-9)


def test_bce_clamps_the_log_at_minus_100():
    for p, y in [(0.0, 1.0), (1.0, 0.0)]:
        v = Value(p)
        loss = binary_cross_entropy(v, y)
        assert loss.data == 100.0
        loss.backward()
        assert v.grad == 0.0  # past the clamp the log is a constant
    assert binary_cross_entropy(Value(0.0), 0.0).data == 0.0
    assert binary_cross_entropy(Value(0.0), 0.5).data == 50.0


def test_logistic_losses_pass_gradcheck():
    assert gradcheck(lambda z: binary_cross_entropy_with_logits(z, 0.3), [0.8])
    assert gradcheck(lambda z: binary_cross_entropy_with_logits(z, 1.0), [-2.5])
    assert gradcheck(lambda p: binary_cross_entropy(p, 0.3), [0.6])
    assert gradcheck(lambda p: binary_cross_entropy(p, 0.0), [1e-4], rtol=1e-6)


def test_bce_rejects_values_that_are_not_probabilities():
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\].*1\.5.*with_logits"):
        binary_cross_entropy([Value(0.5), Value(1.5)], [0, 1])
    with pytest.raises(ValueError, match="targets in"):
        binary_cross_entropy(Value(0.5), 2)
    with pytest.raises(ValueError, match="targets in"):
        binary_cross_entropy_with_logits(Value(0.5), -1)


# ---- cross-entropy -----------------------------------------------------------------------------

def test_cross_entropy_gradient_is_softmax_minus_one_hot():
    zs = values([1.5, -0.3, 0.2, 3.0])
    loss = cross_entropy(zs, 2)
    loss.backward()
    s = [o.data for o in softmax([z.data for z in zs])]
    assert close(loss.data, -math.log(s[2]))
    for i, z in enumerate(zs):
        assert close(z.grad, s[i] - (1.0 if i == 2 else 0.0))


def test_cross_entropy_is_minus_log_softmax_at_the_target(monkeypatch):
    # One formula in one place: cross_entropy is built from log_softmax, not a copy of it.
    calls = []

    def recording_log_softmax(values_):
        calls.append(len(values_))
        return log_softmax(values_)

    monkeypatch.setattr(losses, "log_softmax", recording_log_softmax)
    zs = values([1.5, -0.3, 0.2, 3.0])
    loss = losses.cross_entropy(zs, 2)
    loss.backward()
    assert calls == [4]
    ref = values([1.5, -0.3, 0.2, 3.0])
    expected = -log_softmax(ref)[2]
    expected.backward()
    assert loss.data == expected.data
    assert [z.grad for z in zs] == [r.grad for r in ref]
    perfect = cross_entropy(values([1000.0, -1000.0]), 0).data
    assert perfect == 0.0 and math.copysign(1.0, perfect) == 1.0  # 0.0, never -0.0


def test_cross_entropy_is_stable_at_1000():
    zs = values([1000.0, -1000.0, 0.0])
    loss = cross_entropy(zs, 1)
    loss.backward()
    assert loss.data == 2000.0
    assert [z.grad for z in zs] == [1.0, -1.0, 0.0]
    assert cross_entropy(values([1000.0, -1000.0]), 0).data == 0.0


def test_cross_entropy_batches_and_numpy_targets():
    batch = [values([1.0, 2.0]), values([0.5, -0.5])]
    single = [cross_entropy(z, t).data for z, t in zip(batch, [1, 0])]
    assert close(cross_entropy(batch, np.array([1, 0])).data, sum(single) / 2)
    assert close(cross_entropy(batch, [1, 0], reduction="sum").data, sum(single))
    assert [v.data for v in cross_entropy(batch, [1, 0], reduction="none")] == single


def test_cross_entropy_rejects_bad_targets():
    with pytest.raises(ValueError, match="class index 3.*3 classes.*0 to 2"):
        cross_entropy(values([1.0, 2.0, 3.0]), 3)
    with pytest.raises(TypeError, match="class index"):
        cross_entropy(values([1.0, 2.0]), 1.0)
    with pytest.raises(ValueError, match="2 samples but target has 1 class ind"):
        cross_entropy([values([1.0, 2.0])] * 2, [0])
    with pytest.raises(ValueError, match="list of class scores"):
        cross_entropy(Value(1.0), 0)
    with pytest.raises(ValueError, match="batch of 2 samples.*list of 2 class indices"):
        cross_entropy([values([1.0, 2.0])] * 2, 0)


def test_cross_entropy_refuses_probabilities_that_softmax_already_made():
    """Note 003 computes softmax first; cross_entropy would apply it again (0.802, not 0.417)."""
    z = values([2.0, 1.0, 0.1])
    assert round(cross_entropy(z, 0).data, 3) == 0.417
    with pytest.raises(ValueError, match=r"already the output of a softmax.*Pass the scores "
                                         r"before softmax: cross_entropy\(z, target\)"):
        cross_entropy(softmax(z), 0)
    with pytest.raises(ValueError, match=r"input at index 1 is already the output of a softmax"):
        cross_entropy([z, softmax(z)], [0, 0])
    model = MLP(2, [3, 3], output="softmax", seed=0)
    with pytest.raises(ValueError, match="output='linear'"):
        cross_entropy(model([1.0, 2.0]), 1)
    with pytest.raises(ValueError, match="already the output of a softmax"):
        fit(model, [[1.0, 2.0], [0.0, 1.0]], [0, 2], loss="cross_entropy", epochs=1,
            verbose=False)
    # Probabilities from anything but softmax are scores like any other numbers.
    p = softmax(z)
    assert cross_entropy([p[0] * 1.0, p[1], p[2]], 0).data > 0.0
    assert round(-p[0].log().data, 3) == 0.417  # the loss from probabilities, as the message says


def test_cross_entropy_says_a_one_hot_target_is_the_target_at_fault():
    # Issue 13: the message used to blame the scores ("a single score Value at index 0").
    with pytest.raises(ValueError) as info:
        cross_entropy(values([2.0, 1.0, 0.1]), [1, 0, 0])
    message = str(info.value)
    assert "target must be its class index" in message
    assert "one-hot, pass the index of its 1 instead: 0" in message
    assert "single score" not in message
    with pytest.raises(ValueError, match=r"target at index 1 must be a class index.*: 2"):
        cross_entropy([values([1.0, 2.0, 3.0])] * 2, [1, [0, 0, 1]])


# ---- mse and hinge -------------------------------------------------------------------------------

def test_mse_values_and_gradients():
    p = values([1.0, 3.0, -2.0])
    loss = mse_loss(p, [0.0, 1.0, -2.0])
    loss.backward()
    assert loss.data == (1.0 + 4.0 + 0.0) / 3
    assert [v.grad for v in p] == [2 * 1.0 / 3, 2 * 2.0 / 3, 0.0]
    assert mse_loss(Value(1000.0), -1000.0).data == 4e6


def test_hinge_loss_is_micrograds_moons_loss():
    scores, labels = values([2.0, 0.5, -0.25, -3.0]), [1, 1, 1, -1]
    loss = hinge_loss(scores, labels)
    loss.backward()
    # micrograd: mean of relu(1 - y s) = (0 + 0.5 + 1.25 + 0) / 4
    assert loss.data == 1.75 / 4
    assert [s.grad for s in scores] == [0.0, -0.25, -0.25, 0.0]


def test_hinge_loss_needs_plus_minus_one_labels():
    with pytest.raises(ValueError, match=r"-1 or \+1; got 0.0 at index 1.*pm1"):
        hinge_loss(values([1.0, 2.0]), [1, 0])


# ---- shared behaviour ----------------------------------------------------------------------------

# Each loss of one prediction per sample, on three samples with targets of its kind.
EACH_LOSS = [
    (mse_loss, [0.5, -1.0, 2.0], [0.0, 1.0, 1.0]),
    (binary_cross_entropy, [0.2, 0.7, 0.9], [0, 1, 1]),
    (binary_cross_entropy_with_logits, [0.2, -3.0, 5.0], [1, 0, 1]),
    (hinge_loss, [0.2, -3.0, 5.0], [1, -1, -1]),
]


@pytest.mark.parametrize("loss, pred, target", EACH_LOSS)
def test_reductions(loss, pred, target):
    each = [loss(Value(p), t).data for p, t in zip(pred, target)]
    none = loss(values(pred), target, reduction="none")
    assert isinstance(none, list) and [v.data for v in none] == each
    assert close(loss(values(pred), target, reduction="sum").data, sum(each))
    assert close(loss(values(pred), target).data, sum(each) / 3)
    assert close(loss(np.array(pred), np.array(target)).data, sum(each) / 3)
    with pytest.raises(ValueError, match="unknown reduction 'average'; valid ones are 'mean', "
                                         "'sum', 'none'"):
        loss(values(pred), target, reduction="average")
    with pytest.raises(ValueError, match="input has 3 values but target has 2"):
        loss(values(pred), target[:2])
    with pytest.raises(ValueError, match="input is empty"):
        loss([], [])
    with pytest.raises(ValueError, match="so target must be a list of as many"):
        loss(values(pred), target[0])


@pytest.mark.parametrize("loss, pred, target", EACH_LOSS)
def test_targets_given_as_values_get_no_gradient(loss, pred, target):
    preds, targets = values(pred), values(target)
    result = loss(preds, targets)
    assert result.data == loss(values(pred), target).data  # a Value target counts by its data
    result.backward()
    assert [t.grad for t in targets] == [0.0, 0.0, 0.0]
    assert any(p.grad != 0.0 for p in preds)


ALL_LOSSES = [
    (mse_loss, "mse", [0.5, -1.0], [0.0, 1.0]),
    (binary_cross_entropy, "bce", [0.2, 0.7], [0, 1]),
    (binary_cross_entropy_with_logits, "bce_logits", [0.2, -3.0], [1, 0]),
    (hinge_loss, "hinge", [0.2, -3.0], [1, -1]),
]


@pytest.mark.parametrize("loss, name, pred, target", ALL_LOSSES)
def test_losses_take_pytorchs_argument_names(loss, name, pred, target):
    by_name = loss(input=values(pred), target=target, reduction="sum")
    assert by_name.data == loss(values(pred), target, "sum").data


def test_cross_entropy_takes_pytorchs_argument_names():
    z = values([1.0, 2.0])
    assert cross_entropy(input=z, target=1, reduction="none").data == cross_entropy(z, 1).data


@pytest.mark.parametrize("loss, name, pred, target", ALL_LOSSES)
def test_losses_label_their_output_and_each_term(loss, name, pred, target):
    mean = loss(values(pred), target)
    assert mean.label == name
    assert [t.label for t in loss(values(pred), target, reduction="none")] == \
        [f"{name}[1]", f"{name}[2]"]
    assert loss(Value(pred[0]), target[0]).label == name
    # The terms of a reduced loss are labelled too: the sum's inputs are name[1], name[2].
    summed = loss(values(pred), target, reduction="sum")
    assert [t.label for t in summed.inputs] == [f"{name}[1]", f"{name}[2]"]


def test_cross_entropy_labels_and_a_user_label_is_kept():
    loss = cross_entropy([values([1.0, 2.0])] * 2, [0, 1])
    assert loss.label == "cross_entropy"
    assert [t.label for t in cross_entropy([values([1.0, 2.0])] * 2, [0, 1], "none")] == \
        ["cross_entropy[1]", "cross_entropy[2]"]
    mine = mse_loss(Value(2.0), 1.0)
    mine.label = "my loss"
    assert mse_loss([mine * 1.0], [0.0]).label == "mse"  # a new node: the loss's own name
    assert mine.label == "my loss"


@pytest.mark.parametrize("loss", [binary_cross_entropy, binary_cross_entropy_with_logits])
def test_swapped_arguments_are_refused(loss):
    # Issue 13: binary_cross_entropy([1, 1, 0, 0], P) used to return 60.0.
    P = values([0.1, 0.6, 0.2, 0.7])
    with pytest.raises(ValueError, match="look swapped.*outputs come first"):
        loss([1, 1, 0, 0], P)
    with pytest.raises(ValueError, match="look swapped"):
        loss([1, 1, 0, 0], [0.1, 0.6, 0.2, 0.7])  # plain numbers: labels where p belongs
    assert loss(P, [1, 1, 0, 0]).data > 0  # the right order works


def test_swapped_arguments_are_refused_by_hinge_and_mse():
    with pytest.raises(ValueError, match="look swapped"):
        hinge_loss([1, -1], values([0.3, -2.0]))
    with pytest.raises(ValueError, match="look swapped"):
        hinge_loss([1, -1], [0.3, -2.0])
    with pytest.raises(ValueError, match="look swapped"):
        mse_loss([1.0, 2.0], values([0.3, -2.0]))
    # Plain numbers as input are fine when nothing suggests a swap.
    assert mse_loss([1.0, 2.0], [0.0, 0.0]).data == 2.5
    assert binary_cross_entropy([0.5], [1]).data == pytest.approx(math.log(2))


def test_nan_input_gives_nan_not_a_silent_number():
    # Issue 11: relu(nan) used to be 0, so hinge_loss(Value(nan), 1) was 0.
    assert math.isnan(hinge_loss(Value(math.nan), 1).data)
    assert math.isnan(mse_loss(Value(math.nan), 1.0).data)
    assert math.isnan(binary_cross_entropy_with_logits(Value(math.nan), 1).data)
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\]; got nan"):
        binary_cross_entropy(Value(math.nan), 1)


@pytest.mark.parametrize("loss, name, pred, target", ALL_LOSSES)
@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_non_finite_targets_are_refused(loss, name, pred, target, bad):
    with pytest.raises(ValueError, match="target at index 1 must be a finite number"):
        loss(values(pred), [target[0], bad])


def _shape(root):
    return [(n.op, len(n.inputs)) for n in topological_order(root)]


@pytest.mark.parametrize("loss, points", [
    (binary_cross_entropy_with_logits, [-1000.0, -2.0, 0.0, 1e-9, 3.0, 1000.0]),
    (binary_cross_entropy, [0.0, 1e-60, 0.3, 1.0 - 1e-12, 1.0]),
    (hinge_loss, [-5.0, 0.0, 0.5, 1.0, 7.0]),
    (mse_loss, [-3.0, 0.0, 2.0]),
])
def test_a_loss_graph_has_the_same_shape_whatever_the_numbers(loss, points):
    # No branch on .data (issue 12): one traced graph must serve every input.  The logistic
    # losses used to pick a formula by the logit's sign and the clamps by the probability.
    target = 1 if loss is hinge_loss else 1.0
    shapes = {tuple(_shape(loss(Value(p), target))) for p in points}
    assert len(shapes) == 1


def test_a_constant_target_value_stays_in_the_graph():
    # A placeholder target (a constant Value) is an input node, so a replay can change it.
    y = Value(1.0, requires_grad=False)
    loss = binary_cross_entropy_with_logits(Value(0.3), y)
    assert any(y in n.inputs for n in topological_order(loss))
    assert y.grad is None


@pytest.mark.parametrize("loss, pred, target", EACH_LOSS)
def test_a_computed_target_stays_in_the_graph_and_takes_no_gradient(loss, pred, target):
    # A target computed from a Value that takes a gradient (2 * t - 1, as a compiled step's
    # labels are) is a node of the graph behind a stop_gradient, so a replay recomputes it;
    # its numbers are those of the plain target, to the bit, and no gradient reaches it.
    raw = [Value((y + 1) / 2, label=f"t{k}") for k, y in enumerate(target)]
    computed = [2 * t - 1 for t in raw]
    preds, plain_preds = values(pred), values(pred)
    result, plain = loss(preds, computed), loss(plain_preds, [float(y) for y in target])
    result.backward()
    plain.backward()
    assert float.hex(result.data) == float.hex(plain.data)
    assert [float.hex(p.grad) for p in preds] == [float.hex(p.grad) for p in plain_preds]
    assert [t.grad for t in raw] == [0.0, 0.0, 0.0]
    stops = [n for n in topological_order(result) if n.op == "stop_gradient"]
    assert len(stops) == 3 and {id(n.inputs[0]) for n in stops} == {id(c) for c in computed}


@pytest.mark.parametrize("loss, scores", [(cross_entropy, [[1.0, 2.0, -0.5], [0.3, 0.2, 0.1]]),
                                          (cross_entropy_probs, [[0.2, 0.5, 0.3],
                                                                 [0.6, 0.1, 0.3]])])
def test_a_class_label_given_as_a_value_picks_the_score_in_the_graph(loss, scores):
    labels = [Value(2.0, label="y1", requires_grad=False), Value(0.0, label="y2")]
    zs, plain_zs = [values(row) for row in scores], [values(row) for row in scores]
    result, plain = loss(zs, labels), loss(plain_zs, [2, 0])
    result.backward()
    plain.backward()
    assert float.hex(result.data) == float.hex(plain.data)
    assert [float.hex(z.grad) for row in zs for z in row] == [
        float.hex(z.grad) for row in plain_zs for z in row]
    picks = [n for n in topological_order(result) if n.op == "pick"]
    # Each label is a pick's index: the Value itself, not its number.
    assert len(picks) == 2 and {id(n.inputs[-1]) for n in picks} == {id(y) for y in labels}
    assert labels[1].grad == 0.0


@pytest.mark.parametrize("label, error, message", [
    (1.5, TypeError, "cross_entropy's target at index 1 (a class index) must be a whole "
                     "number; got 1.5"),
    (3.0, ValueError, "cross_entropy: class index 3 at index 1 is out of range for 3 classes "
                      "(valid: 0 to 2)"),
    (-1.0, ValueError, "cross_entropy's target at index 1 (a class index) must be a whole "
                       "number >= 0; got -1"),
])
def test_a_bad_class_label_given_as_a_value_is_refused_as_before(label, error, message):
    with pytest.raises(error) as info:
        cross_entropy([values([1.0, 2.0, 3.0])] * 2, [Value(0.0), Value(label)])
    assert str(info.value) == message


def test_log1p_is_accurate_for_tiny_u():
    # log(1 + exp(-|z|)) for large |z|: the rounding of 1 + u is put back, as math.log1p.
    for z in (-20.0, -8.0, 7.5, 13.0):
        loss = binary_cross_entropy_with_logits(Value(z), 1.0 if z > 0 else 0.0)
        assert close(loss.data, math.log1p(math.exp(-abs(z))), abs_=0.0)


# ---- PyTorch parity ------------------------------------------------------------------------

def _torch():
    torch = pytest.importorskip("torch")
    return torch, torch.nn.functional


def _both(torch, xs):
    ours = values(xs)
    theirs = torch.tensor(xs, dtype=torch.float64, requires_grad=True)
    return ours, theirs


def _assert_same(ours_loss, ours_inputs, torch_loss, torch_inputs, rel=1e-12):
    ours_loss.backward()
    torch_loss.backward()
    assert close(ours_loss.data, torch_loss.item(), rel=rel)
    for v, g in zip(ours_inputs, torch_inputs.grad.tolist()):
        assert close(v.grad, g, rel=rel), (v.grad, g)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_torch_bce_with_logits(reduction):
    torch, F = _torch()
    targets = [0.0, 1.0, 0.3, 1.0, 0.0, 0.7, 1.0, 0.0, 1.0, 0.0]
    ours, theirs = _both(torch, LOGITS)
    _assert_same(binary_cross_entropy_with_logits(ours, targets, reduction=reduction), ours,
                 F.binary_cross_entropy_with_logits(theirs, torch.tensor(
                     targets, dtype=torch.float64), reduction=reduction), theirs)


def test_torch_bce_with_logits_elementwise():
    torch, F = _torch()
    for y in (0.0, 1.0, 0.3):
        ours, theirs = _both(torch, LOGITS)
        each = binary_cross_entropy_with_logits(ours, [y] * len(LOGITS), reduction="none")
        ref = F.binary_cross_entropy_with_logits(
            theirs, torch.full((len(LOGITS),), y, dtype=torch.float64), reduction="none")
        for v, r in zip(each, ref.tolist()):
            # PyTorch rounds log(1 + 4e-18) to 0 at z = -40, y = 0; we keep the 4e-18.
            assert close(v.data, r, abs_=1e-15)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_torch_bce(reduction):
    torch, F = _torch()
    targets = [0.0, 1.0, 0.3, 1.0, 0.0, 0.7]
    ours, theirs = _both(torch, PROBS)
    _assert_same(binary_cross_entropy(ours, targets, reduction=reduction), ours,
                 F.binary_cross_entropy(theirs, torch.tensor(targets, dtype=torch.float64),
                                        reduction=reduction), theirs, rel=1e-11)


def test_torch_bce_clamped_values():
    torch, F = _torch()
    p = [0.0, 1.0, 0.0, 1.0, 1e-50]
    y = [1.0, 0.0, 0.0, 1.0, 0.5]
    ref = F.binary_cross_entropy(torch.tensor(p, dtype=torch.float64),
                                 torch.tensor(y, dtype=torch.float64), reduction="none")
    ours = binary_cross_entropy(values(p), y, reduction="none")
    assert [v.data for v in ours] == pytest.approx(ref.tolist(), rel=1e-12, abs=0)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_torch_cross_entropy(reduction):
    torch, F = _torch()
    rows = [[1.5, -0.3, 0.2], [1000.0, -1000.0, 0.0], [-1000.0, 999.0, 1000.0], [0.0, 0.0, 0.0]]
    targets = [2, 1, 1, 0]
    ours = [values(r) for r in rows]
    theirs = torch.tensor(rows, dtype=torch.float64, requires_grad=True)
    loss = cross_entropy(ours, targets, reduction=reduction)
    ref = F.cross_entropy(theirs, torch.tensor(targets), reduction=reduction)
    loss.backward()
    ref.backward()
    assert close(loss.data, ref.item())
    for row, grads in zip(ours, theirs.grad.tolist()):
        for v, g in zip(row, grads):
            assert close(v.grad, g), (v.grad, g)


@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
def test_torch_softmax(fn):
    torch, F = _torch()
    for xs in ([0.3, -1.2, 2.0, 0.0], [1000.0, -1000.0, 999.5, 0.0]):
        c = [1.0, -2.0, 0.5, 3.0]
        ours, theirs = _both(torch, xs)
        out = {"softmax": softmax, "log_softmax": log_softmax}[fn](ours)
        ref = getattr(F, fn)(theirs, dim=0)
        for o, r in zip(out, ref.tolist()):
            assert close(o.data, r)
        _assert_same(Value.sum([ci * o for ci, o in zip(c, out)]), ours,
                     (torch.tensor(c, dtype=torch.float64) * ref).sum(), theirs)


def test_torch_mse_and_hinge():
    torch, F = _torch()
    pred, target = [0.5, -1000.0, 2.0, 1000.0], [0.0, 1.0, 1.0, -1.0]
    ours, theirs = _both(torch, pred)
    _assert_same(mse_loss(ours, target), ours,
                 F.mse_loss(theirs, torch.tensor(target, dtype=torch.float64)), theirs)
    ours, theirs = _both(torch, pred)
    _assert_same(hinge_loss(ours, [1, -1, 1, -1]), ours,
                 torch.relu(1 - torch.tensor([1.0, -1, 1, -1], dtype=torch.float64)
                            * theirs).mean(), theirs)


def test_the_notes_cross_entropy_of_four_points():
    # Note 003: points with P = .1, .6 (red) and .2, .7 (blue), each the probability the
    # model gave the point's actual colour: -(ln .1 + ln .6 + ln .2 + ln .7), "which equals
    # 4.8" (4.7795 before rounding).
    loss = binary_cross_entropy(values([0.1, 0.6, 0.2, 0.7]), [1, 1, 1, 1], reduction="sum")
    assert loss.data == pytest.approx(-(math.log(0.1) + math.log(0.6) + math.log(0.2)
                                        + math.log(0.7)), rel=1e-15)
    assert round(loss.data, 1) == 4.8


def test_cross_entropy_probs_is_cross_entropy_on_a_softmax_output():
    scores = [[2.0, 1.0, 0.1], [-3.0, 0.5, 4.0]]
    z1, z2 = [values(row) for row in scores], [values(row) for row in scores]
    a = cross_entropy(z1, [0, 2])
    b = cross_entropy_probs([softmax(z) for z in z2], [0, 2])
    a.backward()
    b.backward()
    assert b.data == pytest.approx(a.data, rel=1e-12)
    for u, v in zip(sum(z1, []), sum(z2, [])):
        assert v.grad == pytest.approx(u.grad, abs=1e-12)
    assert cross_entropy_probs(values([0.0, 1.0]), 0).data == 100.0  # clamped, not inf
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\].*use cross_entropy"):
        cross_entropy_probs(values([2.0, -1.0]), 0)
    with pytest.raises(ValueError, match="class index 2.*2 classes"):
        cross_entropy_probs(values([0.5, 0.5]), 2)
    with pytest.raises(ValueError, match="list of class probabilities"):
        cross_entropy_probs(Value(0.5), 0)


def test_cross_entropy_of_probabilities_inside_no_grad_is_flagged():

    z = values([2.0, 1.0, 0.1])
    with no_grad():
        with pytest.warns(UserWarning, match="looks like probabilities.*cross_entropy_probs"):
            cross_entropy(softmax(z), 0)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert round(cross_entropy(z, 0).data, 4) == 0.417  # scores: no word
