"""micrograd's demo, run against microgrant with its import lines changed and nothing else.

The code below the imports is the moons demo as micrograd's README and demo notebook write it:
an MLP(2, [16, 16, 1]), ``parameters()``, the SVM ("max-margin") loss built with ``model(x)`` and
``(1 + -yi*scorei).relu()``, the mean as ``sum(losses) * (1.0 / len(losses))``, an L2 penalty
``p*p``, ``zero_grad()``, ``backward()`` and ``p.data -= learning_rate * p.grad``, then
``draw_dot`` on a neuron.  The data comes from `microgrant.data.moons` instead of scikit-learn.
"""

import random

import numpy as np

# The demo's imports, changed: micrograd.engine.Value, micrograd.nn's classes, the trace_graph
# notebook's draw_dot and scikit-learn's make_moons become microgrant's.
import pytest

from microgrant import Value
from microgrant.data import moons
from microgrant.nn import MLP, Layer, Neuron
from microgrant.viz import draw_dot


def make_moons(n_samples, noise):
    return moons(n=n_samples, noise=noise, seed=1337)


def test_the_moons_demo_trains_as_in_micrograd(capsys):
    np.random.seed(1337)
    random.seed(1337)

    # make up a dataset
    X, y = make_moons(n_samples=100, noise=0.1)
    y = y*2 - 1  # make y be -1 or 1

    # initialize a model
    model = MLP(2, [16, 16, 1])  # 2-layer neural network
    print(model)
    print("number of parameters", len(model.parameters()))

    # loss function
    def loss(batch_size=None):

        # inline DataLoader :)
        if batch_size is None:
            Xb, yb = X, y
        else:
            ri = np.random.permutation(X.shape[0])[:batch_size]
            Xb, yb = X[ri], y[ri]
        inputs = [list(map(Value, xrow)) for xrow in Xb]

        # forward the model to get scores
        scores = list(map(model, inputs))

        # svm "max-margin" loss
        losses = [(1 + -yi*scorei).relu() for yi, scorei in zip(yb, scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        # L2 regularization
        alpha = 1e-4
        reg_loss = alpha * sum((p*p for p in model.parameters()))
        total_loss = data_loss + reg_loss

        # also get accuracy
        accuracy = [(yi > 0) == (scorei.data > 0) for yi, scorei in zip(yb, scores)]
        return total_loss, sum(accuracy) / len(accuracy)

    total_loss, acc = loss()
    print(total_loss, acc)
    first_loss = total_loss.data

    # optimization
    for k in range(40):

        # forward
        total_loss, acc = loss()

        # backward
        model.zero_grad()
        total_loss.backward()

        # update (sgd)
        learning_rate = 1.0 - 0.9*k/100
        for p in model.parameters():
            p.data -= learning_rate * p.grad

        if k % 1 == 0:
            print(f"step {k} loss {total_loss.data}, accuracy {acc*100}%")

    final_loss, final_acc = loss()
    assert final_acc > 0.9
    assert final_loss.data < first_loss
    out = capsys.readouterr().out
    assert out.startswith("MLP(2 -> [16 relu, 16 relu, 1 linear], 337 parameters)\n"
                          "number of parameters 337\n")
    assert out.count("\nstep ") == 40

    # visualize decision boundary (the grid of scores, without matplotlib)
    h = 0.25
    x_min, x_max = X[:, 0].min() - 1, X[:, 0].max() + 1
    y_min, y_max = X[:, 1].min() - 1, X[:, 1].max() + 1
    xx, yy = np.meshgrid(np.arange(x_min, x_max, h), np.arange(y_min, y_max, h))
    Xmesh = np.c_[xx.ravel(), yy.ravel()]
    inputs = [list(map(Value, xrow)) for xrow in Xmesh]
    scores = list(map(model, inputs))
    Z = np.array([s.data > 0 for s in scores])
    Z = Z.reshape(xx.shape)
    assert Z.shape == xx.shape and Z.any() and not Z.all()  # both classes appear


def test_minibatches_and_the_other_classes_work_as_in_micrograd():
    np.random.seed(1337)
    X, y = make_moons(n_samples=20, noise=0.1)
    model = MLP(2, [4, 1])
    ri = np.random.permutation(X.shape[0])[:8]
    scores = list(map(model, [list(map(Value, xrow)) for xrow in X[ri]]))
    assert len(scores) == 8 and all(isinstance(s, Value) for s in scores)
    layer = Layer(2, 3)
    assert len(layer.parameters()) == 9 and len(layer([1.0, 2.0])) == 3
    assert len(Neuron(3).parameters()) == 4


def test_draw_dot_of_a_neuron_as_in_the_trace_graph_notebook():
    n = Neuron(2)
    x = [Value(1.0), Value(-2.0)]
    y = n(x)
    dot = draw_dot(y)
    assert dot.source.startswith("digraph")
    assert dot.source.count("->") >= 6  # two products, their sum with the bias, the relu
    assert "image/svg+xml" in dot._repr_mimebundle_()


# ---- the demo's own numbers: random.seed(1337) gives micrograd's weights ---------------------

def demo_losses(value_class, mlp_class, steps: int = 8) -> tuple[list[float], list[float]]:
    """The demo's full-batch loop with the given engine: each step's loss, and the weights."""
    X, y = make_moons(n_samples=30, noise=0.1)
    y = y * 2 - 1
    random.seed(1337)
    model = mlp_class(2, [16, 16, 1])
    losses = []
    for k in range(steps):
        inputs = [list(map(value_class, xrow)) for xrow in X.tolist()]
        scores = list(map(model, inputs))
        data_loss = sum((1 + -yi * si).relu() for yi, si in zip(y.tolist(), scores)) * \
            (1.0 / len(scores))
        total_loss = data_loss + 1e-4 * sum(p * p for p in model.parameters())
        model.zero_grad()
        total_loss.backward()
        for p in model.parameters():
            p.data -= (1.0 - 0.9 * k / 100) * p.grad
        losses.append(total_loss.data)
    return losses, [p.data for p in model.parameters()]


def test_random_seed_gives_micrograds_own_weights_and_numbers():
    micrograd_engine = pytest.importorskip("micrograd.engine")
    micrograd_nn = pytest.importorskip("micrograd.nn")
    random.seed(1337)
    theirs_start = [p.data for p in micrograd_nn.MLP(2, [16, 16, 1]).parameters()]
    random.seed(1337)
    assert [p.data for p in MLP(2, [16, 16, 1]).parameters()] == theirs_start
    ours, our_weights = demo_losses(Value, MLP)
    theirs, their_weights = demo_losses(micrograd_engine.Value, micrograd_nn.MLP)
    assert ours[0] == theirs[0]  # the same weights, the same first loss
    assert np.allclose(ours, theirs, rtol=1e-12, atol=0)
    assert np.allclose(our_weights, their_weights, rtol=1e-12, atol=1e-15)


def test_random_seed_gives_micrograds_draws_without_micrograd():
    """micrograd's Neuron draws random.uniform(-1, 1) per weight, then a bias of 0, neuron by
    neuron and layer by layer; the same draws, made here with `random` itself."""
    random.seed(1337)
    model = MLP(2, [16, 16, 1])
    random.seed(1337)
    expected = []
    for nin, nout in [(2, 16), (16, 16), (16, 1)]:
        for _ in range(nout):
            expected += [random.uniform(-1, 1) for _ in range(nin)] + [0.0]
    assert [p.data for p in model.parameters()] == expected
    random.seed(1337)
    assert MLP(2, [16, 16, 1]).state_dict() == model.state_dict()

