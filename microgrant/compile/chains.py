"""chains: a chain of additions, as Python's ``sum`` and ``+=`` loops build it, as one sum.

``sum(terms)`` adds one term at a time: ``((0 + t1) + t2) + t3``, a chain of ``add`` nodes as
deep as there are terms, one level (and one array operation) each.  A replay may add the terms
of a chain in one reduction instead, in the same order, so the result is the same float: the
chain's last node becomes a ``sum`` of all its terms, and the nodes inside the chain, used by
nothing else, are not computed at all.
"""

from __future__ import annotations

__all__ = ["collapse"]


def collapse(order: list, inputs: dict, watched: set) -> tuple[list, dict]:
    """The nodes left to compute, and {chain's last node: its terms, in order}.

    An ``add`` node whose first input is an ``add`` node used once (by it) and watched by no
    guard continues that chain.  ``inputs`` holds each node's inputs (``node.inputs``); it is
    updated to the replay's: a chain's last node takes its terms, and its inner nodes go.

    >>> from microgrant import Value
    >>> a, b, c = Value(1.0), Value(2.0), Value(3.0)
    >>> ab = a + b
    >>> total = ab + c
    >>> inputs = {ab: ab.inputs, total: total.inputs}
    >>> left, chains = collapse([ab, total], inputs, set())
    >>> left == [total], chains[total] == (a, b, c), list(inputs) == [total]
    (True, True, True)
    >>> inputs[total] == (a, b, c)
    True
    """
    adds = [node for node in order if node.op == "add"]
    # The adds that may be inside a chain: the first input of an add, watched by no guard.
    inside = {first for first, second in map(inputs.__getitem__, adds)
              if first.op == "add" and first is not second and first not in watched}
    if not inside:
        return order, {}
    # How many times each is used: only the nodes that take one of them are looked into.
    uses = dict.fromkeys(inside, 0)
    for node in order:
        taken = inputs[node]
        if not inside.isdisjoint(taken):
            for x in taken:
                if x in uses:
                    uses[x] += 1
    terms: dict = {}
    inner: set = set()
    for node in adds:
        first, second = inputs[node]
        if uses.get(first) == 1:
            chain = terms.pop(first, None) or list(inputs[first])
            chain.append(second)
            terms[node] = chain
            inner.add(first)
    # A chain takes in at least two additions (three terms): every inner node is in one.
    chains = {node: tuple(t) for node, t in terms.items()}
    for node in inner:
        del inputs[node]
    inputs.update(chains)  # (in place: each keeps its position, in order)
    return [n for n in order if n not in inner], chains
