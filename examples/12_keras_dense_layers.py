"""12: note 002's dense layers: MyDenseLayer from scratch, then Keras's Sequential of Dense layers.

Note 002 writes a dense layer by hand as a Keras layer: ``build`` makes a weight matrix W of
shape [input_dim, units] and a bias b of shape [1, units], and ``call`` computes
z = xW + b and y = sigmoid(z).  It then builds a network of two hidden layers and an output:

    model = tf.keras.Sequential([Dense(4, activation=sigmoid), Dense(4, activation=sigmoid),
                                 Dense(2)])

Here both are built from Values.  `MyDenseLayer` is a microgrant `Module` whose ``forward`` is
the note's two lines; `Sequential` and `Dense` are microgrant's own, which fix their input size
at the first call as Keras does.  Each is checked against the same arithmetic in numpy, then the
network is drawn (`viz.draw_network`) and, with PyTorch installed, taken to PyTorch and back
(`microgrant.pytorch`) with every output and gradient compared.

    python examples/12_keras_dense_layers.py [--seed 0] [--out folder]
"""

import argparse
import tempfile
from pathlib import Path

import numpy as np

from microgrant import Value, viz
from microgrant.nn import Dense, Module, Sequential

SAMPLE = [0.5, -1.2, 2.0]  # one example with three features


class MyDenseLayer(Module):
    """The note's dense layer: z = xW + b, y = sigmoid(z), with W built at the first call."""

    def __init__(self, units=32, seed=0):
        self.units = units
        self.rng = np.random.default_rng(seed)
        self.W: list = []
        self.b: list = []

    def build(self, input_dim):
        # Initialise weights (random_normal, as the note's initializer) and biases (zeros).
        self.W = [[Value(self.rng.normal(0.0, 0.05), label=f"W[{i}][{j}]")
                   for j in range(self.units)] for i in range(input_dim)]
        self.b = [Value(0.0, label=f"b[{j}]") for j in range(self.units)]

    def forward(self, x):
        if not self.W:
            self.build(len(x))
        # Forward propagation: z_j = sum_i x_i W[i][j] + b_j, the j-th entry of xW + b.
        z = [Value.sum([x[i] * self.W[i][j] for i in range(len(x))]) + self.b[j]
             for j in range(self.units)]
        # Feed through a non-linear activation.
        return [zj.sigmoid() for zj in z]


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def my_dense_layer(seed: int) -> float:
    """Builds MyDenseLayer(units=2), runs it on SAMPLE, returns its gap from numpy."""
    layer = MyDenseLayer(units=2, seed=seed)
    y = layer(SAMPLE)
    W = np.array([[w.data for w in row] for row in layer.W])
    b = np.array([v.data for v in layer.b])
    print(f"MyDenseLayer(units=2) on x = {SAMPLE}: W is {W.shape[0]} x {W.shape[1]}, "
          f"{len(layer.parameters())} parameters")
    print("  y = sigmoid(xW + b) =", [round(v.data, 6) for v in y])
    return float(np.max(np.abs(sigmoid(np.array(SAMPLE) @ W + b) - [v.data for v in y])))


def note_002_network(seed: int) -> Sequential:
    """Note 002's Sequential([Dense(4, sigmoid), Dense(4, sigmoid), Dense(2)])."""
    return Sequential([Dense(4, "sigmoid", seed=seed), Dense(4, "sigmoid", seed=seed + 1),
                       Dense(2, seed=seed + 2)])


def numpy_forward(model: Sequential, x) -> np.ndarray:
    """The same network in numpy: for each layer, a = activation(a W + b)."""
    a = np.array(x)
    for layer in model:
        W = np.array([[w.data for w in row] for row in layer.weight]).T  # [inputs, units]
        b = np.array([v.data for v in layer.bias])
        z = a @ W + b
        a = sigmoid(z) if layer.activation == "sigmoid" else z
    return a


def draw(model: Sequential, out: Path) -> None:
    drawing = viz.draw_network(model)
    try:
        path = drawing.render(out / "note_002_network.png")
        print(f"  drawn to {path}")
    except viz.RenderError as error:  # no Graphviz here: the DOT text is the picture's source
        print(f"  (cannot render: {error}); its DOT text:\n{drawing.source}")


def through_pytorch(model: Sequential) -> None:
    try:
        import torch
    except ImportError:
        print("PyTorch is not installed: skipping the round trip (pip install torch==2.13.0)")
        return
    from microgrant.pytorch import check, from_torch, to_torch

    net = to_torch(model)
    print(f"to_torch: {net}".replace("\n", "\n  "))
    theirs = net(torch.tensor(SAMPLE, dtype=torch.float64)).tolist()
    ours = [v.data for v in model(SAMPLE)]
    print(f"  outputs: microgrant {[round(v, 6) for v in ours]}, PyTorch "
          f"{[round(v, 6) for v in theirs]}")
    back = from_torch(net)
    print(f"  from_torch(to_torch(model)) has the same weights: "
          f"{list(back.state_dict().values()) == list(model.state_dict().values())}")
    result = check(Value.sum(model(SAMPLE)))
    print(f"  check(sum of outputs): {result!r}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None,
                        help="folder for the picture (default: a temporary folder)")
    args = parser.parse_args(argv)

    gap = my_dense_layer(args.seed)
    print(f"  largest difference from numpy: {gap:.1e}\n")

    model = note_002_network(args.seed)
    print(f"Before its first call the model has {len(model.parameters())} parameters: Dense "
          "layers take their input size from the data.")
    y = model(SAMPLE)
    print(f"{model}\nafter one call: {len(model.parameters())} parameters "
          f"(3*4+4 + 4*4+4 + 4*2+2)")
    gap = float(np.max(np.abs(numpy_forward(model, SAMPLE) - [v.data for v in y])))
    print(f"  outputs {[round(v.data, 6) for v in y]}, labelled {[v.label for v in y]}")
    print(f"  largest difference from numpy: {gap:.1e}")

    if args.out is None:
        with tempfile.TemporaryDirectory() as folder:
            draw(model, Path(folder))
    else:
        args.out.mkdir(parents=True, exist_ok=True)
        draw(model, args.out)
    through_pytorch(model)


if __name__ == "__main__":
    main()
