"""Seeing backprop, laid out: which way a picture runs, how big it will be, and column wrapping.

Pictures must be read whole, so before writing DOT the graph's size is estimated both ways
(`plan_layout`): left to right and top to bottom, from the text each node will hold.  The
direction that brings the picture nearest 1:2 to 2:1 wins, and a long chain that fits neither
is wrapped into columns read like a newspaper's; a net's values can be gathered into
nested boxes (`nest`: sample, layer, neuron).  `png_hint` says when a picture is too big
for a PNG to stay readable.  `microgrant.viz.dot` asks and follows.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from html import escape

from ..engine import Value
from ..labels import natural_key
from .quoting import NAME_LIMIT, attributes, html
from .text import display_names, format_number, shorten
from .trace import Trace

__all__ = ["ASPECT", "WRAP_LIMIT", "PNG_PIXELS", "Layout", "plan_layout", "choose_rankdir",
           "column_order", "nest", "png_hint", "pixels", "NOTEBOOK_SVG_PT", "capped_width"]

ASPECT = (0.5, 2.0)
"""The width : height range `plan_layout` aims a picture at (1:2 to 2:1)."""
WRAP_LIMIT = 8           # the most columns a long picture is wrapped into
_CHAR = 6.4              # points per character at the pictures' 11 pt Helvetica
_RANKSEP, _NODESEP = 36.0, 18.0   # Graphviz's defaults, in points
_SMALL = 1400.0          # points: a picture this wide fits a screen, whatever its shape
PNG_PIXELS = 5760
"""The longest side of a PNG (60 inches at 96 dpi): a bigger picture is scaled down to fit."""


def _levels(trace: Trace, keep) -> dict:
    """Each kept value's level: 0 for a leaf, else one more than its highest input."""
    level: dict[Value, int] = {}
    for node in trace.order:
        level[node] = 1 + max((level.get(x, 0) for x in node.inputs), default=0)
    return {v: level.get(v, 0) for v in trace.values if keep is None or v in keep}


@dataclass(frozen=True)
class Layout:
    """How a picture is laid out: Graphviz's direction, and how many columns it wraps into.

    Attributes:
        rankdir: ``"LR"`` or ``"TB"`` (or what the caller asked for).
        columns: 1, or how many columns a tall picture drawn top to bottom is cut into,
            read like a newspaper's: down the first, then down the next.
        rank: element name (``n3``, ``n3_op``, ``n0_at_n5``) -> its rank (row) before
            wrapping; the column of an element is ``rank // rows``.
        rows: how many ranks one column holds (0: not wrapped).
        size: the estimated (width, height) in points.
    """

    rankdir: str
    columns: int = 1
    rank: dict = field(default_factory=dict)
    rows: int = 0
    size: tuple = (0.0, 0.0)

    def column(self, name: str) -> int:
        return self.rank.get(name, 0) // self.rows if self.rows else 0


def _aspect_miss(width: float, height: float) -> float:
    """How far (in log) ``width / height`` lies outside `ASPECT`; 0 inside it."""
    ratio = width / max(height, 1.0)
    low, high = ASPECT
    return max(math.log(low / ratio), math.log(ratio / high), 0.0)


def _sizes(trace: Trace, keep, view: str, copied, names: dict) -> tuple[dict, dict, set]:
    """Each element's rank and (width, height), and the ranks of edge labels, as estimated."""
    levels = _levels(trace, keep)
    backward = view == "backward"
    consumers: dict[Value, int] = {}
    for node in trace.order:
        if keep is not None and node not in keep:
            continue
        for x in node.inputs:
            if not x.inputs and (keep is None or x in keep):
                consumers[x] = min(consumers.get(x, levels[node]), levels[node])
    # Rank 2L is a value of level L, 2L - 1 its op; a leaf sits just before its first use.
    rank: dict[str, int] = {}
    size: dict[str, tuple] = {}
    labelled: set[int] = set()
    for v, lv in levels.items():
        vid = trace.ids[v]
        if v.inputs:
            rank[vid], rank[f"{vid}_op"] = 2 * lv, 2 * lv - 1
            size[f"{vid}_op"] = (54.0, 36.0)
            if backward:
                labelled.add(2 * lv - 1)
        else:
            rank[vid] = max(2 * consumers.get(v, 1) - 2, 0)
        chars = len(shorten(names[v], NAME_LIMIT)) + 5 + len(format_number(v.data))
        cells = 2
        if backward and v.grad is not None:
            chars += 5 + len(format_number(trace.grads.get(v, 0.0)))
            cells += 1
        size[vid] = (chars * _CHAR + cells * 9.0, 26.0)
    for x, consumer in copied:
        name = f"{trace.ids[x]}_at_{trace.ids[consumer]}"
        rank[name] = 2 * levels[consumer] - 2
        size[name] = ((len(shorten(names[x], NAME_LIMIT)) + 6) * _CHAR + 16.0, 28.0)

    return rank, size, labelled


def plan_layout(trace: Trace, keep=None, view: str = "forward", copied=frozenset(),
                names: dict | None = None) -> Layout:
    """The direction (and wrapping) that brings a picture nearest `ASPECT`, 1:2 to 2:1.

    The heuristic estimates the picture's size both ways from what Graphviz will draw: each
    value and op gets a rank (an op one after its highest input, a leaf just before its first
    consumer, as Graphviz places them), each node a size from its text (a value's table is
    several times as wide as it is tall), each rank of edge labels (the backward view's local
    derivatives) a rank of its own.  Left to right the ranks add up to the width and the
    busiest rank is the height; top to bottom the other way round.  The direction whose
    width : height lies nearer the range wins, left to right when both are inside it or
    equally far, and when it is at most 1400 points wide (a short expression fits a screen,
    and stays left to right as micrograd draws it).

    A long chain fits neither way (a 1:8 column or an 8:1 strip), so a picture still taller
    than 1:2 top to bottom is wrapped into columns, as many as bring it nearest 1:1 (at most
    8): Graphviz lays each column out from the top, and the edges from the foot of one
    column to the head of the next are the only long ones.  A picture gathered into boxes
    (``group=``) is never wrapped.  Broad pictures (a whole net over several samples) can
    miss the range both ways; ``view="collapsed"`` or ``sample=`` draw those smaller.

    Args:
        trace: the graph.
        keep: the values drawn (None: all).
        view: ``"forward"`` or ``"backward"`` (edge labels and grads make the latter bigger).
        copied: ``(value, consumer)`` pairs drawn as small copies (see `REUSE_LIMIT`).
        names: each value's shown name (`display_names`), for the width of its table.
    """
    if not _levels(trace, keep):
        return Layout("LR")
    names = names if names is not None else display_names(trace)
    rank, size, labelled = _sizes(trace, keep, view, copied, names)
    ranks = max(rank.values()) + 1
    along = [0.0] * ranks    # each rank's extent in the direction of the edges
    across = [0.0] * ranks   # and across it, summed over the rank's nodes
    along_lr = [0.0] * ranks
    across_lr = [0.0] * ranks
    for name, r in rank.items():
        w, h = size[name]
        along[r] = max(along[r], h)
        across[r] += w + _NODESEP
        along_lr[r] = max(along_lr[r], w)
        across_lr[r] += h + _NODESEP
    label_w, label_h = 120.0, 30.0   # "local 0.9 / 0.9 × 0.0007 = 0.00063", two lines
    extra_tb = len(labelled) * (label_h + _RANKSEP)
    extra_lr = len(labelled) * (label_w + _RANKSEP)
    tb = (max(across), sum(along) + _RANKSEP * (ranks - 1) + extra_tb)
    lr = (sum(along_lr) + _RANKSEP * (ranks - 1) + extra_lr, max(across_lr))
    if lr[0] > _SMALL and _aspect_miss(*tb) < _aspect_miss(*lr):
        best = Layout("TB", rank=rank, size=tb)
    else:
        best = Layout("LR", rank=rank, size=lr)
    width, height = tb
    if best.rankdir == "LR" and _aspect_miss(*lr) == 0.0 or width / height >= ASPECT[0] \
            or ranks < 8:
        return best
    # Too tall even top to bottom: wrap into c columns, each about height / c tall.
    columns = min(WRAP_LIMIT, max(2, round(math.sqrt(height / width))))
    rows = math.ceil(ranks / columns)
    rows += rows % 2  # each column starts at a value's rank, with the leaves its op reads
    columns = math.ceil(ranks / rows)
    wrapped = (width * columns + _RANKSEP * (columns - 1), height * rows / ranks)
    if columns < 2 or _aspect_miss(*wrapped) >= _aspect_miss(*best.size):
        return best
    return Layout("TB", columns=columns, rank=rank, rows=rows, size=wrapped)


def choose_rankdir(trace: Trace, keep=None, view: str = "forward") -> str:
    """The direction `plan_layout` chooses: ``"LR"`` or ``"TB"``."""
    return plan_layout(trace, keep, view).rankdir


def column_order(trace: Trace, layout: Layout, keep) -> list[str]:
    """The columns of a wrapped picture left to right: their first values side by side."""
    heads: dict[int, tuple[int, str]] = {}
    for v in trace.values:
        if keep is not None and v not in keep:
            continue
        vid = trace.ids[v]
        rank = layout.rank.get(vid, 0)
        column = layout.column(vid)
        if column not in heads or rank < heads[column][0]:
            heads[column] = (rank, vid)
    ids = [heads[c][1] for c in sorted(heads)]
    if len(ids) < 2:
        return []
    return [f'  {{ rank="same"; {" -> ".join(ids)} [style="invis"]; }}']


def pixels(size: tuple) -> tuple[int, int]:
    """A size in points (Graphviz's unit, 72 an inch) as pixels at 96 dpi."""
    return round(size[0] * 96 / 72), round(size[1] * 96 / 72)


def png_hint(size: tuple) -> str | None:
    """What to say about a picture of ``size`` (width, height in points) as a PNG, or None.

    A PNG is capped at `PNG_PIXELS` a side; a bigger picture is scaled down until its text
    cannot be read.  The SVG scales and is never capped, and the collapsed view or one
    sample's path draws a net much smaller.

    >>> png_hint((500.0, 300.0)) is None
    True
    >>> print(png_hint((9000.0, 24000.0)))  # doctest: +NORMALIZE_WHITESPACE
    a big picture (about 12,000 x 32,000 px): as a PNG it is scaled down to 5760 px a side,
    past reading; save it as SVG (which scales), or draw view="collapsed" (one node per
    neuron) or sample=k (one sample's path)
    """
    width, height = pixels(size)
    if max(width, height) <= PNG_PIXELS:
        return None
    return (f"a big picture (about {width:,} x {height:,} px): as a PNG it is scaled down to "
            f"{PNG_PIXELS} px a side, past reading; save it as SVG (which scales), or draw "
            f'view="collapsed" (one node per neuron) or sample=k (one sample\'s path)')


def _cluster_label(part: tuple) -> str:
    kind, what = part
    if kind == "sample":
        return f"sample {what}"
    if kind == "layer":
        return f"layer {what}"
    return str(what)


def nest(chunks: list[tuple[tuple, list[str]]]) -> list[str]:
    """Node lines inside nested ``subgraph cluster_...`` blocks, one per box path."""
    tree: dict = {}
    order: list[tuple] = []
    for path, lines in chunks:
        for depth in range(len(path) + 1):
            prefix = path[:depth]
            if prefix not in tree:
                tree[prefix] = []
                order.append(prefix)
        tree[path].extend(lines)
    children: dict[tuple, list[tuple]] = {}
    for prefix in order:
        if prefix:
            children.setdefault(prefix[:-1], []).append(prefix)
    out: list[str] = []
    stack: list[tuple[tuple, bool]] = [((), False)]
    numbers: dict[tuple, int] = {}
    while stack:
        prefix, closing = stack.pop()
        indent = "  " * len(prefix)
        if closing:
            out.append(f"  {indent[2:]}}}")
            continue
        if prefix:
            numbers[prefix] = len(numbers)
            name = f"cluster_{numbers[prefix]}"
            label = html(shorten(_cluster_label(prefix[-1]), NAME_LIMIT))
            out.append(f"  {indent[2:]}subgraph {name} {{")
            out.append(f"  {indent}{attributes([('id', name)])}; label=<{label}>; "
                       f'color="#bbbbbb"; fontsize="10";')
            stack.append((prefix, True))
        out += [indent + line for line in tree[prefix]]
        # Boxes in reading order: sample 1 before sample 2, layer 1 before layer 2.
        kids = sorted(children.get(prefix, []), key=lambda c: (str(c[-1][0]),
                                                               natural_key(str(c[-1][1]))))
        for child in reversed(kids):
            stack.append((child, False))
    return out


NOTEBOOK_SVG_PT = 600
"""The widest a drawing is declared in a notebook (about 800 px): JupyterLab shows an SVG as an
image at its own width, so a wider one would run off the cell."""
_SVG_SIZE = re.compile(r'<svg width="([\d.]+)pt" height="[\d.]+pt"')


def capped_width(svg: str, most: float = NOTEBOOK_SVG_PT, alt: str = "") -> str:
    """Graphviz's SVG declared at most ``most`` points wide, its height following the viewBox,
    and never wider than the output it sits in (VS Code puts the SVG itself into the page, at
    the width it declares, so a narrower output would cut it off).  ``alt``, when given, is
    the picture's accessible name (``role="img"`` and ``aria-label``), read where the SVG sits
    in the page itself (VS Code, marimo).

    >>> svg = capped_width('<svg width="988pt" height="400pt" viewBox="0 0 988 400">', alt='a<b')
    >>> svg.split(' viewBox')[0]
    '<svg width="600pt" style="max-width:100%;height:auto" role="img" aria-label="a&lt;b"'
    """
    named = f' role="img" aria-label="{escape(alt, quote=True)}"' if alt else ""
    return _SVG_SIZE.sub(lambda m: f'<svg width="{min(float(m[1]), most):g}pt" '
                                   f'style="max-width:100%;height:auto"{named}', svg, count=1)
