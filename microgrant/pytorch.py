"""The way out to PyTorch: the same network and the same graph, checked number by number.

microgrant computes backprop one scalar at a time so it can be seen; PyTorch computes the same
chain rule on tensors.  This module moves between the two and proves they agree:

* `to_torch(model)`: a microgrant network as a ``torch.nn.Sequential`` (float64) with the same
  weights, so its outputs and its parameters' gradients are microgrant's to rounding;
* `from_torch(module)`: a ``torch.nn.Sequential`` of ``Linear`` layers and activations back
  into a microgrant `microgrant.nn.Sequential`, to be drawn and stepped through;
* `check(root)`: ANY graph of Values replayed in PyTorch, op by op (each op's counterpart is
  its entry in the op table, ``OPS[name].torch``), reporting value by value and gradient by
  gradient where the two agree.

PyTorch is optional: this module imports without it, and each function raises an
`ImportError` saying how to install it (``pip install torch==2.13.0``) when it is missing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from . import checks, nn
from .autodiff import backward_pass
from .engine import Value, topological_order
from .ops import OPS

__all__ = ["to_torch", "from_torch", "check", "CheckResult", "CheckRow"]

_INSTALL = "pip install torch==2.13.0 (or pip install 'microgrant[torch]')"


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        raise ImportError(f"microgrant.pytorch needs PyTorch, which is not installed: "
                          f"{_INSTALL}") from None
    return torch


# ---- to_torch ------------------------------------------------------------------------------

def _refuse_own_forward(model) -> None:
    """A subclass's own ``forward`` (or ``__call__``) is code a torch.nn.Sequential cannot
    carry: converting only its layers would compute something else, without a word."""
    cls: Any = type(model)
    base: Any = next((c for c in cls.__mro__ if c.__module__ == nn.__name__), None)
    if base is not None and base is not cls and (cls.forward is not base.forward
                                                  or cls.__call__ is not base.__call__):
        raise TypeError(f"to_torch cannot carry {cls.__name__}'s own forward(): it converts "
                        f"{base.__name__}'s layers into a torch.nn.Sequential, which would "
                        "compute something else. Convert the layers (to_torch of its parts) "
                        "and write the same forward in a torch.nn.Module")


def _parts(model) -> list[tuple]:
    """The model as a flat list of ("linear", rows, biases) and ("act", name, slope)."""
    _refuse_own_forward(model)
    if isinstance(model, nn.Sequential):
        return [part for m in model for part in _parts(m)]
    if isinstance(model, nn.MLP):
        return [part for layer in model.layers for part in _parts(layer)]
    if isinstance(model, nn.Activation):
        return [("act", model.activation, getattr(model, "negative_slope", 0.01))]
    if isinstance(model, nn.Neuron):
        neurons, activation = [model], model.activation
    elif isinstance(model, nn.Layer):
        neurons, activation = model.neurons, model.activation
    elif isinstance(model, nn.Linear):
        if model.in_features is None:
            raise ValueError(f"{model!r} has no weights yet: call it once on a sample (or "
                             "build(n)) before to_torch")
        rows = [[w.data for w in row] for row in model.weight or ()]
        biases = None if model.bias is None else [b.data for b in model.bias]
        return [("linear", rows, biases), ("act", model.activation, 0.01)]
    else:
        raise TypeError(f"to_torch converts Neuron, Layer, MLP, Linear, Dense, Sequential and "
                        f"activation modules; got {type(model).__name__}")
    rows = [[w.data for w in n.w] for n in neurons]
    return [("linear", rows, [n.b.data for n in neurons]), ("act", activation, 0.01)]


def _refuse_shared(model) -> None:
    """A layer used twice shares its weights; a torch.nn.Sequential of copies would not."""
    if not isinstance(model, nn.Sequential):
        return
    seen: dict[int, int] = {}
    for i, m in enumerate(model):
        _refuse_shared(m)
        if isinstance(m, nn.Activation):
            continue  # no weights: using one twice shares nothing
        if id(m) in seen:
            raise TypeError(f"to_torch: a layer is used twice (items {seen[id(m)]} and {i} of "
                            f"the Sequential are the same {type(m).__name__}), so the two "
                            "share their weights; a torch.nn.Sequential would hold two "
                            "copies that train apart. Use two layers, or a torch module of "
                            "your own that calls one layer twice")
        seen[id(m)] = i


def to_torch(model) -> Any:
    """The microgrant network ``model`` as a ``torch.nn.Sequential`` with the same weights.

    Weights are float64 copies (changing one side does not change the other).  The torch
    module takes one sample as a 1-D tensor (or a batch as rows) and returns a tensor: a
    `microgrant.nn.Neuron`'s or a one-output MLP's single Value becomes a tensor of one number.

    Args:
        model: a `microgrant.nn` Neuron, Layer, MLP, Linear, Dense (after its first call),
            activation module, or a Sequential of these, with activations given by name.

    Raises:
        ImportError: PyTorch is not installed.
        TypeError: the model (or an activation given as a function) has no torch counterpart,
            or does more than its layers: a subclass's own ``forward``, parameters of its
            own, a layer used twice, a function of yours named like a built-in activation.

    >>> torch = __import__("pytest").importorskip("torch")
    >>> model = nn.MLP(2, [3, 1], seed=0)
    >>> net = to_torch(model)
    >>> out = net(torch.tensor([1.0, -1.0], dtype=torch.float64))
    >>> abs(out.item() - model([1.0, -1.0]).data) < 1e-12
    True
    """
    torch = _torch()
    _refuse_shared(model)
    parts = _parts(model)
    carried = sum(len(p[1]) * len(p[1][0]) + len(p[2] or ()) for p in parts
                  if p[0] == "linear")
    if hasattr(model, "parameters") and carried != len(model.parameters()):
        raise TypeError(f"to_torch can carry {carried} of {model!r}'s "
                        f"{len(model.parameters())} parameters (its layers' weights and "
                        "biases); the others, kept by the model itself, have no place in a "
                        "torch.nn.Sequential")
    layers = []
    for part in parts:
        if part[0] == "linear":
            _, rows, biases = part
            linear = torch.nn.Linear(len(rows[0]), len(rows), bias=biases is not None,
                                     dtype=torch.float64)
            with torch.no_grad():
                linear.weight.copy_(torch.tensor(rows, dtype=torch.float64))
                if biases is not None:
                    linear.bias.copy_(torch.tensor(biases, dtype=torch.float64))
            layers.append(linear)
        elif part[1] != "linear":
            layers.append(_torch_activation(torch, part[1], part[2]))
    return torch.nn.Sequential(*layers)


def _torch_activation(torch, name: str, slope: float) -> Any:
    modules = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid,
               "softmax": lambda: torch.nn.Softmax(dim=-1),
               "leaky_relu": lambda: torch.nn.LeakyReLU(slope)}
    if name in modules:
        return modules[name]()
    if name in OPS and OPS[name].activation:
        op = OPS[name]

        class OpModule(torch.nn.Module):
            """An op of microgrant's table with no torch module of its own (step)."""

            def forward(self, x):
                return op.torch(torch, (x,), None)

            def extra_repr(self) -> str:
                return name

        return OpModule()
    known = ", ".join(repr(a) for a in nn.ACTIVATIONS)
    raise TypeError(f"to_torch knows activations by name ({known}); got {name!r}, a function "
                    "it cannot translate")


# ---- from_torch ----------------------------------------------------------------------------

def from_torch(module) -> nn.Sequential:
    """A ``torch.nn.Sequential`` of ``Linear`` layers and activations as a microgrant
    `microgrant.nn.Sequential`, with the same weights (copied as floats).

    Supported: ``Linear``, ``ReLU``, ``Tanh``, ``Sigmoid``, ``LeakyReLU``, ``Softmax`` over the
    last dimension, ``Identity``, and nested ``Sequential``; a single ``Linear`` works too.
    What would change the numbers without a trace is refused: forward hooks (and backward
    hooks, which change gradients) and a subclass's own ``forward``.

    Raises:
        ImportError: PyTorch is not installed.
        TypeError: a layer has no microgrant counterpart (the message names it).

    >>> torch = __import__("pytest").importorskip("torch")
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Tanh(), torch.nn.Linear(3, 1))
    >>> from_torch(net)
    Sequential(
      (0): Linear(in_features=2, out_features=3, bias=True)
      (1): Tanh()
      (2): Linear(in_features=3, out_features=1, bias=True)
    )
    """
    torch = _torch()
    state = torch.nn.modules.module
    hooks = [kind for kind in ("_global_forward_hooks", "_global_forward_pre_hooks",
                               "_global_backward_hooks", "_global_backward_pre_hooks")
             if getattr(state, kind, None)]
    if hooks:
        raise TypeError(f"from_torch cannot carry PyTorch's global module hooks "
                        f"({', '.join(hooks)}): they change what every module computes")
    return nn.Sequential([m for m in _from_torch(torch, module) if m is not None])


def _refuse_what_torch_adds(torch, module) -> None:
    """Hooks and a subclass's own forward change what a torch module computes, beyond its
    layers: microgrant would build something else, so they are refused."""
    tnn = torch.nn
    hooks = [kind for kind in ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks",
                               "_backward_pre_hooks") if getattr(module, kind, None)]
    if hooks:
        raise TypeError(f"from_torch cannot carry the hooks on {module!r} ({', '.join(hooks)}"
                        "): they change what it computes. Remove them (handle.remove()) "
                        "before converting")
    cls: Any = type(module)
    base: Any = next((c for c in cls.__mro__ if c.__module__.startswith("torch.nn.")),
                     tnn.Module)
    if base is not cls and base is not tnn.Module and (cls.forward is not base.forward or
                            cls.__call__ is not base.__call__):
        raise TypeError(f"from_torch cannot carry {cls.__name__}'s own forward(): it would "
                        f"convert the {base.__name__} it is built on and compute something "
                        "else. Convert a plain torch.nn.Sequential of its layers")


def _from_torch(torch, module) -> list:
    tnn = torch.nn
    _refuse_what_torch_adds(torch, module)
    if isinstance(module, tnn.Sequential):
        return [m for child in module for m in _from_torch(torch, child)]
    if isinstance(module, tnn.Linear):
        ours = nn.Linear(module.in_features, module.out_features, bias=module.bias is not None,
                         seed=0)
        rows = module.weight.detach().to(torch.float64).tolist()
        for row, weights in zip(ours.weight or (), rows):
            for w, value in zip(row, weights):
                w.data = float(value)
        if module.bias is not None:
            for b, value in zip(ours.bias or (), module.bias.detach().to(torch.float64).tolist()):
                b.data = float(value)
        return [ours]
    simple = {tnn.ReLU: nn.ReLU, tnn.Tanh: nn.Tanh, tnn.Sigmoid: nn.Sigmoid}
    if type(module) in simple:
        return [simple[type(module)]()]
    if isinstance(module, tnn.LeakyReLU):
        return [nn.LeakyReLU(module.negative_slope)]
    if isinstance(module, tnn.Softmax) and module.dim in (-1, 1, None):
        return [nn.Softmax()]
    if isinstance(module, tnn.Identity):
        return [None]
    raise TypeError(f"from_torch converts a Sequential of Linear, ReLU, Tanh, Sigmoid, "
                    f"LeakyReLU, Softmax(dim=-1) and Identity layers; got {module!r}")


# ---- check ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class CheckRow:
    """One number compared: a value's forward number, or a gradient d(root)/d(value).

    Attributes:
        name: the value's label, or its place in the graph (``mul #3``, ``leaf #0``).
        kind: ``"value"`` (the forward number) or ``"grad"`` (d root / d this value).
        ours: microgrant's number.
        theirs: PyTorch's number.
        agree: whether they agree within the check's tolerance (NaN agrees with NaN).
    """

    name: str
    kind: str
    ours: float
    theirs: float
    agree: bool

    @property
    def difference(self) -> float:
        """``|ours - theirs|`` (0 where both are the same infinity or both NaN)."""
        if self.ours == self.theirs or (math.isnan(self.ours) and math.isnan(self.theirs)):
            return 0.0
        return abs(self.ours - self.theirs)

    def __str__(self) -> str:
        mark = "ok" if self.agree else "DIFFERENT"
        return (f"{self.kind:5} {self.name:24} microgrant {self.ours:<24.17g} "
                f"torch {self.theirs:<24.17g} {mark}")


@dataclass(frozen=True)
class CheckResult:
    """What `check` found: one row per value and per gradient; true when all agree.

    Attributes:
        rows: the comparisons, forward values first (inputs before outputs), then gradients.
        rtol, atol: the tolerance: ``|ours - theirs| <= atol + rtol * |theirs|``.
        error: microgrant's or PyTorch's error message when one of them could not compute
            the gradients (then only the forward values are compared), else ``""``.
    """

    rows: tuple[CheckRow, ...]
    rtol: float
    atol: float
    error: str = ""

    def __bool__(self) -> bool:
        return not self.error and all(row.agree for row in self.rows)

    @property
    def failures(self) -> list[CheckRow]:
        """The rows where microgrant and PyTorch disagree."""
        return [row for row in self.rows if not row.agree]

    @property
    def largest_difference(self) -> float:
        """The largest ``|ours - theirs|`` over all rows."""
        return max((row.difference for row in self.rows), default=0.0)

    def _summary(self) -> str:
        values = sum(row.kind == "value" for row in self.rows)
        grads = len(self.rows) - values
        verdict = "agree" if self else "DISAGREE"
        return (f"microgrant and PyTorch {verdict}: {values} values and {grads} gradients "
                f"compared, largest difference {self.largest_difference:.3g}")

    def __repr__(self) -> str:
        return f"<CheckResult: {self._summary()}>"

    def __str__(self, limit: int = 40) -> str:
        lines = [self._summary()]
        if self.error:
            lines.append(f"gradients not compared: {self.error}")
        if len(self.rows) <= limit:
            shown = list(self.rows)
        else:  # the disagreements, or else the closest calls
            shown = self.failures[:limit] or sorted(self.rows, key=lambda r: -r.difference)[:5]
        lines += [str(row) for row in shown]
        if len(shown) < len(self.rows):
            lines.append(f"({len(self.rows) - len(shown)} more rows not shown)")
        return "\n".join(lines)


def _agree(ours: float, theirs: float, rtol: float, atol: float) -> bool:
    if math.isnan(ours) or math.isnan(theirs):
        return math.isnan(ours) and math.isnan(theirs)
    if ours == theirs:
        return True
    return abs(ours - theirs) <= atol + rtol * abs(theirs)


def check(root: Value, rtol: float = 1e-10, atol: float = 1e-12) -> CheckResult:
    """Replays the graph of ``root`` in PyTorch and compares every number with microgrant's.

    Each leaf becomes a float64 tensor (taking a gradient where the leaf does), each op node
    its op's PyTorch counterpart (``OPS[op].torch``); then PyTorch's forward numbers are
    compared with every node's ``data``, and PyTorch's gradients of ``root`` with microgrant's
    (`microgrant.autodiff.backward_pass`) for every node and every leaf that takes one.
    ``.grad`` is not touched.

    Args:
        root: the output of any graph of Values.
        rtol, atol: how close counts as agreeing: ``|ours - theirs| <= atol + rtol*|theirs|``.

    Returns:
        A `CheckResult`: true when every number agrees; its ``str`` is a table.

    Raises:
        ImportError: PyTorch is not installed.

    >>> torch = __import__("pytest").importorskip("torch")
    >>> x, y = Value(0.5, label="x"), Value(-2.0, label="y")
    >>> result = check((x * y).tanh() + x ** 3)
    >>> bool(result), len(result.rows)    # 4 op nodes' values, their 4 grads and x's and y's
    (True, 10)
    """
    if not isinstance(root, Value):
        raise TypeError(f"check needs a Value (the output of a graph); got {type(root).__name__}")
    rtol, atol = checks.nonnegative(rtol, "rtol"), checks.nonnegative(atol, "atol")
    torch = _torch()
    order = topological_order(root)
    leaves = _leaves(root, order)
    names = {v: v.label or f"leaf #{i}" for i, v in enumerate(leaves)}
    names.update({v: v.label or f"{v.op} #{i}" for i, v in enumerate(order)})
    with torch.enable_grad():
        tensors = {v: torch.tensor(v.data, dtype=torch.float64, requires_grad=v.requires_grad)
                   for v in leaves}
        for node in order:
            t = OPS[node.op].torch(torch, tuple(tensors[x] for x in node.inputs), node.arg)
            if t.requires_grad:
                t.retain_grad()
            tensors[node] = t
        rows = [CheckRow(names[v], "value", v.data, tensors[v].item(),
                         _agree(v.data, tensors[v].item(), rtol, atol)) for v in order]
        error = ""
        if root.requires_grad:
            try:
                ours = backward_pass(root).grads
                tensors[root].backward()
            except (ArithmeticError, ValueError, RuntimeError) as failure:
                error = str(failure)
            else:
                for v in [*reversed(order), *leaves]:
                    if v.requires_grad:
                        t_grad = tensors[v].grad
                        theirs = 0.0 if t_grad is None else t_grad.item()
                        mine = float(_number(ours.get(v, 0.0)))
                        rows.append(CheckRow(names[v], "grad", mine, theirs,
                                             _agree(mine, theirs, rtol, atol)))
    return CheckResult(tuple(rows), rtol, atol, error)


def _number(g) -> float:
    return g.data if isinstance(g, Value) else g


def _leaves(root: Value, order: list[Value]) -> list[Value]:
    """Every leaf ``root`` depends on, each once, in the order the graph first uses them."""
    if not root.inputs:
        return [root]
    seen: set = set()
    leaves = []
    for node in order:
        for x in node.inputs:
            if not x.inputs and x not in seen:
                seen.add(x)
                leaves.append(x)
    return leaves
