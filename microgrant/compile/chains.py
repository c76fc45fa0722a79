"""chains: a chain of additions, as Python's ``sum`` and ``+=`` loops build it, as one sum.

``sum(terms)`` adds one term at a time: ``((0 + t1) + t2) + t3``, a chain of ``add`` nodes as
deep as there are terms, one level (and one array operation) each.  A replay may add the terms
of a chain in one reduction instead, in the same order, so the result is the same float: the
chain's last node becomes a ``sum`` of all its terms, and the nodes inside the chain, used by
nothing else, are not computed at all.
"""

from __future__ import annotations

__all__ = ["collapse"]


def collapse(order: list, watched: set) -> tuple[list, dict]:
    """The nodes left to compute, and {chain's last node: its terms, in order}.

    An ``add`` node whose first input is an ``add`` node used once (by it) and watched by no
    guard continues that chain.
    """
    uses: dict = {}
    for node in order:
        for x in node.inputs:
            if x.op:
                uses[x] = uses.get(x, 0) + 1
    terms: dict = {}
    inner: set = set()
    for node in order:
        if node.op != "add":
            continue
        first, second = node.inputs
        if (first.op == "add" and uses.get(first) == 1 and first not in watched
                and first is not second):
            terms[node] = terms.pop(first, list(first.inputs)) + [second]
            inner.add(first)
    # A chain takes in at least two additions (three terms): every inner node is in one.
    chains = {node: tuple(t) for node, t in terms.items()}
    return [n for n in order if n not in inner], chains
