"""A correct topological order, found by recursion: deep graphs exceed Python's limit."""

from lecture import Value as Lecture


class Value(Lecture):
    """The lecture's engine with a recursive `build_topo`."""

    def topological_order(self):
        order, seen = [], set()

        def build_topo(node):
            if node not in seen:
                seen.add(node)
                for child in node._prev:
                    build_topo(child)
                order.append(node)
        build_topo(self)
        return order
