"""microgrant.viz as a pipeline: one trace per call, names from the net, structure, bounded layouts,
quiet rendering, long and ill-formed labels, and the stepper's payload."""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
import urllib.parse
import xml.etree.ElementTree as ET

import pytest

from microgrant import Value, viz
from microgrant.viz import dot, trace

# The function viz.stepper shadows its module's name on the package; the module itself:
stepper_module = importlib.import_module("microgrant.viz.stepper")

SVG = "{http://www.w3.org/2000/svg}"


def xor_loss(hidden=(4, 4), points=4):
    """MLP(2, [*hidden, 1]) over the XOR points with mse, loss terms labelled mse[k]."""
    nn = pytest.importorskip("microgrant.nn")
    model = nn.MLP(2, [*hidden, 1], seed=0)
    X = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]][:points]
    y = [0.0, 1.0, 1.0, 0.0][:points]
    terms = []
    for k, (x, t) in enumerate(zip(X, y)):
        term = (model(x) - t) ** 2
        term.label = f"mse[{k + 1}]"
        terms.append(term)
    loss = Value.sum(terms) / len(terms)
    loss.label = "mse"
    return model, loss


# ---- one trace, one replay ------------------------------------------------------------------


def test_stepping_through_every_step_traces_and_replays_once(monkeypatch):
    _, loss = xor_loss()
    traced, replayed = [], []
    real_init, real_pass = trace.Trace.__init__, trace.backward_pass

    def counting_init(self, root):
        traced.append(root)
        real_init(self, root)

    def counting_pass(root, *args, **kwargs):
        replayed.append(root)
        return real_pass(root, *args, **kwargs)

    monkeypatch.setattr(trace.Trace, "__init__", counting_init)
    monkeypatch.setattr(trace, "backward_pass", counting_pass)
    steps = viz.backward_steps(loss)
    sources = [step.draw().source for step in steps]
    assert len(steps) > 50
    assert len(traced) == 1 and len(replayed) == 1
    # each picture highlights its own step, in red
    assert all(f'id="{s.node_id}_op", ' in src and "#d62728" in src
               for s, src in zip(steps[:3], sources[:3]))


def test_a_stepper_page_works_out_names_structure_and_equations_once(monkeypatch):
    from microgrant.viz import structure, text
    _, loss = xor_loss()
    calls: dict[str, int] = {}

    def counted(module, name):
        real = getattr(module, name)

        def wrapper(*args, **kwargs):
            calls[name] = calls.get(name, 0) + 1
            return real(*args, **kwargs)
        monkeypatch.setattr(module, name, wrapper)

    counted(text, "_names")
    counted(text, "_equations")
    counted(structure, "Structure")
    counted(trace, "_find_stale")
    page = viz.stepper(loss, max_nodes=None)
    assert len(page.data["steps"]) > 50
    assert calls == {"_names": 1, "_equations": 1, "Structure": 1, "_find_stale": 1}


def test_the_forward_view_never_replays_backprop(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the forward view ran backprop")

    monkeypatch.setattr(trace, "backward_pass", refuse)
    x = Value(2.0, label="x")
    assert "data 4" in viz.to_dot(x * x)


def test_the_pipeline_modules_import_only_down_the_pipeline():
    import ast
    from pathlib import Path
    order = ["trace", "structure", "text", "quoting", "layout", "collapsed", "dot", "lecture",
             "layout_job", "render", "steps", "embed", "stepper"]
    folder = Path(viz.__file__).parent
    for k, name in enumerate(order):
        tree = ast.parse((folder / f"{name}.py").read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                assert node.module in order[:k], f"{name} imports .{node.module}"


# ---- names ----------------------------------------------------------------------------------


def test_values_of_a_net_are_named_by_neuron_and_sample():
    _, loss = xor_loss()
    t = trace.Trace(loss)
    names = viz.text.display_names(t)
    shown = set(names.values())
    for k in range(1, 5):
        assert f"L1.n2.z[{k}]" in shown and f"L2.n4.a[{k}]" in shown and f"mse[{k}]" in shown
    # parameters are shared by every sample: their names carry none
    assert "L1.n2.w1" in shown and "L3.n1.b" in shown and "L1.n2.w1[1]" not in shown
    labelled = [names[v] for v in t.values if v.label]
    assert len(set(labelled)) == len(labelled)  # unambiguous
    text = viz.explain(loss)
    assert "L1.n2.z[3] = " in text and "dmse/dL1.n2.w1 = " in text


def test_draw_group_puts_each_neuron_of_each_sample_in_a_box():
    _, loss = xor_loss()
    source = viz.to_dot(loss, view="backward", group=True)
    labels = re.findall(r"label=<([^>]*)>; color=\"#bbbbbb\"", source)
    assert "sample 3" in labels and "layer 2" in labels and "L2.n1" in labels
    assert source.count("subgraph cluster_") == len(labels)
    by_sample = viz.to_dot(loss, view="forward", group="sample")
    assert re.findall(r"label=<([^>]*)>; color", by_sample) == \
        [f"sample {k}" for k in range(1, 5)]  # in the samples' order
    with pytest.raises(ValueError, match="'neuron', 'layer', 'sample'"):
        viz.to_dot(loss, group="column")
    assert viz.draw(loss, view="backward", group="layer").pipe("svg").startswith(b"<?xml")


def test_sample_draws_one_samples_path_with_the_shared_parameters():
    model, loss = xor_loss()
    drawing = viz.draw(loss, view="backward", sample=3)
    src = drawing.source
    assert "<b>L1.n2.z[3]</b>" in src and "<b>mse[3]</b>" in src
    assert "L1.n2.z[1]" not in src and "mse[2]" not in src
    for p in model.parameters():
        assert f"<b>{p.label}</b>" in src
    assert "sample=3 draws one sample" in src
    with pytest.raises(ValueError, match="1 to 4"):
        viz.to_dot(loss, sample=5)
    with pytest.raises(TypeError, match="sample"):
        viz.to_dot(loss, sample="3")


def test_the_collapsed_view_draws_a_neuron_per_node():
    model, loss = xor_loss()
    loss.backward()
    src = viz.to_dot(loss, view="collapsed")
    nodes = re.findall(r"^  (u_\w+) \[", src, flags=re.M)
    neurons = [f"L{k}.n{j}" for k, n in ((1, 4), (2, 4), (3, 1)) for j in range(1, n + 1)]
    expected = {dot.attributes([]) or "u_" + n.replace(".", "_") for n in neurons}
    assert expected <= set(nodes)
    assert {"u_x1", "u_x2", "u_mse", "u_mse_3_"} <= set(nodes)
    assert len(nodes) == len(neurons) + 2 + 4 + 1  # inputs, loss terms, the loss
    # one edge per weight, however many samples use it, ending at the row of the neuron's
    # node that lists the weight and its grad, so each number is matched to its edge
    w = model.layers[1].neurons[2].w[0]
    edge = next(line for line in src.splitlines() if "u_L1_n1__u_L2_n3" in line)
    assert edge.startswith("  u_L1_n1:e -> u_L2_n3:w1:w [")
    assert src.count("__u_L2_n3") == 4
    node = next(line for line in src.splitlines() if line.startswith("  u_L2_n3 ["))
    assert (f'port="w1">w1 {viz.format_number(w.data)} · grad '
            f'{viz.format_number(w.grad)}</td>') in node
    # z and a of each sample, with their grads, on the neuron's node
    assert node.count("[3]") == 1 and "z " in node and "a " in node and "grad" in node
    assert viz.draw(loss, view="collapsed").pipe("svg").startswith(b"<?xml")


def test_the_collapsed_view_of_a_graph_without_neurons_says_so():
    x = Value(2.0, label="x")
    src = viz.to_dot(x * x + x, view="collapsed")
    assert "no neurons here" in src and "grad " in src


# ---- layouts that never hang ---------------------------------------------------------------


def out_degrees(source: str) -> dict:
    degrees: dict = {}
    for tail in re.findall(r"^\s*(\w+) -> \w+ \[", source, flags=re.M):
        degrees[tail] = degrees.get(tail, 0) + 1
    return degrees


@pytest.mark.parametrize("op", ["mul", "add"])
def test_a_value_used_by_many_ops_is_drawn_with_copies(op):
    x = Value(0.9, label="x")
    v = x
    for _ in range(70):
        v = v * x if op == "mul" else v + x
    source = viz.to_dot(v, view="backward")
    # the long edges from x to every rank are what made the layout take minutes
    heads = set(re.findall(r"^  n0 -> (\w+) \[", source, flags=re.M))
    assert len(heads) == 1  # drawn in full at its first use only
    assert len(re.findall(r'^  n0_at_n\d+ \[id="n0_at_n\d+", shape="box"', source,
                          flags=re.M)) == 69
    assert "used by more than 3 ops is drawn once in full" in source
    # every edge id the stepper looks for is still there
    for step in viz.backward_steps(v):
        for i in range(len(step.inputs)):
            assert f'id="{step.node_id}_in{i}"' in source
    assert viz.draw(v, view="backward").pipe("svg").startswith(b"<?xml")


def test_many_edges_from_one_value_into_one_op_are_drawn_as_one():
    x = Value(2.0, label="x")
    y = Value.sum([x] * 10)
    source = viz.to_dot(y, view="backward")
    assert source.count("n0 -> n1_op") == 1
    assert "10 uses, local 10 in all" in source
    assert "x * x" and viz.to_dot(x * x).count("n0 -> n1_op") == 2  # two stay two


def test_a_long_chain_is_laid_out_top_to_bottom():
    x = Value(0.3, label="x")
    v = x
    for _ in range(12):
        v = v.tanh()
    assert 'rankdir="TB"' in viz.to_dot(v)
    assert 'rankdir="LR"' in viz.to_dot(v, rankdir="LR")  # asked for, it is kept
    assert 'rankdir="LR"' in viz.to_dot(x.tanh() * 2)     # short pictures stay as they were


# ---- quiet, long labels, ill-formed characters --------------------------------------------


def test_rendering_writes_nothing_on_stderr(tmp_path):
    script = ("from microgrant import Value, viz\n"
              "x = Value(2.0, label='x')\n"
              "y = (x * x).tanh()\n"
              "viz.draw(y, view='backward').pipe('png')\n"
              "viz.draw(y).pipe('svg')\n"
              "viz.draw_network(__import__('microgrant.nn').nn.MLP(2, [3, 1], seed=0))"
              ".pipe('png')\n"
              "print('drawn')\n")
    env = {k: v for k, v in __import__("os").environ.items() if k != "FONTCONFIG_FILE"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "drawn"
    assert done.stderr == ""


@pytest.mark.parametrize("view", ["forward", "backward"])
@pytest.mark.parametrize("length", [5_000, 20_000])
def test_long_labels_are_shortened_in_pictures_never_refused(view, length):
    x = Value(1.5, label="x" * length)
    y = (x * 2).tanh()
    y.label = "y" * length
    svg = viz.draw(y, view=view).pipe("svg")
    root = ET.fromstring(svg)
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    assert any(t.startswith("xxxx") and t.endswith("…") for t in texts)
    assert max(len(t) for t in texts) < 200
    assert "x" * length not in viz.explain(y) or True  # text keeps the whole name
    assert "x" * length in viz.explain(y)


@pytest.mark.parametrize("char", ["\ufffe", "\uffff", "\ufdd0", "\U0001fffe", "\x0b"])
def test_characters_xml_forbids_never_reach_the_svg(char):
    x = Value(1.0, label=f"a{char}b")
    y = x * x
    y.label = f"out{char}"
    for view in ("forward", "backward"):
        svg = viz.draw(y, view=view).pipe("svg")
        root = ET.fromstring(svg)  # well-formed XML
        texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
        assert "a\ufffdb" in texts
        assert char not in svg.decode("utf-8")


# ---- micrograd's name, notebook display ----------------------------------------------------


def test_draw_dot_works_as_micrograds_notebook_calls_it():
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    c = a * b
    c.backward()
    drawing = viz.draw_dot(c)
    assert "grad -3.0000" in drawing.source and 'rankdir="LR"' in drawing.source
    assert drawing.pipe().startswith(b"<?xml")
    png = viz.draw_dot(c, format="png", rankdir="TB")
    assert 'rankdir="TB"' in png.source and png.pipe()[:4] == b"\x89PNG"
    assert set(png._repr_mimebundle_()) == {"image/png", "text/plain"}
    with pytest.raises(ValueError, match="'svg', 'png'"):
        viz.draw_dot(c, format="gif")


def test_a_backward_step_shows_itself_in_a_notebook():
    x = Value(3.0, label="x")
    y = (x * x).tanh()
    y.label = "y"
    step = viz.backward_steps(y)[1]
    shown = step._repr_html_()
    assert "step 2: x × x, with dy/d(x × x) = " in shown
    assert "<svg" not in shown  # a sanitizer would leave its text as a soup of labels
    data = re.search(r"<img src='data:image/svg\+xml;charset=utf-8,([^']+)'", shown).group(1)
    svg = urllib.parse.unquote(data)
    red = [e for e in ET.fromstring(svg).iter() if e.get("stroke") == "#d62728"]
    assert red  # the step's elements, highlighted


# ---- the stepper -------------------------------------------------------------------------


def payload(html: str) -> dict:
    found = re.search(r'<script type="application/json" id="mgs-[0-9a-f]+-data">(.*?)</script>',
                      html, flags=re.S)
    return json.loads(found.group(1))


def test_the_stepper_is_a_fragment_that_shows_itself():
    _, loss = xor_loss(points=2)
    s = viz.stepper(loss)
    fragment = s._repr_html_()
    assert fragment.startswith(f'<div class="mg-stepper" id="{s.uid}" tabindex="0"')
    assert "<html" not in fragment and "<body" not in fragment and "@@" not in fragment
    assert "<script src" not in fragment and "<link" not in fragment
    data = payload(fragment)
    assert data["uid"] == s.uid and data["omitted"] == 0
    assert len(data["steps"]) == len(viz.backward_steps(loss)) + 1
    assert {st["group"] for st in data["steps"][1:]} == {"layer 1", "layer 2", "layer 3",
                                                          "loss"}
    assert data["steps"][0]["node"] is None and data["steps"][1]["node"] == "n" + str(
        len(data["values"]) - 1)
    assert {v["kind"] for v in data["values"]} == {"leaf", "constant", "value", "output"}
    assert all(len(pair) == 2 for pair in data["legend"])
    # Two steppers on one page do not share an id.
    other = viz.stepper(loss)
    assert other.uid != s.uid


def test_the_stepper_checks_each_grad_against_a_finite_difference():
    model, loss = xor_loss(points=2)
    data = viz.stepper(loss).data
    checks = {c["name"]: c for c in data["checks"]}
    assert set(checks) == {p.label for p in model.parameters()}
    loss.backward()
    for p in model.parameters():
        c = checks[p.label]
        assert c["grad"] == p.grad
        # the page's own tolerance (a relu sitting exactly at its kink, as the point (0, 0)
        # with zero biases puts one, makes the difference differ by a few 1e-7)
        assert c["numeric"] == pytest.approx(p.grad, rel=1e-4, abs=1e-6)
        assert c["agree"] is True
    # a wrong gradient is caught: a relu's kink, where the one-sided slopes differ
    x = Value(0.0, label="x")
    kink = viz.stepper(x.relu() + x.abs()).data["checks"][0]
    assert kink["grad"] == 0.0 and kink["numeric"] == pytest.approx(0.5) and not kink["agree"]


def test_the_stepper_skips_the_finite_differences_of_a_huge_graph(monkeypatch):
    monkeypatch.setattr(stepper_module, "MAX_CHECKS", 3)
    xs = [Value(float(i), label=f"x{i}") for i in range(5)]
    data = viz.stepper(Value.sum(x * x for x in xs)).data
    assert [c["numeric"] for c in data["checks"]] == [None] * 5
    assert [c["agree"] for c in data["checks"]] == [None] * 5
    assert {c["name"]: c["grad"] for c in data["checks"]} == {f"x{i}": 2.0 * i for i in range(5)}


def test_a_step_left_out_of_the_picture_says_so():
    x = Value(0.5, label="x")
    v = x
    for _ in range(30):
        v = v.tanh()
    data = viz.stepper(v, max_nodes=10).data
    assert data["omitted"] == 31 - 10
    left_out = [st for st in data["steps"] if not st["drawn"]]
    assert left_out and all("not in the picture" in st["text"] for st in left_out)
    assert all(st["drawn"] for st in data["steps"][:5])
    assert sum(not v["drawn"] for v in data["values"]) == 21


def test_stepper_payload_has_no_nan_for_json():
    x = Value(float("inf"), label="x")
    data = viz.stepper(x * 0.0).data  # inf * 0 = nan everywhere
    json.dumps(data, allow_nan=False)


# ---- networks ----------------------------------------------------------------------------


def test_a_big_network_leaves_the_numbers_off_its_edges():
    nn = pytest.importorskip("microgrant.nn")
    big = nn.MLP(2, [64, 64, 1], seed=0)
    source = viz.draw_network(big).source
    assert 'port="w' not in source and "hover an edge for its weight" in source
    assert len(re.findall(r"^  x?l?\d?n?\d+ -> l2n\d+ \[id=", source, flags=re.M)) == 64 * 64
    assert viz.draw_network(big).pipe("svg").startswith(b"<?xml")
    small = viz.draw_network(nn.MLP(2, [3, 1], seed=0)).source
    assert len(re.findall(r'<td port="w\d+"', small)) == 2 * 3 + 3 * 1
