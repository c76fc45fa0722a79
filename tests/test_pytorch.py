"""pytorch: to_torch and from_torch move networks across with equal numbers; check replays any
graph in PyTorch and says where the two agree; without torch, a clear ImportError."""

import math
import subprocess
import sys

import pytest

from microgrant import Value, nn
from microgrant.nn import (
    MLP,
    Activation,
    Dense,
    Layer,
    LeakyReLU,
    Linear,
    Neuron,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
)

torch = pytest.importorskip("torch")
pt = pytest.importorskip("microgrant.pytorch")

SAMPLES = [[0.5, -1.0, 2.0], [-0.3, 0.8, 0.1], [1.2, 0.0, -0.7]]


def linears(model):
    """Each linear map of a microgrant model as (rows of weight Values, bias Values)."""
    if isinstance(model, Sequential):
        return [part for m in model for part in linears(m)]
    if isinstance(model, MLP):
        return [part for layer in model.layers for part in linears(layer)]
    if isinstance(model, Layer):
        return [([n.w for n in model.neurons], [n.b for n in model.neurons])]
    if isinstance(model, Neuron):
        return [([model.w], [model.b])]
    if isinstance(model, Linear):
        return [(model.weight, model.bias)]
    return []


def outputs(out):
    return [out] if isinstance(out, Value) else list(out)


def assert_same_numbers(model, net, samples=SAMPLES):
    """Outputs and every parameter's gradient of a weighted sum of outputs agree to 1e-12."""
    ours = [outputs(model(x)) for x in samples]
    theirs = [net(torch.tensor(x, dtype=torch.float64)) for x in samples]
    for a, b in zip(ours, theirs):
        assert [v.data for v in a] == pytest.approx(b.tolist(), rel=1e-12, abs=1e-12)
    model.zero_grad()
    Value.sum([(k + 1.5) * v for out in ours for k, v in enumerate(out)]).backward()
    sum((k + 1.5) * t for out in theirs for k, t in enumerate(out)).backward()
    torch_linears = [m for m in net.modules() if isinstance(m, torch.nn.Linear)]
    assert len(torch_linears) == len(linears(model))
    for (rows, biases), lin in zip(linears(model), torch_linears):
        assert [w.grad for row in rows for w in row] == pytest.approx(
            lin.weight.grad.flatten().tolist(), rel=1e-12, abs=1e-12)
        if biases is not None:
            assert [b.grad for b in biases] == pytest.approx(lin.bias.grad.tolist(),
                                                              rel=1e-12, abs=1e-12)
        else:
            assert lin.bias is None


def built(model, size=3):
    model([0.0] * size)
    return model


@pytest.mark.parametrize("make", [
    lambda: MLP(3, [5, 4, 1], activation="tanh", output="sigmoid", seed=3),
    lambda: MLP(3, [4, 3], activation="leaky_relu", output="softmax", seed=1),
    lambda: MLP(3, [4, 2], seed=2),
    lambda: Neuron(3, activation="tanh", seed=0),
    lambda: Layer(3, 2, activation="softmax", seed=0),
    lambda: Linear(3, 2, bias=False, seed=0),
    lambda: Sequential(Linear(3, 4, seed=0), LeakyReLU(0.2), Linear(4, 2, seed=1), Softmax()),
    lambda: Sequential(Linear(3, 4, seed=0), Sigmoid(), Linear(4, 4, seed=1), Tanh(),
                       Linear(4, 1, seed=2), ReLU()),
    lambda: built(Sequential([Dense(4, "sigmoid", seed=0), Dense(4, "sigmoid", seed=1),
                              Dense(2, seed=2)])),
])
def test_to_torch_gives_the_same_outputs_and_gradients(make):
    model = make()
    net = pt.to_torch(model)
    assert isinstance(net, torch.nn.Module)
    assert all(p.dtype == torch.float64 for p in net.parameters())
    assert sum(p.numel() for p in net.parameters()) == len(model.parameters())
    assert_same_numbers(model, net)


def test_to_torch_copies_weights_so_the_two_are_independent():
    model = MLP(3, [2, 1], seed=0)
    net = pt.to_torch(model)
    before = model([1.0, 2.0, 3.0]).data
    with torch.no_grad():
        for p in net.parameters():
            p.add_(1.0)
    assert model([1.0, 2.0, 3.0]).data == before


def test_a_step_activation_goes_across_through_the_op_table():
    model = Sequential(Linear(3, 3, seed=0), Activation("step"))
    net = pt.to_torch(model)
    for x in SAMPLES:
        assert [v.data for v in model(x)] == net(torch.tensor(x, dtype=torch.float64)).tolist()


def test_what_has_no_torch_counterpart_is_refused_clearly():
    with pytest.raises(TypeError, match="knows activations by name.*got '<lambda>'"):
        pt.to_torch(Neuron(2, activation=lambda v: v * v, seed=0))
    with pytest.raises(ValueError, match="no weights yet.*call it once"):
        pt.to_torch(Dense(3))

    class Custom(nn.Module):
        def forward(self, x):
            return x

    with pytest.raises(TypeError, match="to_torch converts .*; got Custom"):
        pt.to_torch(Custom())


def relu(v):
    """A function of the user's that is not the built-in relu."""
    return v.tanh()


def test_to_torch_refuses_what_it_would_drop():
    class Doubled(MLP):
        def forward(self, x):
            return 2 * super().forward(x)

    class Scaled(MLP):
        def __init__(self):
            super().__init__(2, [3, 1], seed=0)
            self.scale = Value(3.0)

    with pytest.raises(TypeError, match=r"cannot carry Doubled's own forward\(\)"):
        pt.to_torch(Doubled(2, [3, 1], seed=0))
    with pytest.raises(TypeError, match=r"Doubled's own forward"):
        pt.to_torch(Sequential(Linear(2, 2, seed=0), Doubled(2, [1], seed=0)))
    with pytest.raises(TypeError, match="can carry 13 of .* 14 parameters"):
        pt.to_torch(Scaled())
    mine = Neuron(2, activation=relu, seed=0)
    assert mine.activation.endswith(".relu") and mine.activation != "relu"
    with pytest.raises(TypeError, match="knows activations by name.*relu"):
        pt.to_torch(mine)
    builtin = Neuron(2, activation=Value.relu, seed=0)  # the built-in itself goes across
    assert builtin.activation == "relu" and pt.to_torch(builtin) is not None


def test_from_torch_refuses_hooks_and_a_forward_of_its_own():
    def hook(module, inputs, output):
        return output * 2

    net = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.ReLU())
    handle = net[0].register_forward_hook(hook)
    with pytest.raises(TypeError, match="cannot carry the hooks on Linear.*_forward_hooks"):
        pt.from_torch(net)
    handle.remove()
    handle = net.register_forward_pre_hook(lambda module, inputs: inputs)
    with pytest.raises(TypeError, match="_forward_pre_hooks.*handle.remove"):
        pt.from_torch(net)
    handle.remove()
    handle = net[0].register_full_backward_hook(lambda m, gi, go: gi)
    with pytest.raises(TypeError, match="_backward_hooks"):
        pt.from_torch(net)
    handle.remove()
    handle = torch.nn.modules.module.register_module_forward_hook(hook)
    try:
        with pytest.raises(TypeError, match="global module hooks"):
            pt.from_torch(net)
    finally:
        handle.remove()
    assert len(pt.from_torch(net)) == 2  # without hooks it goes across

    class Residual(torch.nn.Sequential):
        def forward(self, x):
            return x + super().forward(x)

    class Halved(torch.nn.Linear):
        def forward(self, x):
            return super().forward(x) / 2

    with pytest.raises(TypeError, match=r"cannot carry Residual's own forward\(\)"):
        pt.from_torch(Residual(torch.nn.Linear(2, 2)))
    with pytest.raises(TypeError, match=r"cannot carry Halved's own forward\(\)"):
        pt.from_torch(torch.nn.Sequential(Halved(2, 2)))


def test_check_of_step_at_nan_agrees():
    x, w = Value(float("nan"), label="x"), Value(2.0, label="w")
    assert pt.check(x.step())
    result = pt.check(x.step() * w)
    assert result and [r.ours for r in result.rows if r.name == "x"] == [0.0]


def test_from_torch_brings_a_sequential_back_with_the_same_numbers():
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(3, 4), torch.nn.Tanh(),
        torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.LeakyReLU(0.1)),
        torch.nn.Identity(), torch.nn.Linear(4, 3, bias=False), torch.nn.Softmax(dim=-1)).double()
    model = pt.from_torch(net)
    assert isinstance(model, Sequential)
    assert [type(m).__name__ for m in model] == ["Linear", "Tanh", "Linear", "LeakyReLU",
                                                 "Linear", "Softmax"]
    assert model[3].negative_slope == 0.1
    assert_same_numbers(model, net)
    back = pt.to_torch(model)
    assert [p.tolist() for p in back.parameters()] == [p.tolist() for p in net.parameters()]


def test_from_torch_takes_a_float32_linear_and_labels_it():
    lin = torch.nn.Linear(2, 2)
    model = pt.from_torch(lin)
    assert [[w.data for w in row] for row in model[0].weight] == lin.weight.tolist()
    assert model[0].weight[1][0].label == "L1.n2.w1"


@pytest.mark.parametrize("module, message", [
    (torch.nn.Dropout(0.5), "Dropout"),
    (torch.nn.Softmax(dim=0), "Softmax"),
    (torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.GELU()), "GELU"),
])
def test_from_torch_refuses_what_microgrant_cannot_build(module, message):
    with pytest.raises(TypeError, match=f"from_torch converts .*got {message}"):
        pt.from_torch(module)


# ---- check -------------------------------------------------------------------------------------

def a_graph_with_every_kind_of_op():
    x, y, z = Value(0.7, label="x"), Value(-1.3, label="y"), Value(2.0, label="z")
    c = Value(0.5, requires_grad=False)
    terms = [x * y, x + y, x - y, x / z, -x, x ** 3, z ** x, 2 ** y, x.exp(), z.log(),
             z.sqrt(), y.tanh(), y.sigmoid(), y.relu(), x.relu(), y.leaky_relu(0.1), y.abs(),
             c * x]
    return Value.sum(terms) * (x * y).tanh(), (x, y, z)


def test_check_agrees_on_a_graph_of_every_op_and_leaves_grads_alone():
    root, leaves = a_graph_with_every_kind_of_op()
    result = pt.check(root)
    assert result, str(result)
    assert all(v.grad == 0.0 for v in leaves)  # check never writes .grad
    kinds = [row.kind for row in result.rows]
    assert kinds.count("grad") == kinds.count("value") + 3  # every node, and the 3 leaves
    names = [row.name for row in result.rows if row.kind == "grad"]
    assert {"x", "y", "z"} <= set(names)
    assert result.largest_difference < 1e-12
    assert "agree" in repr(result) and "DISAGREE" not in str(result)


def test_check_finds_a_value_that_does_not_match_its_inputs():
    x = Value(3.0, label="x")
    y = x * x
    y.label = "y"
    out = y + 1.0
    y.data = 10.0  # no longer x * x: PyTorch computes 9
    result = pt.check(out)
    assert not result
    bad = {row.name for row in result.failures}
    assert "y" in bad
    assert "DIFFERENT" in str(result) and "DISAGREE" in repr(result)


def test_check_reports_a_gradient_microgrant_cannot_compute():
    x = Value(0.0, label="x")
    result = pt.check(x.sqrt() * 2.0)
    assert not result and "sqrt" in result.error
    assert all(row.agree for row in result.rows)  # the forward values still agree
    assert "gradients not compared" in str(result)


def test_check_of_a_leaf_and_of_constants():
    leaf = Value(2.0, label="w")
    result = pt.check(leaf)
    assert result and [(r.kind, r.name, r.ours) for r in result.rows] == [("grad", "w", 1.0)]
    constant = Value(2.0, requires_grad=False) * 3.0
    assert pt.check(constant) and pt.check(constant).rows == ()


def test_check_uses_its_tolerance_and_checks_it():
    x = Value(1.0)
    y = x.exp()
    y.data = math.e * (1 + 1e-9)
    assert not pt.check(y)
    assert pt.check(y, rtol=1e-6)
    with pytest.raises(ValueError, match="rtol must be a finite number >= 0"):
        pt.check(y, rtol=-1.0)
    with pytest.raises(TypeError, match="check needs a Value"):
        pt.check(1.0)


def test_check_on_a_networks_loss():
    model = MLP(3, [4, 4, 1], activation="tanh", seed=0)
    loss = nn.mse_loss([model(x) for x in SAMPLES], [1.0, -1.0, 0.5])
    result = pt.check(loss)
    assert result, str(result)
    grads = {row.name: row for row in result.rows if row.kind == "grad"}
    assert grads["L1.n1.w1"].agree and grads["L3.n1.b"].agree


# ---- without torch ---------------------------------------------------------------------------

def test_without_torch_calls_raise_an_import_error_saying_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now fails
    for call in (lambda: pt.to_torch(Neuron(2, seed=0)), lambda: pt.from_torch(object()),
                 lambda: pt.check(Value(1.0))):
        with pytest.raises(ImportError, match=r"pip install torch==2\.13\.0"):
            call()


def test_importing_the_module_does_not_import_torch():
    code = ("import sys; sys.modules['torch'] = None\n"
            "import microgrant.pytorch\n"
            "print('ok')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_to_torch_says_a_layer_is_used_twice():
    shared = nn.Linear(2, 2, seed=0)
    with pytest.raises(TypeError, match=r"a layer is used twice \(items 0 and 2 of the "
                                        r"Sequential are the same Linear\)"):
        pt.to_torch(nn.Sequential(shared, nn.ReLU(), shared))
    relu = nn.ReLU()  # an activation used twice shares no weights: it converts
    net = pt.to_torch(nn.Sequential(nn.Linear(2, 2, seed=0), relu, nn.Linear(2, 1, seed=1),
                                    relu))
    assert len(net) == 4
