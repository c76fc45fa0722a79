"""The last stage of seeing backprop: a page that steps through the backward pass, one op at a time.

`stepper` traces the graph once and builds everything the page needs from that one trace and
its steps: the backward picture (DOT -> SVG, laid out once: one picture serves every step, and
a few lines of JavaScript highlight the current step by toggling classes on the SVG's ids),
each step's chain-rule text, which step reveals which number, and each leaf's gradient held
against a central finite difference (`microgrant.gradcheck.check_graph`).  Every number is
written here, by `format_number`: the page's script formats none.

The page is plain HTML first: a sentence saying how to make it interactive, the picture as an
``<img>`` (its data URI is the SVG itself) and the steps as text in a ``<details>``.  That is
what a viewer without scripts shows (GitHub, nbviewer, an untrusted notebook, whose sanitizer
strips ``<script>``, ``<style>`` and ``<svg>``).  Where the script runs, it takes the same
picture out of the ``<img>`` (so the picture travels once), builds the live page and removes
the fallback.  With ``practice=True`` the numbers each step computes are not in the page at
all: the picture shows ``?`` in their place, and the answers travel encoded, until the learner
has typed them.

The page's HTML, CSS and JavaScript (in named parts, joined in a fixed order) are package
files; nothing is loaded from the network; ids are derived from the content and a counter, so
the same stepper saved twice gives the same bytes, and two steppers on one page differ.
"""

from __future__ import annotations

import base64
import hashlib
import html as _html_module
import itertools
import json
import math
import re
from importlib import resources
from pathlib import Path
from typing import Any

from ..checks import count
from ..engine import OPS, Value
from ..gradcheck import check_graph
from ..io import write_atomically
from ..labels import split_index
from .dot import OP_FILL, STYLE
from .embed import MAKE_LIVE, framed
from .render import picture, svg_element
from .steps import BackwardStep, picture_img, steps_of
from .structure import structure_of
from .text import as_ratio_part, check_digits, display_names, equations, factor, format_number
from .trace import DEFAULT_MAX_NODES, SHARED, Trace, check_root

__all__ = ["Stepper", "stepper", "save_stepper", "MAX_CHECKS", "SCRIPT_PARTS"]

MAX_CHECKS = 5000
"""The most leaves whose gradient the page checks by finite differences."""
LAYOUT_LIMIT = 2000
"""Above this many values, the page does not suggest drawing them all (minutes of layout)."""
_CHECK_WORK = 50_000_000  # leaves × ops replayed, at most: a few seconds of numpy
SCRIPT_PARTS = ("stepper_state.js", "stepper_view.js", "stepper_camera.js",
                "stepper_overview.js", "stepper_panels.js", "stepper_search.js",
                "stepper_keys.js", "stepper_practice.js", "stepper_start.js")
"""The page's script, in the order its parts are joined."""
_MARKER = re.compile(r"@@([A-Z]+)@@")
_ID = re.compile(r'\bid="([^"]*)"')
_BLANK_LINES = re.compile(r"\n\s*\n")
_FILES: dict[str, str] = {}
_COUNTER = itertools.count(1)  # per process: two steppers made alike still get two ids
CHECK_DIGITS = 6  # the gradient check shows more digits: agreement is its point


def _page_file(name: str) -> str:
    if name not in _FILES:
        _FILES[name] = (resources.files(__package__) / name).read_text(encoding="utf-8")
    return _FILES[name]


def _script() -> str:
    parts = "\n".join(_page_file(name) for name in SCRIPT_PARTS)
    return f'(function () {{\n"use strict";\n{parts}\n}}());'


def _script_json(data: Any) -> str:
    """JSON that cannot end the ``<script>`` element it sits in, whatever the labels say."""
    text = json.dumps(data, ensure_ascii=True, allow_nan=False, sort_keys=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _number(x: Any) -> float | None:
    """A float for JSON, or None where JSON has no number (NaN, infinities)."""
    return float(x) if isinstance(x, (int, float)) and math.isfinite(x) else None


def _fill(template: str, values: dict) -> str:
    # One pass over the template: text inside a label that looks like a marker stays.
    return _MARKER.sub(lambda m: values.get(m.group(1), m.group(0)), template)


# ---- what the steps say -------------------------------------------------------------------

def _loss_part(trace: Trace) -> set:
    """The loss's own values: each sample's term and what it is made of outside the net,
    and everything after the terms (the reduction into the loss)."""
    samples = structure_of(trace).samples()
    groups = structure_of(trace).groups()
    terms = [v for v in trace.values if v in samples and v.inputs and split_index(v.label)
             and samples[v] != SHARED]
    if not terms:
        return set()
    part = {v for v in trace.values if v.inputs and v not in samples}  # after the terms
    for v in trace.values:
        if v.inputs and samples.get(v, SHARED) != SHARED and v not in groups:
            part.add(v)
    return part


def _group_of(trace: Trace, v: Value, loss_part: set) -> str:
    layer = structure_of(trace).layer(v)
    if layer is not None:
        return f"layer {layer}"
    if v in loss_part:
        return "loss"
    return "output" if v is trace.root else ""


def _seed_text(root: Value, name: str) -> str:
    r = as_ratio_part(name)
    if root.grad is None:
        return f"{name} is a constant: no gradient flows through it, so there are no steps."
    if not root.inputs:
        return f"{name} is a leaf: d{r}/d{r} = 1, and there is nothing to backpropagate."
    return (f"Backprop starts at the output: d{r}/d{r} = 1 (the seed).\n"
            f"Press Next (or the right arrow, or Space) to pass gradients back, one op at a "
            f"time.")


def _checks(trace: Trace, names: dict) -> tuple[list[dict], str]:
    """Each leaf's grad beside its finite difference, formatted; and why any went unchecked."""
    leaves = [v for v in trace.values if not v.inputs and v.grad is not None]
    grads = [trace.grads.get(v, 0.0) for v in leaves]
    work = len(leaves) * max(len(trace.order), 1)
    note = ""
    rows: list = [None] * len(leaves)
    if len(leaves) > MAX_CHECKS or work > _CHECK_WORK:
        note = (f"not checked: {len(leaves):,} leaves × {len(trace.order):,} ops to replay "
                f"is more than the page checks ({MAX_CHECKS:,} leaves, {_CHECK_WORK:,} in "
                f"all); microgrant.gradcheck checks a smaller function of them")
    else:
        try:
            rows = list(check_graph(trace.root, leaves, grads).rows)
        except ValueError as error:  # a leaf on the edge of an op's domain
            note = f"not checked: {error}"
    checks = []
    for v, g, row in zip(leaves, grads, rows):
        numeric = _number(row.numeric) if row is not None else None
        agree = row.ok if row is not None and numeric is not None and _number(g) is not None \
            else None
        reason = ""
        if agree is False:
            reason = ("at a kink: " + ", ".join(row.kinks) + ". Backprop takes one side's "
                      "slope (relu'(0) = 0, as PyTorch), the difference their average: not "
                      "a wrong derivative") if row.kinks else \
                "no kink explains it: a derivative may be wrong"
        checks.append({"id": trace.ids[v], "name": names[v], "grad": _number(g),
                       "numeric": numeric, "agree": agree, "reason": reason,
                       "grad_text": format_number(g, CHECK_DIGITS),
                       "numeric_text": format_number(numeric, CHECK_DIGITS)
                       if numeric is not None else "not computed"})
    return checks, note


def _highlighted(step: BackwardStep, drawn_ids: set) -> list[str]:
    """The ids a step lights up: its own (`BackwardStep.highlighted_ids`), and the copy of
    each input that the picture draws beside this op (a value used by many ops is drawn in
    full once, and as a small copy at each further use: ``<input id>_at_<node id>``)."""
    ids = step.highlighted_ids()
    copies = [f"{x}_at_{step.node_id}" for x in dict.fromkeys(step.input_ids)]
    return ids + [c for c in copies if c in drawn_ids]


def _payload(trace: Trace, names: dict, steps: list[BackwardStep], keep, omitted: int,
             title: str, drawn_ids: set) -> dict:
    root = trace.root
    reveals = trace.reveals() if root.grad is not None else [[]]
    loss_part = _loss_part(trace)

    def drawn(v: Value) -> bool:
        return keep is None or v in keep

    cut = _cut_note(len(trace.values), omitted)

    # The seed's first id is the output's: the page brings it into view at the start.
    # A step's text has no blank line: the page separates the steps' texts by one.
    rows = [{"ids": [trace.ids[root]], "text": _seed_text(root, names[root]),
             "reveal": reveals[0], "node": None, "name": names[root], "drawn": True,
             "group": "", "op": ""}]
    for step in steps:
        node = step.node
        text = step.equation
        if not drawn(node):
            text += f"\n({names[node]} is not in the picture: {cut})"
        rows.append({"ids": _highlighted(step, drawn_ids), "text": _BLANK_LINES.sub("\n", text),
                     "reveal": reveals[step.index + 1], "node": step.node_id,
                     "name": names[node], "drawn": drawn(node),
                     "group": _group_of(trace, node, loss_part), "op": node.op})
    values = [{"id": trace.ids[v], "name": names[v], "kind": trace.kind(v), "drawn": drawn(v)}
              for v in trace.values]
    legend = [[fill, meaning] for fill, meaning in STYLE.values()]
    legend.append([OP_FILL, "operation (hover: its local derivatives)"])
    checks, note = _checks(trace, names) if root.grad is not None else ([], "")
    return {"title": title, "steps": rows, "values": values, "checks": checks,
            "check_note": note, "omitted": omitted, "omitted_note": cut if omitted else "",
            "legend": legend, "practice": False}


def _cut_note(values: int, omitted: int) -> str:
    """What to do about the values max_nodes left out of the picture."""
    if values <= LAYOUT_LIMIT:
        return f"max_nodes left it out ({omitted:,} values are not drawn; make the stepper " \
               f"with max_nodes=None to draw all {values:,})"
    return (f"max_nodes left it out ({omitted:,} of {values:,} values are not drawn; laying "
            f"them all out would keep Graphviz busy for minutes: find a value by name, or "
            f"draw one sample's part with viz.draw(root, view='backward', sample=1))")


# ---- practice: the numbers each step computes, held back ----------------------------------

_NUMBER = re.compile(r"(?<![\w.])-?(?:\d+\.?\d*(?:e-?\d+)?|nan|inf)(?![\w.])")
# The SVG read as groups opening and closing, and texts: a text belongs to every group
# around it (Graphviz wraps a cell or an edge's arrow in a group "a_<id>" of its own).
_PIECE = re.compile(r'<g id="([^"]+)"[^>]*>|</g>|(<text\b[^>]*>)([^<]*)(</text>)')
_OWNER = re.compile(r"^(?:a_)?(.*?)(?:-label)?$")
_TOOLTIPS = re.compile(r'\s(?:xlink:)?title="[^"]*"|<title>[^<]*</title>')


def _accepted(x: float, shown: str) -> list[float]:
    """The answers that read as ``shown``: within half a unit of its last digit."""
    mantissa, _, exponent = shown.partition("e")
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    half = 0.5 * 10.0 ** (int(exponent or 0) - decimals)
    return [x - half * 1.000001, x + half * 1.000001]


def _plugged(step: BackwardStep, i: int, digits: int) -> str:
    """The formula of input ``i``'s local derivative with the step's numbers put in."""
    formula = step.formulas[i]
    rhs = formula.split("=", 1)[1].strip() if "=" in formula else formula
    names = OPS[step.node.op].input_names(len(step.inputs))
    numbers = {n: factor(x.data, digits) for n, x in zip(names, step.inputs)}
    numbers["out"] = factor(step.node.data, digits)
    if step.node.arg is not None:
        numbers["arg"] = factor(step.node.arg, digits)
    filled = re.sub(r"\b(" + "|".join(map(re.escape, numbers)) + r")\b",
                    lambda m: numbers[m.group(1)], rhs) if numbers else rhs
    return f"{formula}, here {filled}"


def _exercise(step: BackwardStep, names: dict, digits: int) -> tuple[str, list, list]:
    """A step as an exercise: its text with blanks, the blanks' labels, their answers.

    The upstream grad is an earlier step's answer, so it is not written either: ``{up}``
    (``{(up)}`` as a factor) stands for it, filled in by the page once it is known.
    """
    n = as_ratio_part(names[step.node])
    header = step.equation.splitlines()[0].rsplit(" = ", 1)[0] + " = {up}"
    lines: list[str] = [header]
    labels: list[str] = []
    answers: list[dict] = []
    g = step.upstream
    for i, (x, d, c) in enumerate(zip(step.inputs, step.local_grads, step.contributions)):
        if x.grad is None or d is None or c is None:
            continue
        xi = as_ratio_part(names[x])
        k = len(labels)
        lines.append(f"  ∂{n}/∂{xi} = [?{k + 1}]   then   {{(up)}} * ∂{n}/∂{xi} = [?{k + 2}]")
        shown_d, shown_c = format_number(d, digits), format_number(c, digits)
        labels += [f"∂{n}/∂{xi}", f"{{(up)}} × ∂{n}/∂{xi}"]
        answers += [{"shown": shown_d, "range": _accepted(d, shown_d),
                     "hint": _plugged(step, i, digits)},
                    {"shown": shown_c, "range": _accepted(c, shown_c),
                     "hint": f"upstream × local = {factor(g, digits)} × {factor(d, digits)}"}]
    return "\n".join(lines), labels, answers


def _on_paper(text: str, step: BackwardStep, names: dict) -> str:
    """An exercise's text for the page without scripts: the upstream grad by its name."""
    r, n = as_ratio_part(names[step.root]), as_ratio_part(names[step.node])
    return text.replace(" = {up}", " (from the steps before)").replace("{(up)}", f"d{r}/d{n}")


def _mask(svg: str, hidden: set, originals: dict) -> str:
    """``svg`` with the numbers of the texts inside the ``hidden`` ids written as ``?``;
    each id's texts as they were go into ``originals``, in the order the page reads them."""
    out: list[str] = []
    stack: list[str | None] = []
    last = 0
    for m in _PIECE.finditer(svg):
        if m.group(1) is not None:
            key = _OWNER.sub(r"\1", m.group(1))
            stack.append(key if key in hidden else (stack[-1] if stack else None))
            continue
        if m.group(2) is None:  # </g>
            if stack:
                stack.pop()
            continue
        owner = stack[-1] if stack else None
        if owner is None:
            continue
        text = _html_module.unescape(m.group(3))  # Graphviz writes a minus as &#45;
        originals.setdefault(owner, []).append(text)
        out.append(svg[last:m.start()])
        out.append(m.group(2) + _html_module.escape(_NUMBER.sub("?", text), quote=False) +
                   m.group(4))
        last = m.end()
    out.append(svg[last:])
    return "".join(out)


def _practise(data: dict, steps: list[BackwardStep], names: dict, svg: str,
              digits: int) -> str:
    """Turns ``data`` into practice mode; returns the SVG with its step numbers as ``?``."""
    secret: dict = {"steps": [{"text": data["steps"][0]["text"], "answers": []}],
                    "texts": {}, "checks": []}
    for row, step in zip(data["steps"][1:], steps):
        text, labels, answers = _exercise(step, names, digits)
        secret["steps"].append({"text": row["text"], "answers": answers,
                                "up": format_number(step.upstream, digits),
                                "up_factor": factor(step.upstream, digits)})
        row["text"], row["blanks"] = text, labels
        row["paper"] = _on_paper(text, step, names)
    hidden = {i for row in data["steps"][1:] for i in row["reveal"]}  # the seed's is known

    svg = _mask(_TOOLTIPS.sub("", svg), hidden, secret["texts"])
    for check in data["checks"]:
        secret["checks"].append({k: check.pop(k) for k in ("grad_text", "numeric_text",
                                                           "reason", "agree")})
        check["grad"] = check["numeric"] = None
    encoded = json.dumps(secret, ensure_ascii=False, sort_keys=True).encode("utf-8")
    data["secret"] = base64.b64encode(encoded).decode("ascii")
    data["practice"] = True
    return svg


# ---- the page -----------------------------------------------------------------------------

_HOW = ("This is microgrant's backprop stepper. Its script has not run here, so this is the "
        f"picture and the steps as text. To step through it: {MAKE_LIVE}.")
_HOW_PRACTICE = ("This is microgrant's backprop practice. Its script has not run here, so "
                 "the steps are listed as exercises (fill in each [?]), with the answers "
                 f"folded away below. To practise interactively: {MAKE_LIVE}.")
_PRE = ('style="white-space: pre-wrap; font-family: monospace; font-size: 13px; '
        'background: #f6f6f2; color: #222; padding: 6px 8px; margin: 4px 0"')


def _fallback(data: dict, svg: str, secret_texts: list[str] | None) -> str:
    """The page without its script: a sentence, the picture, the steps (answers folded)."""
    steps = data["steps"]
    texts = "\n\n".join(step.get("paper", step["text"]) for step in steps)
    practice = secret_texts is not None
    summary = (f"The {len(steps) - 1} chain-rule steps, as exercises" if practice else
               f"The {len(steps) - 1} chain-rule steps, as text")
    parts = [f'<p style="margin: 4px 0 8px 0; color: #555; font-size: 13px">'
             f"{_html_module.escape(_HOW_PRACTICE if practice else _HOW)}</p>",
             '<div style="overflow: auto; max-height: 640px; max-width: 100%; '
             'border: 1px solid #eee">',
             picture_img(svg, f"{data['title']}: the backward graph").replace(
                 "max-width: 100%; ", "max-width: none; "),
             "</div>",
             f'<details><summary style="cursor: pointer">{summary}</summary>'
             f'<pre class="mg-steps-text" {_PRE}>{_html_module.escape(texts)}</pre>']
    if practice:
        answers = "\n\n".join(secret_texts or [])
        parts.append(f'<details><summary style="cursor: pointer">Answers</summary>'
                     f"<pre {_PRE}>{_html_module.escape(answers)}</pre></details>")
    parts.append("</details>")
    return "\n".join(parts)


class Stepper:
    """The backward pass of one graph as a page: shows itself in Jupyter, saves as HTML.

    Attributes:
        uid: this stepper's id, the prefix of every element id on its page (``mgs-3f2a9c``),
            derived from its content and a per-process counter.
        title: the page's heading.
        data: what the page steps through (steps, values, checks, legend; see the module).
        svg: the backward picture's ``<svg>`` element, its ids prefixed with ``uid`` (in
            practice mode, with ``?`` where the steps' numbers are).
        fallback: the page as viewers without scripts show it (the script replaces it).

    >>> from microgrant import Value
    >>> x = Value(2.0, label="x")
    >>> s = stepper((x * x).tanh())
    >>> len(s.data["steps"]), s.data["checks"][0]["name"], s.data["checks"][0]["agree"]
    (3, 'x', True)
    >>> "<script src" in s._repr_html_(), s._repr_html_() == s._repr_html_()
    (False, True)

    Without scripts (GitHub, nbviewer, an untrusted notebook) the page is ``fallback``: a
    sentence saying how to make it interactive, the picture as an ``<img>``, the steps as text.
    marimo, which runs no script of a cell's HTML, is given the whole page in an iframe as high
    as the page (``_mime_``, see `microgrant.viz.embed`).
    """

    def __init__(self, uid: str, title: str, data: dict, svg: str, fallback: str = ""):
        self.uid = uid
        self.title = title
        self.data = data
        self.svg = svg
        # The page without its script; made from the data when not given.
        self.fallback = fallback or _fallback({"title": title, **data}, svg, None)

    def fragment(self) -> str:
        """The page as one ``<div>``, scoped by ``uid``, for inside any HTML page."""
        # The live page's controls travel inside the data: a viewer without scripts drops
        # them with it, and shows no button that does nothing.  The steps' texts travel
        # once, in the fallback, where the script reads them (practice mode's differ).
        shell = _fill(_page_file("stepper_shell.html"), {"UID": self.uid})
        data = {**self.data, "shell": shell}
        if not self.data.get("practice"):
            data["steps"] = [{k: v for k, v in row.items() if k != "text"}
                             for row in self.data["steps"]]
        values = {"UID": self.uid, "CSS": _page_file("stepper.css"),
                  "FALLBACK": self.fallback, "DATA": _script_json(data),
                  "JS": _script(), "TITLE": _html_module.escape(self.title)}
        return _fill(_page_file("stepper.html"), values)

    def _repr_html_(self) -> str:
        return self.fragment()

    def _mime_(self) -> tuple[str, str]:
        """For marimo: the whole page in an iframe that grows to its height (see `framed`)."""
        return "text/html", framed(self.page(), self.fallback, self.title, height=600)

    def page(self) -> str:
        """The stepper as a whole HTML document."""
        return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                f"<title>{_html_module.escape(self.title)}</title>\n</head>\n<body>\n"
                f"{self.fragment()}\n</body>\n</html>\n")

    def save(self, path) -> Path:
        """Writes the page to ``path`` (``.html``), whole or not at all; returns the path."""
        return write_atomically(path, self.page())

    def __repr__(self) -> str:
        return (f"<Stepper {self.uid}: {len(self.data['steps']) - 1} steps; .save(path) writes "
                f"the page>")


def stepper(root: Value, digits: int = 4, max_nodes: int | None = DEFAULT_MAX_NODES,
            title: str | None = None, practice: bool = False) -> Stepper:
    """A page that steps through the backward pass of ``root``, one op at a time.

    The page shows the backward graph with the current step in red, the step's chain rule as
    text, previous/next buttons, a slider and keys (when it has focus; Esc gives the focus
    back to the notebook, or on a saved page to the page).  Numbers appear as backprop
    reaches them: at the start only the output's grad (the seed) shows; an edge's
    ``local × upstream`` label appears at its step, and a value's grad once its last
    contribution is in.  Each leaf's grad is checked against
    a finite difference.  Without scripts (an untrusted notebook, GitHub) the page shows the
    picture and the steps as text, and says how to make it interactive.

    Args:
        root: the output Value.
        digits: significant digits for every number.
        max_nodes: the most values to draw (see `draw`); every step is listed regardless,
            and a step whose node was left out of the picture says so.
        title: the page's heading (default: "Backprop through <root's label>", or
            "Backprop through the output" when it has none; "Practise backprop ..." in
            practice mode).
        practice: predict, then reveal: each step's numbers (on the picture, in the text and
            in the gradient check) stay hidden until the learner types them; a miss shows
            the formula with the numbers in; the page keeps a score per op.

    Raises:
        RenderError: when no Graphviz layout engine is available.
    """
    check_root(root, "stepper")
    check_digits(digits)
    if max_nodes is not None:
        count(max_nodes, "max_nodes")
    if not isinstance(practice, bool):
        raise TypeError(f"practice must be True or False; got {practice!r}")
    trace = Trace(root)
    names = display_names(trace, digits)
    steps: list[BackwardStep] = []
    if root.grad is not None:
        steps = steps_of(trace, digits, names, equations(trace, names, digits))
    drawing = picture(trace, "backward", max_nodes, digits, None, mark_grads=True)
    keep = trace.nearest(max_nodes) if drawing.omitted and max_nodes else None
    svg = svg_element(drawing.pipe("svg"))
    if title is None:
        verb = "Practise backprop" if practice else "Backprop"
        title = f"{verb} through {root.label or 'the output'}"
    data = _payload(trace, names, steps, keep, drawing.omitted, title, set(_ID.findall(svg)))
    answers = None
    if practice:
        full = [row["text"] for row in data["steps"]]
        svg = _practise(data, steps, names, svg, digits)
        answers = full
    data["digits"] = digits
    content = _script_json(data) + svg + str(next(_COUNTER))
    uid = "mgs-" + hashlib.sha256(content.encode("utf-8")).hexdigest()[:6]
    data["uid"] = uid
    svg = _ID.sub(lambda m: f'id="{uid}-{m.group(1)}"', svg)
    return Stepper(uid, title, data, svg, _fallback(data, svg, answers))


def save_stepper(root: Value, path, digits: int = 4,
                 max_nodes: int | None = DEFAULT_MAX_NODES, title: str | None = None,
                 practice: bool = False) -> Path:
    """Writes one self-contained HTML page that steps through the backward pass of ``root``.

    The page is `stepper`'s, as a whole document: it loads nothing from anywhere (open it
    from disk, send it by mail), and it is written whole or not at all.

    Args:
        root: the output Value.
        path: where to write the page (``.html``).
        digits, max_nodes, title, practice: as for `stepper`.

    Returns:
        The path written.

    Raises:
        RenderError: when no Graphviz layout engine is available (nothing is written).
        OSError: when ``path`` cannot be written.

    >>> import tempfile, pathlib
    >>> from microgrant import Value
    >>> x = Value(2.0, label="x")
    >>> y = (x * x).tanh()
    >>> with tempfile.TemporaryDirectory() as d:
    ...     page = save_stepper(y, pathlib.Path(d) / "steps.html").read_text()
    >>> "data:image/svg+xml;charset=utf-8," in page and "<script src" not in page
    True
    """
    check_root(root, "save_stepper")
    return stepper(root, digits, max_nodes, title, practice).save(path)
