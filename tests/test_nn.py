"""nn: Module, micrograd's Neuron/Layer/MLP, PyTorch's and Keras's shapes, labels, guard rails,
seeding, and saving and loading through a model (the file format itself is test_io's)."""

import copy
import json
import math
import os
import pickle
import random
import warnings

import numpy as np
import pytest

from microgrant import Value, io, nn, no_grad
from microgrant.losses import binary_cross_entropy, mse_loss, softmax
from microgrant.nn import (
    MLP,
    Activation,
    Dense,
    Layer,
    LeakyReLU,
    Linear,
    Module,
    Neuron,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
)
from microgrant.ops import OPS
from microgrant.optim import SGD


def set_weights(module, numbers):
    for p, v in zip(module.parameters(), numbers):
        p.data = float(v)


# ---- structure ----------------------------------------------------------------------------

def test_mlp_has_micrograds_parameter_count_and_order():
    model = MLP(2, [16, 16, 1], seed=0)
    assert len(model.parameters()) == 2 * 16 + 16 + 16 * 16 + 16 + 16 + 1 == 337
    names = [name for name, _ in model.named_parameters()]
    assert names[:4] == ["layers.0.neurons.0.w.0", "layers.0.neurons.0.w.1",
                         "layers.0.neurons.0.b", "layers.0.neurons.1.w.0"]
    assert "layers.0.neurons.3.w.1" in names and "layers.0.neurons.3.b" in names
    assert names[-1] == "layers.2.neurons.0.b"
    assert len(set(names)) == 337
    # parameters() must list the same Values as named_parameters(), in the same order.
    assert [p for _, p in model.named_parameters()] == model.parameters()
    layer = model.layers[1]
    assert [p for _, p in layer.named_parameters()] == layer.parameters()
    neuron = layer.neurons[4]
    assert neuron.parameters() == [*neuron.w, neuron.b]


def test_weights_move_between_micrograd_and_microgrant():
    micrograd_nn = pytest.importorskip("micrograd.nn")
    from micrograd.engine import Value as MValue
    random.seed(7)
    theirs = micrograd_nn.MLP(3, [4, 4, 1])
    ours = MLP(3, [4, 4, 1], seed=0)
    set_weights(ours, [p.data for p in theirs.parameters()])
    for x in ([0.5, -1.0, 2.0], [-0.2, 0.3, 0.1], [1.5, 1.5, -1.5]):
        out_theirs = theirs([MValue(v) for v in x])
        out_ours = ours(x)
        assert out_ours.data == pytest.approx(out_theirs.data, rel=1e-12, abs=1e-15)
        theirs.zero_grad()
        ours.zero_grad()
        out_theirs.backward()
        out_ours.backward()
        for p, q in zip(theirs.parameters(), ours.parameters()):
            assert q.grad == pytest.approx(p.grad, rel=1e-12, abs=1e-15)


def test_layer_always_returns_a_list_and_mlp_a_value_for_one_output():
    layer = Layer(3, 1, seed=0)
    out = layer([1.0, 2.0, 3.0])
    assert isinstance(out, list) and len(out) == 1 and isinstance(out[0], Value)
    assert isinstance(MLP(3, [4, 1], seed=0)([1.0, 2.0, 3.0]), Value)
    many = MLP(3, [4, 2], seed=0)([1.0, 2.0, 3.0])
    assert isinstance(many, list) and len(many) == 2


def test_one_neuron_hidden_layer_works():
    model = MLP(2, [1, 3, 1], activation="tanh", seed=0)
    assert len(model.parameters()) == 3 + 6 + 4
    out = model([0.5, -0.5])
    out.backward()
    assert all(p.grad is not None for p in model.parameters())
    assert model.layers[1].neurons[0].w[0].grad != 0.0


def test_repr_says_what_the_network_is():
    assert repr(MLP(2, [16, 16, 1], seed=0)) == \
        "MLP(2 -> [16 relu, 16 relu, 1 linear], 337 parameters)"
    assert repr(MLP(4, [3, 2], activation="tanh", output="softmax", seed=0)) == \
        "MLP(4 -> [3 tanh, 2 softmax], 23 parameters)"
    assert repr(Layer(2, 3, activation="sigmoid", seed=0)) == "Layer(2 -> 3 sigmoid)"
    assert repr(Neuron(5, seed=0)) == "Neuron(5 -> relu)"


def test_forward_is_activation_of_w_dot_x_plus_b():
    n = Neuron(3, activation="linear", seed=0)
    set_weights(n, [0.5, -2.0, 1.0, 0.25])
    out = n([2.0, 1.0, -3.0])
    assert out.data == 0.5 * 2.0 - 2.0 * 1.0 + 1.0 * -3.0 + 0.25
    # One node for the pre-activation z = w·x + b: weights, inputs, bias.
    assert out.op == "dot" and len(out.inputs) == 7
    assert out.inputs[:3] == tuple(n.w) and out.inputs[-1] is n.b


@pytest.mark.parametrize("name, reference", [
    ("linear", lambda z: z),
    ("step", lambda z: 1.0 if z >= 0 else 0.0),
    ("sigmoid", lambda z: 1.0 / (1.0 + math.exp(-z))),
    ("tanh", math.tanh),
    ("relu", lambda z: max(z, 0.0)),
    ("leaky_relu", lambda z: z if z > 0 else 0.01 * z),
])
def test_named_activations(name, reference):
    n = Neuron(2, activation=name, seed=0)
    assert n.activation == name
    for w, x in [((1.0, 2.0), (0.5, 0.25)), ((1.0, 2.0), (-1.5, 0.25))]:
        set_weights(n, [*w, 0.1])
        z = w[0] * x[0] + w[1] * x[1] + 0.1
        assert n(list(x)).data == pytest.approx(reference(z), rel=1e-15)


def test_callable_activation():
    n = Neuron(1, activation=lambda v: v * v, seed=0)
    set_weights(n, [3.0, 1.0])
    assert n([2.0]).data == 49.0
    assert repr(n) == "Neuron(1 -> <lambda>)"


def test_softmax_layer_and_output():
    layer = Layer(3, 4, activation="softmax", seed=0)
    x = [0.3, -1.0, 2.0]
    out = layer(x)
    assert sum(o.data for o in out) == pytest.approx(1.0, rel=1e-15)
    logits = [sum(w.data * xi for w, xi in zip(n.w, x)) + n.b.data for n in layer.neurons]
    assert [o.data for o in out] == pytest.approx([s.data for s in softmax(logits)], rel=1e-14)
    model = MLP(3, [5, 4], output="softmax", seed=0)
    assert sum(o.data for o in model(x)) == pytest.approx(1.0, rel=1e-15)


def test_activations_are_the_op_tables_plus_linear_and_softmax():
    from_table = [op.method for op in OPS.values() if op.activation]
    assert list(nn.ACTIVATIONS) == ["linear", *from_table, "softmax"]
    assert {"sigmoid", "tanh", "relu", "leaky_relu", "step"} <= set(from_table)
    for name in from_table:
        assert nn.ACTIVATIONS[name] is getattr(Value, name)


def test_unknown_activation_lists_the_valid_ones():
    with pytest.raises(ValueError, match="unknown activation 'rleu'.*'tanh'.*'relu'"):
        Neuron(2, activation="rleu")
    with pytest.raises(ValueError, match="unknown activation"):
        MLP(2, [3, 1], output="sigmod")
    with pytest.raises(ValueError, match="softmax.*Layer"):
        Neuron(2, activation="softmax")


def test_bad_sizes_are_rejected():
    with pytest.raises(ValueError, match="nin must be a whole number >= 1; got 0"):
        Neuron(0)
    with pytest.raises(TypeError, match="nouts must be a list"):
        MLP(2, 3)
    with pytest.raises(ValueError, match="at least one layer"):
        MLP(2, [])
    with pytest.raises(TypeError, match="nout must be a whole number >= 1; got float 2.5"):
        Layer(2, 2.5)
    with pytest.raises(TypeError, match="out_features"):
        Linear(2, True)
    with pytest.raises(ValueError, match="units must be a whole number >= 1; got 0"):
        Dense(0)


# ---- initialisation -------------------------------------------------------------------------

@pytest.mark.parametrize("make", [lambda seed: MLP(2, [8, 1], seed=seed),
                                  lambda seed: Linear(3, 4, seed=seed),
                                  lambda seed: Sequential(Dense(3, seed=seed))])
def test_a_seed_is_repeatable_and_never_touches_global_random(make):
    random.seed(123)
    np.random.seed(123)
    state, np_state = random.getstate(), np.random.get_state()[1].copy()

    def weights(seed):
        model = make(seed)
        if isinstance(model, Sequential):
            model([1.0, 2.0])  # a Dense layer draws its weights at its first call
        return model.state_dict()

    a, b, c = weights(42), weights(42), weights(43)
    assert random.getstate() == state
    assert (np.random.get_state()[1] == np_state).all()
    assert a == b and a != c


@pytest.mark.parametrize("make", [lambda: MLP(2, [8, 1]), lambda: Linear(3, 4),
                                  lambda: Sequential(Dense(3))])
def test_without_a_seed_the_weights_follow_python_random_as_micrograd_does(make):
    def weights():
        model = make()
        if isinstance(model, Sequential):
            model([1.0, 2.0])
        return model.state_dict()

    random.seed(1337)
    first = weights()
    again = weights()  # the global state moved on: other weights
    random.seed(1337)
    assert weights() == first != again
    np_state = np.random.get_state()[1].copy()
    weights()
    assert (np.random.get_state()[1] == np_state).all()  # numpy's global state is untouched


def test_unseeded_weights_are_micrograds_draws_in_micrograds_order():
    """micrograd: each neuron draws random.uniform(-1, 1) per weight, then a bias of 0."""
    random.seed(1337)
    model = MLP(2, [3, 1])
    random.seed(1337)
    expected = []
    for nin, nout in [(2, 3), (3, 1)]:
        for _ in range(nout):
            expected += [random.uniform(-1, 1) for _ in range(nin)] + [0.0]
    assert [p.data for p in model.parameters()] == expected


def test_a_numpy_generator_can_be_shared():
    rng = np.random.default_rng(5)
    first, second = Neuron(3, seed=rng), Neuron(3, seed=rng)
    assert first.state_dict() != second.state_dict()  # the generator advanced
    assert Neuron(3, seed=np.random.default_rng(5)).state_dict() == first.state_dict()


def test_bad_seed_is_rejected():
    with pytest.raises(TypeError, match="seed must be None, a whole number >= 0 or a numpy "
                                        "Generator.*got str '7'"):
        Neuron(2, seed="7")
    with pytest.raises(TypeError, match="seed"):
        Neuron(2, seed=True)
    with pytest.raises(TypeError, match="seed"):
        MLP(2, [3, 1], seed=random.Random(0))  # the old way: one way to take a seed now
    with pytest.raises(ValueError, match="got -1"):
        Linear(2, 2, seed=-1)


@pytest.mark.parametrize("init, bound", [
    ("uniform", 1.0),
    ("xavier", math.sqrt(6.0 / (50 + 40))),
    ("glorot", math.sqrt(6.0 / (50 + 40))),
    ("he", math.sqrt(6.0 / 50)),
    ("kaiming", math.sqrt(6.0 / 50)),
])
def test_initialisations_draw_within_their_bounds(init, bound):
    layer = Layer(50, 40, init=init, seed=0)
    weights = np.array([w.data for n in layer.neurons for w in n.w])
    assert np.abs(weights).max() <= bound
    assert np.abs(weights).max() > 0.95 * bound  # 2000 draws nearly reach the edge
    assert abs(weights.mean()) < 0.05 * bound
    assert all(n.b.data == 0.0 for n in layer.neurons)


@pytest.mark.parametrize("name", ["normal", "random_normal"])
def test_normal_init_is_keras_random_normal(name):
    """Note 002 builds its Dense layer with initializer='random_normal': N(0, 0.05)."""
    layer = Layer(50, 40, init=name, seed=0)
    weights = np.array([w.data for n in layer.neurons for w in n.w])
    assert abs(weights.mean()) < 0.005 and 0.047 < weights.std() < 0.053
    assert len(set(weights.tolist())) == weights.size  # drawn, not a constant
    random.seed(3)
    unseeded = [w.data for w in Neuron(4, init=name).w]
    random.seed(3)
    assert unseeded == [random.gauss(0.0, 0.05) for _ in range(4)]


def test_custom_and_unknown_init():
    n = Neuron(3, init=lambda rng, fan_in, fan_out: 0.5, seed=0)
    assert [w.data for w in n.w] == [0.5, 0.5, 0.5]
    with pytest.raises(ValueError, match="unknown init 'gaussian'.*'xavier'.*'he'"):
        Neuron(3, init="gaussian")
    with pytest.raises(TypeError, match="a drawn weight must be a real number.*str"):
        Neuron(3, init=lambda rng, fan_in, fan_out: "0.5")


# ---- inputs ---------------------------------------------------------------------------------

def test_inputs_may_be_lists_numpy_arrays_numpy_scalars_or_values():
    model = MLP(3, [4, 1], seed=0)
    x = [0.5, -1.0, 2.0]
    expected = model(x).data
    assert model(np.array(x)).data == expected
    assert model([np.float64(v) for v in x]).data == expected
    assert model((0.5, -1, 2)).data == expected
    inputs = [Value(v) for v in x]
    out = model(inputs)
    assert out.data == expected
    out.backward()
    assert any(v.grad != 0.0 for v in inputs)  # gradients reach the inputs too


def test_wrong_input_size_names_expected_and_given():
    model = MLP(3, [4, 1], seed=0)
    with pytest.raises(ValueError, match=r"expects 3 inputs; got 2"):
        model([1.0, 2.0])
    with pytest.raises(ValueError, match=r"expects 2 inputs; got 3"):
        Layer(2, 2, seed=0)([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"expects 2 inputs; got 1"):
        Neuron(2, seed=0)([1.0])
    with pytest.raises(ValueError, match=r"1-D array.*shape \(1, 3\)"):
        model(np.ones((1, 3)))
    with pytest.raises(TypeError, match="list of 3 inputs"):
        model(1.0)
    with pytest.raises(TypeError, match="str"):
        model([1.0, "2", 3.0])



@pytest.mark.parametrize("make, size", [
    (lambda: MLP(3, [4, 4, 1], seed=0), "3 numbers"),
    (lambda: Layer(3, 2, seed=0), "3 numbers"),
    (lambda: Neuron(3, seed=0), "3 numbers"),
    (lambda: Dense(2, seed=0), "a list of numbers"),  # not built yet: any size would do
], ids=["MLP", "Layer", "Neuron", "Dense"])
def test_a_batch_is_refused_with_the_loop_to_write_instead(make, size):
    model = make()
    for batch, rows in (([[1.0, 2, 3], [4.0, 5, 6]], "2 rows"), (((1.0, 2, 3),), "1 row"),
                        ([np.ones(3)] * 4, "4 rows")):
        with pytest.raises(ValueError) as info:
            model(batch)
        assert str(info.value) == (f"{model!r} takes one sample ({size}); got a list of "
                                   f"{rows}: call it on each sample, e.g. "
                                   "[model(x) for x in X]")
    with pytest.raises(ValueError, match=r"shape \(2, 3\): call it on each sample, e\.g\. "
                                         r"\[model\(x\) for x in X\]"):
        model(np.ones((2, 3)))
    # the loop the message asks for works, and a list mixing rows and numbers is not a batch
    if size == "3 numbers":
        assert len([model(x) for x in [[1.0, 2, 3], [4.0, 5, 6]]]) == 2
        with pytest.raises(TypeError, match="list"):
            model([[1.0], 2.0, 3.0])

# ---- parameters, zero_grad, state_dict ---------------------------------------------------

def test_zero_grad_clears_every_parameter():
    model = MLP(2, [3, 1], activation="tanh", seed=0)
    model([1.0, 2.0]).backward()
    assert any(p.grad != 0.0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())


def test_custom_module_finds_its_parameters():
    class Net(Module):
        def __init__(self):
            self.scale = Value(2.0)
            self.hidden = Layer(2, 2, seed=0)
            self.heads = [Neuron(2, seed=1), Neuron(2, seed=2)]
            self.shared = self.scale  # the same Value again: listed once
            self.note = "not a parameter"
            self.sizes = [2, 2]  # a list without parameters
            self.parent = self  # a loop back: must not be followed forever

        def forward(self, x):
            h = self.hidden(x)
            return self.scale * Value.sum([head(h) for head in self.heads])

    net = Net()
    assert net([1.0, 2.0]).op == "mul"  # calling the module calls forward, as in PyTorch
    names = [n for n, _ in net.named_parameters()]
    assert names == ["scale", "hidden.neurons.0.w.0", "hidden.neurons.0.w.1",
                     "hidden.neurons.0.b", "hidden.neurons.1.w.0", "hidden.neurons.1.w.1",
                     "hidden.neurons.1.b", "heads.0.w.0", "heads.0.w.1", "heads.0.b",
                     "heads.1.w.0", "heads.1.w.1", "heads.1.b"]
    assert repr(net) == "Net(13 parameters)"
    with pytest.raises(NotImplementedError, match="Module must define forward"):
        Module()([1.0])


@pytest.mark.parametrize("base, args", [(MLP, (2, [3, 1])), (Layer, (2, 3)), (Neuron, (2,))])
def test_a_subclass_parameter_is_listed_and_trained(base, args):
    class Scaled(base):
        def __init__(self):
            super().__init__(*args, seed=0)
            self.scale = Value(2.0)

        def __call__(self, x):
            out = super().__call__(x)
            outs = out if isinstance(out, list) else [out]
            return self.scale * Value.sum(outs)

    model = Scaled()
    # parameters() and named_parameters() come from the same walk: same Values, same order.
    assert model.parameters() == [p for _, p in model.named_parameters()]
    assert model.parameters()[-1] is model.scale
    assert len(model.parameters()) == len(model.state_dict())
    for _, p in model.named_parameters():
        p.data = 0.5  # every unit active (relu > 0), so the output depends on scale
    model.scale.data = 2.0
    opt = SGD(model.parameters(), lr=0.1)
    opt.zero_grad()
    model([1.0, 1.0]).backward()
    assert model.scale.grad != 0.0
    opt.step()
    assert model.scale.data != 2.0  # the optimiser built from parameters() trains it


def test_state_dict_is_plain_json_data_and_round_trips():
    model = MLP(2, [3, 1], seed=0)
    state = model.state_dict()
    assert all(type(k) is str and type(v) is float for k, v in state.items())
    other = MLP(2, [3, 1], seed=1)
    other.load_state_dict(json.loads(json.dumps(state)))
    assert other.state_dict() == state
    assert other([0.3, 0.7]).data == model([0.3, 0.7]).data


@pytest.mark.parametrize("change, error, message", [
    (lambda s: s.pop("layers.0.neurons.1.b"), ValueError,
     r"missing 1 parameter\(s\): 'layers.0.neurons.1.b'"),
    (lambda s: s.update(extra=1.0), ValueError, r"unexpected 1 name\(s\): 'extra'"),
    (lambda s: s.update({"layers.1.neurons.0.w.2": "0.5"}), TypeError,
     r"'layers.1.neurons.0.w.2' must be a real number.*got str '0.5'"),
    (lambda s: s.update({"layers.1.neurons.0.w.2": 10 ** 400}), ValueError,
     r"'layers.1.neurons.0.w.2' is too large for a float"),
    (lambda s: s.update({"layers.1.neurons.0.w.2": [1.0]}), TypeError, "got list"),
    (lambda s: s.update({"layers.0.neurons.0.b": True}), TypeError, "got bool"),
    (lambda s: s.update({"layers.0.neurons.0.b": None}), TypeError, "got NoneType"),
    (lambda s: s.update({"layers.0.neurons.2.w.0": float("nan")}), ValueError,
     "'layers.0.neurons.2.w.0' must be a finite number; got nan"),
    (lambda s: s.update({"layers.0.neurons.2.w.0": float("-inf")}), ValueError, "-inf"),
])
def test_load_state_dict_checks_everything_before_changing_anything(change, error, message):
    model = MLP(2, [3, 1], seed=0)
    before = model.state_dict()
    bad = MLP(2, [3, 1], seed=1).state_dict()
    change(bad)
    with pytest.raises(error, match=message):
        model.load_state_dict(bad)
    assert model.state_dict() == before


def test_load_state_dict_needs_a_dict():
    with pytest.raises(TypeError, match="must be a dict"):
        Neuron(2, seed=0).load_state_dict([1.0, 2.0, 3.0])


# ---- save and load --------------------------------------------------------------------------

def test_save_and_load_round_trip_exactly(tmp_path):
    model = MLP(2, [4, 4, 1], activation="tanh", seed=0)
    path = tmp_path / "model.json"
    model.save(path)
    document = json.loads(path.read_text())
    assert document["format"] == "microgrant.weights"
    assert document["model"] == repr(model)
    assert document["parameters"] == model.state_dict()
    other = MLP(2, [4, 4, 1], activation="tanh", seed=1)
    assert other.load(str(path)) is other
    assert other.state_dict() == model.state_dict()  # bit for bit: floats round-trip in JSON
    assert [f.name for f in tmp_path.iterdir()] == ["model.json"]  # no temporary left over


def test_load_accepts_a_plain_state_dict_file(tmp_path):
    model = Neuron(3, seed=0)
    path = tmp_path / "plain.json"
    path.write_text(json.dumps(model.state_dict()))
    assert Neuron(3, seed=1).load(path).state_dict() == model.state_dict()


@pytest.mark.parametrize("text, message", [
    ('{"format": "microgrant.weights", "version": 1, "parameters": {"w.0": 0.5',
     "not valid JSON.*truncated"),
    ("", "not valid JSON"),
    ('[1.0, 2.0]', "must be a dict"),
    ('{"w.0": 0.5, "w.1": 0.25}', r"missing 1 parameter\(s\): 'b'"),
    ('{"w.0": 0.5, "w.1": NaN, "b": 0.0}', "'w.1' must be a finite number"),
    ('{"w.0": 0.5, "w.1": "x", "b": 0.0}', "'w.1' must be a real number"),
    ('{"format": "something.else", "parameters": {}}', "format is 'something.else'"),
    ('{"format": "microgrant.weights", "version": 99, "parameters": {}}',
     "version 99 is not supported"),
    ('{"format": "microgrant.weights", "version": 1}', "no 'parameters'"),
])
def test_a_bad_file_raises_a_clear_error_and_changes_nothing(tmp_path, text, message):
    path = tmp_path / "bad.json"
    path.write_text(text)
    model = Neuron(2, seed=0)
    before = model.state_dict()
    with pytest.raises((ValueError, TypeError), match=message) as info:
        model.load(path)
    assert "bad.json" in str(info.value)
    assert model.state_dict() == before


def test_loading_weights_of_another_architecture_names_the_difference(tmp_path):
    path = tmp_path / "small.json"
    MLP(2, [3, 1], seed=0).save(path)
    model = MLP(2, [4, 1], seed=0)
    before = model.state_dict()
    with pytest.raises(ValueError, match=r"missing 4 parameter\(s\).*saved from "
                                         r"MLP\(2 -> \[3 relu, 1 linear\]"):
        model.load(path)
    assert model.state_dict() == before


def test_load_of_a_missing_file_is_an_os_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="cannot load weights from .*nothing.json"):
        Neuron(2, seed=0).load(tmp_path / "nothing.json")


def test_save_to_an_unwritable_place_is_a_clear_os_error(tmp_path):
    with pytest.raises(OSError, match="cannot save weights to .*no_such_dir"):
        Neuron(2, seed=0).save(tmp_path / "no_such_dir" / "w.json")
    target = tmp_path / "a_directory"
    target.mkdir()
    with pytest.raises(OSError, match="cannot save weights to"):
        Neuron(2, seed=0).save(target)
    assert sorted(f.name for f in tmp_path.iterdir()) == ["a_directory"]  # no temp files


def test_a_failed_save_leaves_the_old_file_whole(tmp_path, monkeypatch):
    path = tmp_path / "w.json"
    old = Neuron(2, seed=0)
    old.save(path)
    saved = path.read_text()

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="cannot save weights to .*No space left"):
        Neuron(2, seed=1).save(path)
    assert path.read_text() == saved
    assert [f.name for f in tmp_path.iterdir()] == ["w.json"]


def test_saving_non_finite_weights_is_refused(tmp_path):
    model = Neuron(2, seed=0)
    model.w[1].data = float("nan")
    with pytest.raises(ValueError, match="'w.1' must be a finite number; got nan.*diverged"):
        model.save(tmp_path / "w.json")
    assert list(tmp_path.iterdir()) == []


# ---- PyTorch parity of a whole network ---------------------------------------------------------

def test_network_gradients_match_torch():
    torch = pytest.importorskip("torch")
    model = MLP(3, [5, 4, 1], activation="tanh", output="sigmoid", seed=3)
    X = [[0.5, -1.0, 2.0], [-0.3, 0.8, 0.1], [1.2, 0.0, -0.7]]
    y = [1, 0, 1]
    loss = binary_cross_entropy([model(x) for x in X], y)
    loss.backward()

    weights = [[(torch.tensor([w.data for w in n.w], dtype=torch.float64, requires_grad=True),
                 torch.tensor(n.b.data, dtype=torch.float64, requires_grad=True))
                for n in layer.neurons] for layer in model.layers]

    def forward(x):
        h = torch.tensor(x, dtype=torch.float64)
        for i, layer in enumerate(weights):
            z = torch.stack([w @ h + b for w, b in layer])
            h = torch.tanh(z) if i < len(weights) - 1 else torch.sigmoid(z)
        return h[0]

    ref = torch.nn.functional.binary_cross_entropy(
        torch.stack([forward(x) for x in X]), torch.tensor(y, dtype=torch.float64))
    ref.backward()
    assert loss.data == pytest.approx(ref.item(), rel=1e-12)
    theirs = [g for layer in weights for w, b in layer for g in (*w.grad.tolist(), b.grad.item())]
    for p, g in zip(model.parameters(), theirs):
        assert p.grad == pytest.approx(g, rel=1e-10, abs=1e-14)


def test_nn_exports():
    for name in nn.__all__:
        assert hasattr(nn, name)


# ---- micrograd's arguments ---------------------------------------------------------------------

def test_micrograds_nonlin_works_by_position_and_by_keyword():
    assert Neuron(3, False, seed=0).activation == "linear"
    assert Neuron(3, True, seed=0).activation == "relu"
    assert Neuron(3, nonlin=False, seed=0).activation == "linear"
    assert Neuron(3, seed=0).nonlin and not Neuron(3, nonlin=False, seed=0).nonlin
    layer = Layer(2, 3, nonlin=False, seed=0)
    assert all(n.activation == "linear" for n in layer.neurons)
    model = MLP(2, [3, 3, 1], seed=0)  # micrograd's defaults: relu hidden, linear output
    assert [layer.activation for layer in model.layers] == ["relu", "relu", "linear"]
    n = Neuron(1, False, seed=0)
    n.w[0].data = -2.0
    assert n([1.0]).data == -2.0  # linear: not clipped at 0 by a relu
    with pytest.raises(TypeError, match="not both"):
        Neuron(2, "tanh", nonlin=False)
    with pytest.raises(TypeError, match="nonlin must be True .* or False"):
        Neuron(2, nonlin="no")


# ---- forward, Linear, Dense, Sequential, activation modules -----------------------------------

def test_a_subclass_defines_forward_and_calling_it_calls_forward():
    class TwoLayer(Module):
        def __init__(self):
            self.hidden = Linear(2, 3, seed=0)
            self.out = Linear(3, 1, seed=1)

        def forward(self, x):
            return self.out([h.tanh() for h in self.hidden(x)])[0]

    net = TwoLayer()
    out = net([0.5, -1.0])
    h = [math.tanh(sum(w.data * x for w, x in zip(row, [0.5, -1.0])) + b.data)
         for row, b in zip(net.hidden.weight, net.hidden.bias)]
    expected = sum(w.data * v for w, v in zip(net.out.weight[0], h)) + net.out.bias[0].data
    assert out.data == pytest.approx(expected, rel=1e-14)
    assert [n for n, _ in net.named_parameters()][:2] == ["hidden.weight.0.0",
                                                          "hidden.weight.0.1"]
    assert len(net.parameters()) == 9 + 4


def test_linear_is_w_x_plus_b_in_pytorchs_layout():
    lin = Linear(3, 2, seed=0)
    W = np.array([[w.data for w in row] for row in lin.weight])
    b = np.array([v.data for v in lin.bias])
    x = np.array([0.5, -1.0, 2.0])
    assert W.shape == (2, 3)  # weight[j][i]: input i into output j, as torch.nn.Linear
    assert [v.data for v in lin(x)] == pytest.approx(W @ x + b, rel=1e-14)
    assert list(lin.state_dict()) == ["weight.0.0", "weight.0.1", "weight.0.2", "weight.1.0",
                                      "weight.1.1", "weight.1.2", "bias.0", "bias.1"]
    assert lin.in_features == 3 and lin.out_features == 2
    plain = Linear(3, 2, bias=False, seed=0)
    assert plain.bias is None and len(plain.parameters()) == 6
    assert repr(plain) == "Linear(in_features=3, out_features=2, bias=False)"
    with pytest.raises(TypeError, match="bias must be True or False"):
        Linear(2, 2, bias=1)


def test_dense_fixes_its_input_size_at_its_first_call():
    layer = Dense(4, activation="sigmoid", seed=0)
    assert layer.parameters() == [] and layer.in_features is None
    out = layer([1.0, 2.0, 3.0])
    assert len(out) == 4 and layer.in_features == 3
    assert len(layer.parameters()) == 3 * 4 + 4
    W = np.array([[w.data for w in row] for row in layer.weight]).T  # the notes' x W + b
    b = np.array([v.data for v in layer.bias])
    z = np.array([1.0, 2.0, 3.0]) @ W + b
    assert [a.data for a in out] == pytest.approx(1 / (1 + np.exp(-z)), rel=1e-14)
    with pytest.raises(ValueError, match="expects 3 inputs; got 2"):
        layer([1.0, 2.0])
    built = Dense(2)
    built.build(5)
    assert built.in_features == 5 and built.activation == "linear"  # Keras: no activation
    with pytest.raises(ValueError, match="built already"):
        built.build(5)
    assert Dense(2, Value.tanh, seed=0).activation == "tanh"
    assert "input size 5" in repr(built)


def test_sequential_takes_modules_as_arguments_or_a_list():
    a = Sequential(Linear(2, 3, seed=0), ReLU(), Linear(3, 1, seed=1))
    b = Sequential([Linear(2, 3, seed=0), ReLU(), Linear(3, 1, seed=1)])
    assert a.state_dict() == b.state_dict()
    assert [v.data for v in a([0.3, -0.7])] == [v.data for v in b([0.3, -0.7])]
    assert len(a) == 3 and isinstance(a[1], ReLU) and [type(m) for m in a][2] is Linear
    assert list(a.state_dict())[:2] == ["0.weight.0.0", "0.weight.0.1"]
    assert list(a.state_dict())[-1] == "2.bias.0"  # PyTorch's names
    with pytest.raises(TypeError, match="takes modules.*item 1 is builtin_function_or_method"):
        Sequential(Linear(2, 2), math.tanh)


def test_note_002s_sequential_of_dense_layers_trains():
    model = Sequential([Dense(4, "sigmoid", seed=0), Dense(4, "sigmoid", seed=1), Dense(2, seed=2)])
    X = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
    Y = [[0.0, 1.0], [1.0, 0.0], [1.0, 0.0], [0.0, 1.0]]
    model(X[0])  # builds every layer
    assert len(model.parameters()) == (2 * 4 + 4) + (4 * 4 + 4) + (4 * 2 + 2)
    opt = SGD(model.parameters(), lr=0.1)

    def loss():
        return Value.sum([mse_loss(model(x), y) for x, y in zip(X, Y)])

    first = loss().data
    for _ in range(30):
        opt.zero_grad()
        total = loss()
        total.backward()
        opt.step()
    assert loss().data < first


@pytest.mark.parametrize("module, reference", [
    (ReLU(), lambda z: max(z, 0.0)),
    (Tanh(), math.tanh),
    (Sigmoid(), lambda z: 1.0 / (1.0 + math.exp(-z))),
    (LeakyReLU(), lambda z: z if z > 0 else 0.01 * z),
    (LeakyReLU(negative_slope=0.2), lambda z: z if z > 0 else 0.2 * z),
    (Activation("step"), lambda z: 1.0 if z >= 0 else 0.0),
    (Activation("linear"), lambda z: z),
])
def test_activation_modules_apply_to_each_input(module, reference):
    xs = [-1.5, 0.25, 2.0]
    assert [v.data for v in module(xs)] == pytest.approx([reference(x) for x in xs], rel=1e-15)
    assert module(Value(-1.5)).data == pytest.approx(reference(-1.5), rel=1e-15)
    assert module.parameters() == []


def test_softmax_module_normalises_the_sample():
    out = Softmax()([1.0, 2.0, 3.0])
    assert [v.data for v in out] == pytest.approx([s.data for s in softmax([1.0, 2.0, 3.0])])
    assert repr(Softmax()) == "Softmax()" and repr(LeakyReLU(0.1)) == \
        "LeakyReLU(negative_slope=0.1)"


# ---- guard rails --------------------------------------------------------------------------------

def test_a_weight_replaced_by_a_number_is_an_error_that_says_what_to_write():
    n = Neuron(2, seed=0)
    with pytest.raises(TypeError, match=r"w\[0\] holds a parameter.*w\[0\]\.data = 3\.0"):
        n.w[0] = 3.0
    with pytest.raises(TypeError, match="is a list of parameters|holds a parameter"):
        n.w = [3.0, -2.0]
    with pytest.raises(TypeError, match=r"Neuron\.b is a parameter.*b\.data = 3\.0"):
        n.b = 3.0
    with pytest.raises(TypeError, match="holds a parameter"):
        n.w.append(1.0)
    assert len(n.parameters()) == 3 and all(isinstance(p, Value) for p in n.parameters())
    n.w = [Value(3.0), Value(-2.0)]  # new parameters are fine
    n.w[1] = Value(5.0)
    assert [p.data for p in n.parameters()] == [3.0, 5.0, 0.0]
    assert n([1.0, 1.0]).data == 8.0
    lin = Linear(2, 2, seed=0)
    with pytest.raises(TypeError, match=r"weight\[0\] holds a parameter"):
        lin.weight[0] = [1.0, 2.0]
    with pytest.raises(TypeError, match=r"weight\[0\]\[1\] holds a parameter"):
        lin.weight[0][1] = 2.0
    assert len(lin.parameters()) == 6


def test_a_users_own_list_of_weights_with_a_number_in_it_is_caught_by_parameters():
    class Net(Module):
        def __init__(self):
            self.layers = [Neuron(2, seed=0)]
            self.sizes = [2, 1]  # numbers only: not parameters, fine
            self.extra = []

        def forward(self, x):
            return self.layers[0](x)

    net = Net()
    net.extra.append(Value(1.0))
    assert len(net.parameters()) == 4
    net.extra.append(0.5)
    with pytest.raises(TypeError, match=r"extra\[1\] is float 0.5 in a list of parameters"):
        net.parameters()


# ---- labels -----------------------------------------------------------------------------------

def test_parameters_and_values_carry_the_notes_labels():
    model = MLP(2, [3, 1], activation="tanh", seed=0)
    labels = [p.label for p in model.parameters()]
    assert labels[:3] == ["L1.n1.w1", "L1.n1.w2", "L1.n1.b"]
    assert labels[-4:] == ["L2.n1.w1", "L2.n1.w2", "L2.n1.w3", "L2.n1.b"]
    out = model([1.0, 2.0])
    assert out.label == "L2.n1.z"  # a linear output neuron: its weighted sum is its output
    a = out.inputs[3]  # the dot's inputs: 3 weights, then the hidden layer's 3 outputs
    assert a.label == "L1.n1.a" and a.inputs[0].label == "L1.n1.z"
    n = Neuron(2, activation="sigmoid", seed=0)
    assert [p.label for p in n.parameters()] == ["w1", "w2", "b"]
    assert n([1.0, 1.0]).label == "a"
    assert [p.label for p in Layer(2, 2, seed=0).parameters()][3:] == ["n2.w1", "n2.w2", "n2.b"]


def test_sequential_labels_by_layer_and_keeps_a_users_label():
    first = Linear(2, 2, seed=0)
    first.weight[0][0].label = "mine"
    model = Sequential(first, Tanh(), Dense(1, "sigmoid", seed=1))
    out = model([1.0, 2.0])
    labels = [p.label for p in model.parameters()]
    assert labels == ["mine", "L1.n1.w2", "L1.n2.w1", "L1.n2.w2", "L1.n1.b", "L1.n2.b",
                      "L2.n1.w1", "L2.n1.w2", "L2.n1.b"]
    assert out[0].label == "L2.n1.a" and out[0].inputs[0].label == "L2.n1.z"
    tanh_out = out[0].inputs[0].inputs[2]  # z's inputs: 2 weights, then the tanh outputs
    assert tanh_out.label == "L1.n1.a" and tanh_out.inputs[0].label == "L1.n1.z"


def test_drawing_a_sequential_is_drawing_the_same_mlp():
    from microgrant import viz
    seq = Sequential([Dense(3, "sigmoid", seed=0), Dense(2, seed=1)])
    seq([0.5, 0.5])
    mlp = MLP(2, [3, 2], activation="sigmoid", seed=2)
    by_neuron = [p for layer in seq for j in range(layer.out_features)
                 for p in (*layer.weight[j], layer.bias[j])]
    set_weights(mlp, [p.data for p in by_neuron])
    assert viz.draw_network(seq).source == viz.draw_network(mlp).source
    torch_style = Sequential(Linear(2, 3, seed=0), ReLU(), Linear(3, 1, seed=1))
    relu_mlp = MLP(2, [3, 1], seed=0)
    set_weights(relu_mlp, [p.data for layer in torch_style if isinstance(layer, Linear)
                           for j in range(layer.out_features)
                           for p in (*layer.weight[j], layer.bias[j])])
    assert viz.draw_network(torch_style).source == viz.draw_network(relu_mlp).source


def test_drawing_says_no_bias_and_refuses_what_a_network_picture_cannot_show():
    from microgrant import viz
    source = viz.draw_network(Sequential(Linear(2, 2, seed=0), Tanh(),
                                         Linear(2, 1, bias=False, seed=1))).source
    assert source.count("no bias") == 1 and source.count("b 0") == 2
    assert "hidden layer 1: 2 tanh" in source
    with pytest.raises(ValueError, match="no weights until its first call"):
        viz.draw_network(Sequential(Dense(3)))
    with pytest.raises(TypeError, match="module 1 \\(Sequential\\) does not fit"):
        viz.draw_network(Sequential(Linear(2, 2, seed=0), Sequential(Linear(2, 1, seed=0))))
    with pytest.raises(TypeError, match="module 0 \\(ReLU\\) does not fit"):
        viz.draw_network(Sequential(ReLU(), Linear(2, 1, seed=0)))


# ---- parameters that stop being parameters -------------------------------------------------

def test_an_in_place_op_on_a_weight_is_refused_with_the_data_form():
    """PyTorch refuses an in-place change of a leaf that takes a gradient; so does this."""
    n = Neuron(2, activation="linear", seed=0)
    before = n.state_dict()
    with pytest.raises(TypeError, match=r"w\[0\] \+ 0\.1\) would make it an interior node.*"
                                        r"w\[0\]\.data \+= 0\.1"):
        n.w[0] += 0.1
    with pytest.raises(TypeError, match=r"Neuron\.b is a parameter.*b\.data -= 0\.5"):
        n.b -= 0.5
    with pytest.raises(TypeError, match=r"w\[1\]\.data \*= 2"):
        n.w[1] *= 2
    with pytest.raises(TypeError, match=r"result of an op \(mul\).*w\[1\]\.data = "):
        n.w[1] = n.w[0] * n.w[1]
    with no_grad():
        with pytest.raises(TypeError, match=r"constant Value.*b\.data = 0\.1"):
            n.b += 0.1
    lin = Linear(2, 2, seed=0)
    with pytest.raises(TypeError, match=r"weight\[0\]\[1\]\.data \+= 1"):
        lin.weight[0][1] += 1
    assert n.state_dict() == before and all(p.op == "" for p in n.parameters())
    n.w[0].data += 0.1  # what the message says works, and the weight is still trained
    n([1.0, 1.0]).backward()
    assert n.w[0].data == before["w.0"] + 0.1 and n.w[0].grad != 0.0


def test_values_in_a_dict_are_not_parameters_and_the_assignment_says_so():
    class Heads(Module):
        def __init__(self):
            self.shared = Value(1.0)
            self.heads = {"cat": Value(2.0), "dog": Neuron(1, seed=0)}

    with pytest.warns(UserWarning, match="heads is a dict holding Values or Modules; "
                                         "parameters\\(\\) does not look inside dicts") as caught:
        model = Heads()
    # Said once, where the dict was assigned: the user's own line, not inside microgrant.
    assert len(caught) == 1 and caught[0].filename == __file__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert model.parameters() == [model.shared]
        model.zero_grad()
    assert "dict" in Module.__doc__  # and the documentation says so


@pytest.mark.parametrize("make", [lambda: Dense(3), lambda: Sequential(Dense(3), ReLU())])
def test_saving_a_model_with_no_weights_yet_is_refused(tmp_path, make):
    model = make()
    path = tmp_path / "w.json"
    with pytest.raises(ValueError, match="has no parameters yet.*Build it first"):
        model.save(path)
    with pytest.raises(ValueError, match="has no parameters yet"):
        io.save(model, path)
    assert not path.exists() and list(tmp_path.iterdir()) == []
    model([1.0, 2.0])
    model.save(path)  # built: saved and loaded as any other
    assert path.exists()



# ---- parameters stay trainable leaves, by every path; state is not a parameter -------------

@pytest.mark.parametrize("change", [
    lambda n, lin: n.w.__setitem__(slice(0, 1), [n.w[0] + 0.1]),
    lambda n, lin: n.w.__setitem__(slice(None), [w * 0.5 for w in n.w]),
    lambda n, lin: setattr(n, "w", [w * 0.5 for w in n.w]),
    lambda n, lin: setattr(lin, "weight", [[w + 0.1 for w in r] for r in lin.weight]),
    lambda n, lin: lin.weight.__setitem__(slice(0, 2), [[w + 0.1 for w in r]
                                                        for r in lin.weight]),
    lambda n, lin: setattr(lin, "bias", [b.tanh() for b in lin.bias]),
])
def test_no_assignment_makes_a_parameter_an_interior_node(change):
    n, lin = Neuron(2, seed=0), Linear(2, 2, seed=0)
    before = n.parameters() + lin.parameters()
    with pytest.raises(TypeError, match="is a parameter: assigning it the result of an op"):
        change(n, lin)
    after = n.parameters() + lin.parameters()
    assert len(after) == len(before) and all(a is b for a, b in zip(after, before))
    assert all(not p.inputs for p in after)


def test_state_a_forward_pass_replaces_is_not_a_parameter():
    class Running(Module):
        def __init__(self, start):
            self.w = Value(2.0)
            self.total = start

        def forward(self, x):
            self.total = self.total + self.w * x
            return self.total

    model = Running(0.0)       # state starts as a number: replacing it is fine
    model(1.0)
    out = model(3.0)
    assert out.data == 8.0 and model.parameters() == [model.w]
    assert list(model.state_dict()) == ["w"]
    out.backward()
    assert model.w.grad == 4.0
    trap = Running(Value(0.0))  # a trainable leaf is a parameter: the message says what to do
    with pytest.raises(TypeError, match=r"Running\.total is a parameter.*start it as a float"):
        trap(1.0)


def test_a_parameter_may_be_set_to_none_as_in_pytorch():
    n, lin = Neuron(2, seed=0), Linear(2, 2, seed=0)
    n.b = None
    lin.bias = None
    assert [name for name, _ in n.named_parameters()] == ["w.0", "w.1"]
    assert len(lin.parameters()) == 4
    n.b = Value(1.0)  # and back
    assert len(n.parameters()) == 3


@pytest.mark.parametrize("make", [lambda: Linear(2, 2, seed=0),
                                  lambda: MLP(2, [3, 1], seed=0),
                                  lambda: Sequential(Linear(2, 3, seed=0), ReLU())])
def test_models_pickle_and_deepcopy_with_their_guards(make):
    model = make()
    for twin in (pickle.loads(pickle.dumps(model)), copy.deepcopy(model)):
        assert twin.state_dict() == model.state_dict()
        assert not set(map(id, twin.parameters())) & set(map(id, model.parameters()))
        first = twin.parameters()[0]
        owner = twin.weight if isinstance(twin, Linear) else None
        if owner is not None:
            with pytest.raises(TypeError, match="holds a parameter"):
                owner[0][0] = 1.0
        first.data += 1.0
        assert model.parameters()[0].data == first.data - 1.0
