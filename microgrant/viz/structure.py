"""The second stage of seeing backprop: what a net's labels say about its values.

Backprop needs no names, but a learner does.  `microgrant.nn` and the losses label what they
make (`microgrant.labels`: ``L1.n2.z``, ``mse[3]``), and from those labels a `Structure` reads,
once per trace:

* each value's *group*, its neuron (``L1.n2``), and the group's layer;
* the *sample* each value was made for: the ancestors of sample k's loss term (``mse[3]``) that
  no other term reaches, or, where the terms are unlabelled, the values of the k-th call of the
  net; values several samples share (the parameters) are `SHARED`;
* the net's *inputs*: the leaves a weight ``w1`` multiplies, named ``x1`` (``x1[3]`` for
  sample 3's) though nothing labelled them.

Nothing here draws or formats; `text` and `dot` read it.  Nothing recurses over the graph.
"""

from __future__ import annotations

from ..engine import Value
from ..labels import group_of, input_name, is_bias, layer_of, split_index, weight_index
from .trace import SHARED, Trace

__all__ = ["Structure", "structure_of", "SHARED"]


def structure_of(trace: Trace) -> Structure:
    """The `Structure` of ``trace``, worked out once per trace and kept in ``trace.derived``.

    >>> from microgrant import Value
    >>> w = Value(0.5, label="w")
    >>> terms = [(w * x) ** 2 for x in (1.0, 2.0)]
    >>> terms[0].label, terms[1].label = "mse[1]", "mse[2]"
    >>> t = Trace(Value.sum(terms))
    >>> s = structure_of(t)
    >>> s.samples()[terms[1].inputs[0]], s.samples()[w], s is structure_of(t)
    (2, -1, True)
    """
    found = trace.derived.get("structure")
    if found is None:
        found = trace.derived["structure"] = Structure(trace)
    return found


class Structure:
    """Neurons, layers, samples and inputs of one trace, read from its labels (see the module).

    Each question is answered once, on first need.
    """

    def __init__(self, trace: Trace):
        self.trace = trace
        self._samples: dict[Value, int] | None = None
        self._groups: dict[Value, str] | None = None
        self._inputs: dict[Value, int] | None = None
        self._consumers: dict[Value, list[Value]] | None = None

    def consumers(self) -> dict[Value, list[Value]]:
        """Value -> the op nodes that read it, once per input slot, in topological order."""
        if self._consumers is None:
            found: dict[Value, list[Value]] = {}
            for node in self.trace.order:
                for x in node.inputs:
                    found.setdefault(x, []).append(node)
            self._consumers = found
        return self._consumers

    # ---- neurons and layers ----------------------------------------------------------------

    def groups(self) -> dict[Value, str]:
        """Value -> its group (neuron), ``"L1.n2"``: its label up to the last dot.

        An unlabelled op node whose consumers all belong to one group joins it (the products
        ``w * x`` inside a neuron's weighted sum); anything else has no group (absent).
        """
        if self._groups is None:
            group: dict[Value, str] = {}
            consumers = self.consumers()
            for v in reversed(self.trace.values):  # consumers before their inputs
                if v.label:
                    found_group = group_of(v.label)
                    if found_group is not None:
                        group[v] = found_group
                    continue
                if not v.inputs:
                    continue
                found = {group.get(c, "") for c in consumers.get(v, ())}
                if len(found) == 1 and "" not in found:
                    group[v] = found.pop()
            self._groups = group
        return self._groups

    def layer(self, v: Value) -> int | None:
        """The layer (1-based) of ``v``'s group, from a label such as ``L2.n1.z``."""
        return layer_of(self.groups().get(v, ""))

    def is_weight(self, v: Value) -> bool:
        """Whether ``v`` is a weight of a neuron (a leaf labelled ``L1.n2.w1``)."""
        return not v.inputs and v in self.groups() and weight_index(v.label) is not None

    def is_bias(self, v: Value) -> bool:
        """Whether ``v`` is a neuron's bias (a leaf labelled ``L1.n2.b``)."""
        return not v.inputs and v in self.groups() and is_bias(v.label)

    def weight_for(self, node: Value, i: int) -> Value | None:
        """The weight input ``i`` of ``node`` is multiplied by (w·x + b, or w × x)."""
        inputs = node.inputs
        if node.op == "dot":
            n = len(inputs) // 2
            partner = inputs[i - n] if n <= i < 2 * n else None
        elif node.op == "mul":
            partner = inputs[1 - i]
        else:
            partner = None
        return partner if partner is not None and self.is_weight(partner) else None

    def inputs(self) -> dict[Value, int]:
        """The net's inputs: each leaf a weight ``w_i`` multiplies -> ``i`` (so it is ``x_i``)."""
        if self._inputs is None:
            groups = self.groups()
            found: dict[Value, int] = {}
            for node in self.trace.order:
                if node not in groups:
                    continue
                for i, x in enumerate(node.inputs):
                    w = self.weight_for(node, i)
                    if w is not None and not x.inputs and x not in groups:
                        index = weight_index(w.label)
                        assert index is not None  # is_weight said so
                        found.setdefault(x, index)
            self._inputs = found
        return self._inputs

    def input_name(self, v: Value) -> str | None:
        """``x1[3]`` for sample 3's input 1 (``x1`` without samples); None if no input."""
        i = self.inputs().get(v)
        if i is None:
            return None
        k = self.samples().get(v)
        return input_name(i, k if k is not None and k != SHARED else None)

    # ---- samples ---------------------------------------------------------------------------

    def samples(self) -> dict[Value, int]:
        """Value -> the sample (1-based) it was made for; `SHARED` for values several share.

        Samples are read from the loss terms' labels: an op node labelled ``name[k]``
        (``mse[3]``) is sample k's term, and its ancestors that no other term reaches belong
        to sample k.  Values no term reaches (the reduction into the loss) are absent.

        Without such labels a net's own labels still tell the samples apart: each call of the
        net makes its output (``L3.n1.a``) once, so the k-th output the loss reaches (reading
        its inputs left to right, as ``sum`` adds them) is sample k's; see `_net_samples`.
        """
        if self._samples is None:
            sample: dict[Value, int] = {}
            for v in self.trace.values:
                found = split_index(v.label) if v.inputs and v.label else None
                if found is not None:
                    _claim(v, found[1], sample)
            self._samples = sample if sample else self._net_samples()
        return self._samples

    def sample_count(self) -> int:
        """How many samples the loss terms' labels number (0 when there are none)."""
        found = [k for k in self.samples().values() if k != SHARED]
        return max(found) if found else 0

    def sample_values(self, sample: int) -> set:
        """What sample ``sample`` makes, with the values it shares with the others.

        Raises:
            ValueError: when the loss has no such sample.
        """
        samples = self.samples()
        if self.sample_count() < sample:
            raise ValueError(f"sample must be one of the loss's samples, 1 to "
                             f"{self.sample_count()} (from loss terms labelled like 'mse[1]', "
                             f"or from the net's calls); got {sample}")
        return {v for v in self.trace.values if samples.get(v, sample) in (sample, SHARED)}

    def boxes(self, keep, level: str) -> dict:
        """Value -> the boxes a picture gathers it in, outermost first:
        ``(("sample", 3), ("layer", 1), ("neuron", "L1.n2"))``, down to ``level``."""
        samples = self.samples()
        groups = self.groups()
        paths: dict[Value, tuple] = {}
        for v in self.trace.values:
            if keep is not None and v not in keep:
                continue
            path: list[tuple] = []
            k = samples.get(v)
            if k is not None and k != SHARED:
                path.append(("sample", k))
            if level in ("layer", "neuron"):
                layer = self.layer(v)
                if layer is not None:
                    path.append(("layer", layer))
                if level == "neuron" and v in groups:
                    path.append(("neuron", groups[v]))
            if path:
                paths[v] = tuple(path)
        return paths

    def _net_samples(self) -> dict[Value, int]:
        """Samples read from a net's repeated labels, for a loss whose terms are unlabelled.

        The net's output value (the first op node of the highest layer, ``L3.n1.a``) is made
        once per sample.  Numbered in the order the loss reads them, the k-th output and every
        value that depends on it alone is sample k (the rest of the net, the term); then,
        consumers before inputs, a value all of whose consumers belong to sample k is sample
        k too (the net's inner values, the inputs, the targets), and one that several
        samples use is `SHARED` (the parameters).  Values that depend on several outputs are
        the reduction into the loss: absent.  Fewer than two outputs: no samples.
        """
        trace = self.trace
        best: tuple[int, str] | None = None
        for v in trace.values:
            k = layer_of(v.label) if v.inputs and v.label else None
            if k is not None and (best is None or k > best[0]):
                best = (k, v.label)
        if best is None:
            return {}
        outputs = {v for v in trace.values if v.inputs and v.label == best[1]}
        if len(outputs) < 2:
            return {}
        below = _below_outputs(trace, _number_outputs(trace.root, outputs))
        sample = {v: k for v, k in below.items() if k != _MANY}
        consumers = self.consumers()
        for v in reversed(trace.values):
            if v in below:
                continue
            used: set[int] = set()
            outside = False  # also used by a value of no sample (the reduction)
            for c in consumers.get(v, ()):
                k = sample.get(c)
                if k is None:
                    outside = True
                else:
                    used.add(k)
            if len(used) == 1 and not outside:
                sample[v] = used.pop()
            elif used:
                sample[v] = SHARED
        return sample


_MANY = 0  # a value that depends on several of the net's outputs (the loss's reduction)


def _number_outputs(root: Value, outputs: set) -> dict[Value, int]:
    """Each of the net's outputs numbered 1, 2, ... in the order the loss reads them."""
    numbers: dict[Value, int] = {}
    seen = {root}
    stack = [root]
    while stack:  # depth first, inputs left to right
        u = stack.pop()
        if u in outputs:
            numbers[u] = len(numbers) + 1
            continue
        for x in reversed(u.inputs):
            if x not in seen:
                seen.add(x)
                stack.append(x)
    return numbers


def _below_outputs(trace: Trace, numbers: dict[Value, int]) -> dict[Value, int]:
    """Each op node that depends on the outputs: its sample, or `_MANY`."""
    below: dict[Value, int] = {}
    for node in trace.order:
        if node in numbers:
            below[node] = numbers[node]
            continue
        found_k = {below[x] for x in node.inputs if x in below}
        if len(found_k) == 1 and not _starts_a_sum(node):
            below[node] = found_k.pop()
        elif found_k:
            below[node] = _MANY
    return below


def _claim(term: Value, k: int, sample: dict) -> None:
    """Marks ``term`` and its ancestors as sample ``k``'s, those another term reaches shared."""
    stack = [term]
    while stack:
        u = stack.pop()
        had = sample.get(u)
        if had is None:
            sample[u] = k
        elif had == k or had == SHARED:
            continue
        else:
            # Reached from two terms: shared, and so is everything it depends on.
            _mark_shared(u, sample)
            continue
        stack.extend(u.inputs)


def _starts_a_sum(node: Value) -> bool:
    """Whether ``node`` is ``0 + term``: Python's ``sum`` starts from 0, so its first step is
    the reduction's, not part of the first sample's term."""
    return node.op == "add" and any(not x.inputs and x.grad is None and x.data == 0.0
                                    for x in node.inputs)


def _mark_shared(start: Value, sample: dict) -> None:
    """Marks ``start`` and everything it depends on as shared by several samples."""
    stack = [start]
    while stack:
        u = stack.pop()
        if sample.get(u) == SHARED:
            continue
        sample[u] = SHARED
        stack.extend(u.inputs)
