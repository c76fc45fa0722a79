"""The pictures as a learner sees them, read back from Graphviz's SVG: every edge touches the two
nodes it joins, a layer's neurons come in order, nothing is named by an anonymous id where a name
can be found, weights are readable, a highlighted step shows, and pictures keep a sane shape."""

from __future__ import annotations

import html
import math
import re
import xml.etree.ElementTree as ET

import pytest

from microgrant import Value, viz
from microgrant.viz import dot, layout, structure, trace

nn = pytest.importorskip("microgrant.nn")

SVG = "{http://www.w3.org/2000/svg}"
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e-?\d+)?")
RED = dot.HIGHLIGHT
XOR = ([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [0.0, 1.0, 1.0, 0.0])


# ---- the nets drawn ----------------------------------------------------------------------------


def xor_net(loss: str):
    """MLP(2, [4, 4, 1]) on the XOR points, after backward, with its loss made three ways."""
    model = nn.MLP(2, [4, 4, 1], seed=0)
    X, y = XOR
    outputs = [model(x) for x in X]
    if loss == "mse_loss":  # as the losses make it
        from microgrant.losses import mse_loss
        root = mse_loss(outputs, y)
    elif loss == "labelled":  # terms labelled by hand, as the losses label them
        terms = []
        for k, (out, t) in enumerate(zip(outputs, y)):
            term = (out - t) ** 2
            term.label = f"mse[{k + 1}]"
            terms.append(term)
        root = Value.sum(terms) / len(terms)
        root.label = "mse"
    else:  # micrograd's way: nothing labelled but the net
        root = sum((out - t) ** 2 for out, t in zip(outputs, y))
    root.backward()
    return model, outputs, root


LOSSES = ["mse_loss", "labelled", "unlabelled"]


# ---- reading an SVG --------------------------------------------------------------------------


def points(text: str) -> list[tuple[float, float]]:
    numbers = [float(n) for n in NUMBER.findall(text)]
    return list(zip(numbers[::2], numbers[1::2]))


def box(pts) -> tuple[float, float, float, float]:
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    return min(xs), min(ys), max(xs), max(ys)


class Picture:
    """The nodes and edges of a rendered SVG, in its own coordinates.

    A node's *cells* are the boxes a reader sees: stroked polygons (table cells, notes),
    ellipses and circles.  A table's own background is filled but not stroked, and can be
    wider than its rows: an edge ending there ends beside the table, in empty space.
    """

    def __init__(self, svg: bytes):
        self.root = ET.fromstring(svg)
        self.cells: dict[str, list[tuple]] = {}
        self.texts: dict[str, list[str]] = {}
        self.edges: list[dict] = []
        for g in self.root.iter(SVG + "g"):
            title = (g.findtext(SVG + "title") or "").replace("&#45;", "-")
            if g.get("class") == "node":
                cells, shapes = [], []
                for el in g.iter():
                    if el.tag in (SVG + "polygon", SVG + "path"):  # cells; rounded boxes
                        found = box(points(el.get("points") or el.get("d")))
                        shapes.append(found)
                        if el.get("stroke") not in (None, "none", "transparent"):
                            cells.append(found)
                    elif el.tag == SVG + "ellipse":
                        cx, cy, rx, ry = (float(el.get(k)) for k in ("cx", "cy", "rx", "ry"))
                        cells.append((cx - rx, cy - ry, cx + rx, cy + ry))
                # A plaintext node (ŷ) draws no outline: its text is where edges must end.
                for t in g.iter(SVG + "text") if not (cells or shapes) else ():
                    shapes.append(text_box(t))
                self.cells[title] = cells or shapes
                self.texts[title] = [t.text or "" for t in g.iter(SVG + "text")]
            elif g.get("class") == "edge":
                tail, head = title.split("->")
                path = g.find(f".//{SVG}path")
                assert path is not None
                self.edges.append({
                    "id": g.get("id"), "tail": tail.split(":")[0], "head": head.split(":")[0],
                    "line": points(path.get("d")),
                    "arrows": [points(p.get("points")) for p in g.iter(SVG + "polygon")],
                    "stroke": path.get("stroke"),
                    "texts": [t.text or "" for t in g.iter(SVG + "text")]})

    def node_box(self, name: str) -> tuple[float, float, float, float]:
        cells = self.cells[name]
        return (min(c[0] for c in cells), min(c[1] for c in cells),
                max(c[2] for c in cells), max(c[3] for c in cells))

    def centre(self, name: str) -> tuple[float, float]:
        x0, y0, x1, y1 = self.node_box(name)
        return (x0 + x1) / 2, (y0 + y1) / 2

    @staticmethod
    def ends(edge: dict) -> list[tuple[float, float]]:
        """Where an edge meets its tail and its head: the tip of an arrowhead where it has
        one (the arrowhead's point farthest from the path's end it sits on)."""
        line = edge["line"]
        found = [line[0], line[-1]]
        for arrow in edge["arrows"]:
            middle = (sum(p[0] for p in arrow) / len(arrow), sum(p[1] for p in arrow) / len(arrow))
            k = 0 if math.dist(middle, line[0]) <= math.dist(middle, line[-1]) else 1
            found[k] = max(arrow, key=lambda p: math.dist((line[0], line[-1])[k], p))
        return found

    def gap(self, name: str, point) -> float:
        """How far ``point`` lies from the nearest visible cell of node ``name``."""
        best = math.inf
        for x0, y0, x1, y1 in self.cells[name]:
            dx = max(x0 - point[0], 0.0, point[0] - x1)
            dy = max(y0 - point[1], 0.0, point[1] - y1)
            best = min(best, math.hypot(dx, dy))
        return best

    def loose_ends(self, slack: float = 3.0) -> list[str]:
        """The edges with an end that does not touch a visible cell of its node."""
        loose = []
        for edge in self.edges:
            tail, head = self.ends(edge)
            if self.gap(edge["tail"], tail) > slack or self.gap(edge["head"], head) > slack:
                loose.append(edge["id"])
        return loose

    def all_text(self) -> list[str]:
        return [t.text or "" for t in self.root.iter(SVG + "text")]


def text_box(t) -> tuple[float, float, float, float]:
    """A text element's box, from its anchor, font size and length (Helvetica ~0.55 em)."""
    size = float(t.get("font-size", "14"))
    width = 0.55 * size * len(t.text or "")
    x, y = float(t.get("x")), float(t.get("y"))
    anchor = t.get("text-anchor", "start")
    x0 = x - width / 2 if anchor == "middle" else (x - width if anchor == "end" else x)
    return x0, y - size, x0 + width, y + 0.25 * size


def picture(drawing) -> Picture:
    return Picture(drawing.pipe("svg"))


# ---- 1. every edge touches its two nodes -------------------------------------------------------


@pytest.mark.parametrize("loss", LOSSES)
def test_every_edge_of_the_collapsed_view_touches_both_its_nodes(loss):
    _, _, root = xor_net(loss)
    pic = picture(viz.draw(root, view="collapsed"))
    assert len(pic.edges) >= 2 * 4 + 4 * 4 + 4 + 4 + 4  # inputs, weights, terms, the loss
    assert pic.loose_ends() == []


def test_the_checker_sees_an_edge_that_ends_in_empty_space():
    # A table whose second row is far wider than its first: an edge into its first row's port
    # ends at that row; one aimed at the table's (invisible) background is caught.
    source = """digraph { rankdir=LR; node [shape=plain];
      a [label=<<table border="0" cellborder="1" cellspacing="0"><tr><td>a</td></tr></table>>];
      t [label=<<table border="0" cellborder="1" cellspacing="0" bgcolor="white">
        <tr><td>head</td></tr><tr><td>short</td></tr><tr><td>rows</td></tr>
        <tr><td>wide</td><td>row</td><td>of</td><td>cells</td><td>here</td></tr></table>>];
      t -> a; }"""
    pic = Picture(viz.render.render_dot(source, "svg"))
    assert pic.loose_ends() == ["edge1"]


@pytest.mark.parametrize("options", [dict(view="backward", sample=3),
                                     dict(view="forward", sample=1)])
def test_every_edge_of_one_samples_path_touches_both_its_nodes(options):
    _, _, root = xor_net("mse_loss")
    pic = picture(viz.draw(root, **options))
    assert len(pic.edges) > 50
    assert pic.loose_ends() == []


def test_every_edge_of_a_network_picture_ends_at_its_weights_row():
    model = nn.MLP(2, [4, 4, 1], seed=0)
    pic = picture(viz.draw_network(model))
    assert pic.loose_ends() == []
    svg = viz.draw_network(model).pipe("svg").decode()
    rows = Picture(svg.encode())
    for k, layer in enumerate(model.layers):
        for j, neuron in enumerate(layer.neurons):
            name = f"l{k + 1}n{j + 1}"
            # the rows of the neuron's table, top to bottom: the title, w1, w2, ..., b
            texts = rows.texts[name]
            for i, w in enumerate(neuron.w):
                assert f"w{i + 1} {viz.format_number(w.data, 3)}" in texts
            into = [e for e in rows.edges if e["head"] == name]
            assert len(into) == len(neuron.w)
            for edge in into:
                i = int(re.search(r"\d+$", edge["tail"]).group()) if edge["tail"][0] == "x" \
                    else int(re.search(r"n(\d+)$", edge["tail"]).group(1))
                tip = Picture.ends(edge)[1]
                # the cell the edge ends at is the row that lists weight i
                cell = min(rows.cells[name], key=lambda c: math.hypot(
                    max(c[0] - tip[0], 0, tip[0] - c[2]), max(c[1] - tip[1], 0, tip[1] - c[3])))
                row_text = [t for t in _texts_in(svg, name, cell)]
                assert any(t.startswith(f"w{i} ") for t in row_text), (edge["id"], row_text)


def _texts_in(svg: str, node: str, cell) -> list[str]:
    """The texts of node ``node`` whose anchor lies inside ``cell``."""
    root = ET.fromstring(svg)
    found = []
    for g in root.iter(SVG + "g"):
        if g.get("class") == "node" and g.findtext(SVG + "title") == node:
            for t in g.iter(SVG + "text"):
                x, y = float(t.get("x")), float(t.get("y"))
                if cell[0] <= x <= cell[2] and cell[1] <= y <= cell[3]:
                    found.append(t.text or "")
    return found


# ---- 2. neurons in order -----------------------------------------------------------------------


@pytest.mark.parametrize("loss", LOSSES)
def test_each_layers_neurons_are_drawn_top_to_bottom_in_order(loss):
    _, _, root = xor_net(loss)
    pic = picture(viz.draw(root, view="collapsed"))
    columns = [["u_x1", "u_x2"]] + [[f"u_L{k}_n{j}" for j in range(1, 5)] for k in (1, 2)]
    terms = sorted((n for n in pic.cells if re.fullmatch(r"u_(mse_\d+_|term_\d+)", n)),
                   key=lambda n: int(re.search(r"\d+", n).group()))
    assert len(terms) == 4
    for names in columns + [terms]:
        ys = [pic.centre(n)[1] for n in names]
        assert ys == sorted(ys), names
        xs = [pic.centre(n)[0] for n in names]
        assert max(xs) - min(xs) < 40, names  # one column: side by side, not staggered


def test_a_network_picture_draws_inputs_and_neurons_in_order():
    pic = picture(viz.draw_network(nn.MLP(3, [4, 4, 2], seed=1)))
    for names in (["x1", "x2", "x3"], [f"l1n{j}" for j in range(1, 5)],
                  [f"l2n{j}" for j in range(1, 5)], ["l3n1", "l3n2"], ["y1", "y2"]):
        ys = [pic.centre(n)[1] for n in names]
        assert ys == sorted(ys), names


# ---- 3. names, never anonymous ids -------------------------------------------------------------


@pytest.mark.parametrize("loss", LOSSES)
def test_the_collapsed_view_names_every_node(loss):
    _, _, root = xor_net(loss)
    pic = picture(viz.draw(root, view="collapsed"))
    texts = pic.all_text()
    assert not [t for t in texts if re.search(r"(?<![\w.])n\d+\b", t)]
    titles = {name: texts_[0] for name, texts_ in pic.texts.items() if texts_}
    if loss == "unlabelled":
        for k in range(1, 5):
            assert f"(ŷ − y)² [{k}]" in titles.values()
        assert "sum of the 4 terms" in titles.values()
    else:
        for k in range(1, 5):
            assert f"mse[{k}]" in titles.values()
        assert titles["u_mse"] == "mse"
        assert "mean of the 4 terms" in pic.texts["u_mse"]
        assert "(ŷ − y)²" in pic.texts["u_mse_2_"]


def test_a_constant_the_samples_share_stays_a_number_in_the_terms_name():
    model = nn.MLP(2, [3, 1], seed=0)
    X, y = XOR
    root = sum(0.5 * (model(x) - t) ** 2 for x, t in zip(X, y))
    source = viz.to_dot(root, view="collapsed")
    assert "0.5 × (ŷ − y)² [3]" in source


def test_an_unlabelled_loss_numbers_its_samples_in_the_order_it_adds_them():
    model, outputs, root = xor_net("unlabelled")
    t = trace.Trace(root)
    samples = structure.structure_of(t).samples()
    assert structure.structure_of(t).sample_count() == 4
    for k, out in enumerate(outputs):
        assert samples[out] == k + 1
    for z in (v for v in t.values if v.label == "L1.n1.z"):
        # the inputs of sample k's first neuron are sample k's, and are row k of X
        k = samples[z]
        xs = [x.data for x in z.inputs if not x.inputs and samples.get(x) == k]
        assert xs == XOR[0][k - 1]
    for p in model.parameters():
        assert samples[p] == trace.SHARED
    assert root not in samples  # the reduction belongs to no sample
    # 0 + term 1, Python's sum's first step, is the reduction's, not sample 1's
    first = next(v for v in t.values if v.op == "add" and any(
        not x.inputs and x.data == 0.0 for x in v.inputs))
    assert first not in samples
    names = viz.text.display_names(t)
    assert "L1.n2.z[3]" in names.values() and "L3.n1.z[1]" in names.values()


def test_a_graph_without_a_net_has_no_samples():
    x = Value(2.0, label="x")
    assert structure.structure_of(trace.Trace(x * x + x)).samples() == {}


# ---- 4. a highlighted step in the collapsed view ------------------------------------------------


def red_nodes(pic: Picture, svg: str) -> set:
    root = ET.fromstring(svg)
    found = set()
    for g in root.iter(SVG + "g"):
        if g.get("class") == "node" and any(el.get("stroke") == RED for el in g.iter()):
            found.add(g.findtext(SVG + "title"))
    return found


def test_a_highlighted_step_marks_its_neuron_and_edges_in_the_collapsed_view():
    _, _, root = xor_net("mse_loss")
    steps = viz.backward_steps(root)
    samples = structure.structure_of(steps[0].trace).samples()
    step = next(s for s in steps if s.node.label == "L2.n3.z" and samples[s.node] == 2)
    drawing = viz.draw(root, view="collapsed", highlight=step)
    svg = drawing.pipe("svg").decode()
    pic = Picture(svg.encode())
    assert red_nodes(pic, svg) == {"u_L2_n3"}
    red = {(e["tail"], e["head"]) for e in pic.edges if e["stroke"] == RED}
    assert red == {(f"u_L1_n{j}", "u_L2_n3") for j in range(1, 5)}
    assert f"step {step.index + 1}, L2.n3.z[2]" in drawing.source
    # drawing the step itself, in the collapsed view, gives the same picture
    assert step.draw(view="collapsed").source == drawing.source
    # a loss term's step (ŷ − y of sample 3): its node, and the edge from the net's output
    term = next(s for s in steps if samples.get(s.node) == 3 and any(
        x.label == "L3.n1.z" for x in s.node.inputs))
    svg = viz.draw(root, view="collapsed", highlight=term).pipe("svg").decode()
    pic = Picture(svg.encode())
    assert red_nodes(pic, svg) == {"u_mse_3_"}
    assert {(e["tail"], e["head"]) for e in pic.edges if e["stroke"] == RED} == \
        {("u_L3_n1", "u_mse_3_")}
    assert RED not in viz.to_dot(root, view="collapsed")


# ---- 5. readable weights -------------------------------------------------------------------


def text_boxes(svg: bytes) -> list[tuple]:
    """Each text and its box."""
    return [(t.text, text_box(t)) for t in ET.fromstring(svg).iter(SVG + "text")]


def overlapping(boxes) -> list[tuple[str, str]]:
    found = []
    for i, (a, (ax0, ay0, ax1, ay1)) in enumerate(boxes):
        for b, (bx0, by0, bx1, by1) in boxes[i + 1:]:
            if ax0 < bx1 - 1 and bx0 < ax1 - 1 and ay0 < by1 - 1 and by0 < ay1 - 1:
                found.append((a, b))
    return found


@pytest.mark.parametrize("grads", [False, True])
def test_no_two_numbers_of_a_network_picture_overlap(grads):
    model = nn.MLP(2, [4, 4, 1], seed=0)
    if grads:
        X, y = XOR
        sum((model(x) - t) ** 2 for x, t in zip(X, y)).backward()
    svg = viz.draw_network(model).pipe("svg")
    boxes = text_boxes(svg)
    assert sum(1 for text, _ in boxes if re.match(r"w\d ", text or "")) == 2 * 4 + 4 * 4 + 4
    assert overlapping(boxes) == []


def test_the_checker_sees_overlapping_labels():
    source = 'digraph { a -> b [label="w1 0.25"]; a -> b [label="w1 0.25"]; c [label="x"] }'
    boxes = text_boxes(viz.render.render_dot(source, "svg"))
    boxes.append(("copy", boxes[-1][1]))
    assert overlapping(boxes)


# ---- 6. the shape of a picture ---------------------------------------------------------------


def size(drawing) -> tuple[float, float]:
    found = re.search(rb'width="([0-9.]+)pt" height="([0-9.]+)pt"', drawing.pipe("svg"))
    assert found is not None
    return float(found.group(1)), float(found.group(2))


def tanh_chain(n: int) -> Value:
    x = Value(0.3, label="x")
    v = x
    for _ in range(n):
        v = v.tanh()
    v.backward()
    return v


def fan_out(n: int, op: str) -> Value:
    x = Value(0.9, label="x")
    v = x
    for _ in range(n):
        v = v * x if op == "mul" else v + x
    return v


def neuron() -> Value:
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    n = x1 * w1 + x2 * w2 + Value(6.8813735870195432, label="b")
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    o.backward()
    return o


SHAPES = {
    "a neuron, backward": (neuron, "backward"),
    "a chain of 40 tanh": (lambda: tanh_chain(40), "forward"),
    "x*x*...*x, 70 products, backward": (lambda: fan_out(70, "mul"), "backward"),
    "x+x+...+x, 60 terms": (lambda: fan_out(60, "add"), "forward"),
    "XOR net, collapsed": (lambda: xor_net("mse_loss")[2], "collapsed"),
}


@pytest.mark.parametrize("case", SHAPES)
def test_typical_pictures_are_between_1_to_2_and_2_to_1(case):
    build, view = SHAPES[case]
    width, height = size(viz.draw(build(), view=view))
    assert 0.5 <= width / height <= 2.0, (width, height)


def test_a_long_chain_is_wrapped_into_columns_that_read_in_order():
    v = fan_out(70, "mul")
    drawing = viz.draw(v, view="backward")
    source = drawing.source
    columns = int(re.search(r"drawn in (\d+) columns", source).group(1))
    assert 2 <= columns <= layout.WRAP_LIMIT
    pic = picture(drawing)
    assert pic.loose_ends() == []
    # each column ends at a note naming the value that heads the next column
    traced = trace.Trace(v)
    names = {traced.ids[u]: name for u, name in viz.text.display_names(traced).items()}
    notes = re.findall(r'^  (n\d+)_next \[id="n\d+_next".*label=<([^<>]+): at the top of the '
                       r"next column>", source, flags=re.M)
    assert len(notes) == columns - 1 and all(names[a] == b for a, b in notes)
    heads = [pic.centre(a)[0] for a, _ in notes]
    assert heads == sorted(heads)  # the columns left to right, in reading order
    for a, _ in notes:  # and the value it names at the top of the next column
        assert pic.centre(a)[1] < pic.centre(f"{a}_next")[1]
    # every edge id the stepper looks for is still there
    for step in viz.backward_steps(v):
        assert f'id="{step.node_id}_out"' in source
        for i in range(len(step.inputs)):
            assert f'id="{step.node_id}_in{i}"' in source


def test_a_short_picture_stays_left_to_right_and_a_chosen_direction_is_kept():
    x = Value(0.3, label="x")
    assert 'rankdir="LR"' in viz.to_dot(x.tanh() * 2, view="backward")
    v = tanh_chain(40)
    assert "columns" not in viz.to_dot(v, rankdir="TB") and 'rankdir="TB"' in viz.to_dot(
        v, rankdir="TB")
    layout = dot.plan_layout(trace.Trace(v), view="forward")
    assert layout.rankdir == "TB" and layout.columns > 1


def test_boxes_are_never_wrapped_into_columns():
    _, _, root = xor_net("labelled")
    source = viz.to_dot(root, view="backward", group="sample")
    assert "columns" not in source and "constraint" not in source


# ---- 7. what a net's picture calls things ------------------------------------------------------


def test_a_nets_inputs_are_named_by_the_weight_that_multiplies_them():
    _, _, root = xor_net("mse_loss")
    t = trace.Trace(root)
    names = viz.text.display_names(t)
    for k in range(1, 5):
        for i in (1, 2):
            assert f"x{i}[{k}]" in names.values()
    dot = viz.to_dot(root, view="backward", sample=3)
    for i in (1, 2):
        line = next(line for line in dot.splitlines() if f"<b>x{i}[3]</b>" in line)
        assert f"<td>data {viz.format_number(XOR[0][2][i - 1])}</td>" in line
        assert "<i>const</i>" not in line and f"x{i}[3] = " in line
    text = viz.explain(root)
    assert "dmse/dL1.n1.w1" in text  # parameters keep their own names
    assert "L1.n1.z[3] = L1.n1.w1·x1[3] + L1.n1.w2·x2[3] + L1.n1.b" in text


def test_a_power_node_shows_its_exponent():
    x = Value(3.0, label="x")
    dot = viz.to_dot(x ** 2 + x ** -0.5)
    assert 'label=<^2>' in dot and 'label=<^-0.5>' in dot


def test_one_samples_picture_says_a_parameters_grad_is_summed_over_all_samples():
    model, _, root = xor_net("mse_loss")
    dot = viz.to_dot(root, view="backward", sample=2)
    w = model.layers[0].neurons[0].w[0]
    w_line = next(line for line in dot.splitlines()
                  if "<b>L1.n1.w1</b>" in line and line.startswith("  n"))
    assert f"grad {viz.format_number(w.grad)} (all samples)" in w_line
    z_lines = [line for line in dot.splitlines() if "<b>L1.n1.z[2]</b>" in line]
    assert z_lines and "(all samples)" not in z_lines[0]
    assert "whose grads are summed over all samples" in dot
    assert "(all samples)" not in viz.to_dot(root, view="backward")


def test_a_stale_nets_collapsed_view_says_so():
    model, _, root = xor_net("mse_loss")
    for p in model.parameters():
        p.data -= 0.1 * p.grad
    dot = viz.to_dot(root, view="collapsed")
    assert "u_L1_n1" in dot  # still the collapsed view
    assert "changed after it was computed" in dot and "run the forward pass" in dot


def test_a_picture_too_big_for_a_png_says_to_use_svg_or_the_collapsed_view():
    xs = [Value(float(i), label=f"x{i}") for i in range(150)]
    root = Value.sum([x * x for x in xs])
    dot = html.unescape(viz.to_dot(root, rankdir="LR"))
    assert "as a PNG it is scaled down" in dot and "SVG" in dot and 'view="collapsed"' in dot
    assert layout.png_hint((600.0, 400.0)) is None
    assert "12,000 x 4,000 px" in layout.png_hint((9000.0, 3000.0))
    small = viz.to_dot(Value(2.0, label="a") * 3)
    assert "PNG" not in small


def test_a_neuron_with_many_weights_names_each_on_its_edge():
    model = nn.MLP(20, [2, 1], seed=0)
    out = model([0.1 * i for i in range(20)])
    out.backward()
    dot = viz.to_dot(out, view="collapsed")
    assert "L1.n2.w17 " in dot  # more than LISTED_WEIGHTS: named in full on the edge
    assert 'port="w17"' not in dot
    assert 'port="w2"' in dot  # the output neuron's two weights are listed in its node


# ---- 8. a fresh graph is never called stale ------------------------------------------------


def test_no_fresh_graph_is_called_stale():
    from microgrant import OPS, losses
    x, y = Value(0.7, label="x"), Value(1.3, label="y")
    for name, op in OPS.items():
        for inputs in ([x], [x, y], [x, y, Value(-0.4)]):
            if op.arity not in (0, len(inputs)) or (name == "dot" and len(inputs) != 2):
                continue
            arg = 0.3 if name in ("pow", "leaky_relu") else None
            if name == "dot":
                node = Value.dot([x], [y])
            elif name == "sum":
                node = Value.sum(inputs)
            elif name == "pick":
                node = Value.pick(inputs, 0)
            else:
                node = _apply(name, inputs, arg)
            if node is not None:
                assert trace.Trace(node).stale is None, name
    model, _, root = xor_net("mse_loss")
    assert trace.Trace(root).stale is None
    outs = [model(p) for p in XOR[0]]
    for loss in (losses.binary_cross_entropy([o.sigmoid() for o in outs], XOR[1]),
                 losses.hinge_loss(outs, [2 * t - 1 for t in XOR[1]])):
        assert trace.Trace(loss).stale is None


def _apply(name: str, inputs: list, arg):
    """``name`` applied through Value's own methods and operators (None where it has none)."""
    a = inputs[0]
    b = inputs[1] if len(inputs) > 1 else None
    binary = {"add": lambda: a + b, "sub": lambda: a - b, "mul": lambda: a * b,
              "div": lambda: a / b, "vpow": lambda: a ** b}
    if name in binary:
        return binary[name]() if b is not None else None
    if name == "neg":
        return -a
    if name == "pow":
        return a ** arg
    if name == "leaky_relu":
        return a.leaky_relu(arg)
    method = getattr(a, name, None)
    return method() if callable(method) else None
