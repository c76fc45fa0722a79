"""Seeing backprop, written as DOT: the one way text gets into a picture, and the colours.

Every picture microgrant draws is DOT text (Graphviz's language for graphs), and a label may
hold anything: quotes, braces, ``<``, backslashes, newlines, control characters.  So every
attribute goes through one helper, `attributes`, and every piece of user text through `html`
(inside an HTML-like label) or `quote` (a quoted string such as a tooltip).  The colours are
here too, one scheme for every picture, the legend and the stepper page, with `legend_lines`
saying what each means.
"""

from __future__ import annotations

import html as _html_module
import unicodedata

__all__ = ["STYLE", "OP_FILL", "HIGHLIGHT", "MUTED", "ACCUMULATED", "ACCUMULATED_FILL",
           "NOT_YET", "NOT_YET_FILL", "STALE", "STALE_FILL", "NAME_LIMIT", "TIP_LIMIT", "Html",
           "clean", "html", "quote", "attributes", "node_line", "edge_line", "legend_lines",
           "MARKS"]

# One colour scheme everywhere (pictures, legend, stepper page, networks).
STYLE = {
    "output": ("#ffe08a", "output (the value being differentiated)"),
    "leaf": ("#d4efd4", "leaf with a gradient (an input or a parameter)"),
    "constant": ("#ececec", "constant (no gradient flows into it)"),
    "value": ("#ffffff", "intermediate value"),
}
OP_FILL = "#dfe8f6"
HIGHLIGHT = "#d62728"
"""The current step of the backward pass (and nothing else) is drawn in this red."""
MUTED = "#777777"
ACCUMULATED = "#b03a2e"
"""A leaf's ``.grad`` that disagrees with the picture's computed grad: a real warning."""
ACCUMULATED_FILL = "#fdeeee"
NOT_YET = MUTED
"""A leaf's ``.grad`` of 0 that no backward pass has filled in yet: not a warning."""
NOT_YET_FILL = "#f4f4f4"
STALE = "#b35900"
"""A number recorded before a value it was computed from changed (see `Trace.stale`)."""
STALE_FILL = "#fff1e0"

NAME_LIMIT = 80       # characters of a name a node shows
TIP_LIMIT = 400       # characters of a name a tooltip quotes (Graphviz stops at 16,384)

MARKS = {
    "not_yet": (NOT_YET, NOT_YET_FILL, ".grad 0",
                "not computed yet: backward() has not reached this leaf (the grad drawn is what "
                "it will give)"),
    "accumulated": (ACCUMULATED, ACCUMULATED_FILL, ".grad 12",
                    "the leaf's .grad differs from one backward pass (accumulated, or not zeroed)"),
    "stale": (STALE, STALE_FILL, "stale",
              "stale: recorded before a value it was computed from changed (no longer adds "
              "up), or a value that changed since"),
}
"""What each marked cell means, for a legend: mark -> (text colour, fill, sample, meaning)."""


# ---- escaping: the one way user text gets into DOT ------------------------------------------

class Html(str):
    """Text that is already an HTML-like label's body: `attributes` wraps it in ``<...>``."""


def _noncharacter(ch: str) -> bool:
    code = ord(ch)
    return 0xFDD0 <= code <= 0xFDEF or (code & 0xFFFE) == 0xFFFE


def clean(text: str) -> str:
    """Text safe for Graphviz and for XML: control characters, lone surrogates and
    noncharacters (U+FFFE, U+FFFF, ...) become U+FFFD; a tab becomes a space.

    >>> clean("tab\\there\\x07 \\ufffe")
    'tab here\\ufffd \\ufffd'
    """
    text = str(text)
    if text.isprintable():  # the usual case, and far quicker than looking at each character
        return text
    out = []
    for ch in text:
        if ch == "\n":
            out.append(ch)
        elif ch == "\t":
            out.append(" ")  # Graphviz drops tabs; a space keeps the words apart
        elif unicodedata.category(ch) in ("Cc", "Cs") or _noncharacter(ch):
            out.append("\ufffd")  # none of these may appear in an SVG (XML) at all
        else:
            out.append(ch)
    return "".join(out)


def html(text: str) -> str:
    """Text for inside an HTML-like label: entities escaped, newlines as line breaks.

    Graphviz reads backslash escapes even in HTML-like labels (``\\N`` becomes the node's
    name), so a backslash is doubled to stay one backslash.

    >>> html('a < "b"')
    'a &lt; &quot;b&quot;'
    """
    text = _html_module.escape(clean(text), quote=True).replace("\\", "\\\\")
    return text.replace("\n", "<br/>")


def quote(text: str) -> str:
    """A DOT quoted string (a tooltip, an id), which Graphviz copies into the SVG.

    Graphviz takes a tooltip's backslashes through two rounds of un-escaping (the second
    also turns ``\\N`` into the node's name), so each backslash goes in as four.  An ``&``
    goes in as ``&amp;``: the SVG writer keeps anything that looks like a character
    reference as it is.

    >>> quote('say "hi"')
    '"say \\\\"hi\\\\""'
    """
    text = clean(text).replace("&", "&amp;").replace("\\", "\\" * 4)
    return '"' + text.replace('"', '\\"').replace("\n", "\\n") + '"'


def attributes(pairs) -> str:
    """``[(name, value), ...]`` as DOT attributes: ``id="n3", label=<...>``.

    A value that is `Html` becomes an HTML-like label ``<...>``; any other is quoted by
    `quote`.  The one place attributes are written, so every one is quoted alike.

    >>> attributes([("id", "n3"), ("label", Html("<b>x</b>"))])
    'id="n3", label=<<b>x</b>>'
    """
    parts = []
    for name, value in pairs:
        text = f"<{value}>" if isinstance(value, Html) else quote(str(value))
        parts.append(f"{name}={text}")
    return ", ".join(parts)


def node_line(name: str, pairs) -> str:
    """A node statement: ``name [attributes];``."""
    return f"{name} [{attributes(pairs)}];"


def edge_line(tail: str, head: str, pairs) -> str:
    """An edge statement: ``tail -> head [attributes];``."""
    return f"{tail} -> {head} [{attributes(pairs)}];"


def legend_lines(marks=()) -> list[str]:
    """A small legend of the colours, as DOT lines: the kinds of value, an op, and each mark
    the picture uses (``"not_yet"``, ``"accumulated"``, ``"stale"``)."""
    rows = "".join(f'<tr><td bgcolor="{fill}" border="1">  </td><td align="left">'
                   f"{html(meaning)}</td></tr>" for fill, meaning in STYLE.values())
    rows += (f'<tr><td bgcolor="{OP_FILL}" border="1" style="rounded">op</td>'
             f'<td align="left">operation (hover: its local derivatives)</td></tr>')
    for mark in marks:
        colour, fill, sample, meaning = MARKS[mark]
        rows += (f'<tr><td bgcolor="{fill}" border="1"><font color="{colour}">{html(sample)}'
                 f'</font></td><td align="left">{html(meaning)}</td></tr>')
    return ["  subgraph cluster_legend {",
            '    label="legend"; fontsize="10"; color="#bbbbbb";',
            f'    legend [id="legend", shape="plain", label=<<table border="0" cellspacing="2">'
            f"{rows}</table>>];",
            "  }"]
