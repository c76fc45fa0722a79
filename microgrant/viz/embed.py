"""Where backprop's pages are shown: the stepper and the explorer inside marimo's cells.

Jupyter runs the script of a cell's HTML in the notebook's own page, so the stepper and the
explorer show themselves there through ``_repr_html_``.  marimo runs no inline script in a
cell's HTML: it moves such HTML into an iframe 400 pixels high, and its code that lets the
iframe grow reads the document's height as the viewport's when the page has no doctype (a
page in quirks mode), so the iframe stayed 400 pixels high and cropped the stepper's graph and
the explorer's network.  marimo asks an object for ``_mime_`` before ``_repr_html_`` (and
Jupyter never does), so `framed` gives marimo the whole page, doctype first, in an iframe of
our own that takes the height of what it shows and follows it as the page changes (a step
shown, a neuron opened).

Where no script runs at all (a notebook opened untrusted, GitHub, nbviewer), each page shows
its static fallback, with `MAKE_LIVE`: one sentence, true in every host, on how to make the
page live.  In marimo that fallback goes beside the iframe, which hides it once its page has
loaded: where marimo's sanitizer removes iframes (a notebook opened in ``marimo edit`` before
any cell has run), the fallback is what shows.
"""

from __future__ import annotations

import html

__all__ = ["framed", "FRAME_CLASS", "MAKE_LIVE"]

MAKE_LIVE = ("run the cell (a notebook saved elsewhere shows its pages live once trusted: Trust "
             "Notebook, in JupyterLab's command palette or Notebook 7's File menu; in VS Code, "
             "trust the folder), or save it with .save(path) and open the page in a browser")
"""How a page whose script did not run becomes live, true in each host: the static fallbacks'
sentence (the stepper's, the explorer's)."""

FRAME_CLASS = "mg-framed"
"""The class of the element that holds a framed page and its fallback."""

# Runs in the host's page when the iframe has loaded: the iframe takes its page's height
# (the root element's box: unlike scrollHeight it also shrinks), follows it while the page
# changes, and hides the fallback beside it.  A page the host cannot read (another origin)
# keeps the iframe's first height and its fallback.
_GROW = ("var f=this,d=f.contentDocument;if(!d||!d.documentElement)return;"
         "var g=function(){f.style.height=Math.ceil(d.documentElement"
         ".getBoundingClientRect().height)+'px'};g();"
         "if(window.ResizeObserver)new ResizeObserver(g).observe(d.documentElement);"
         "var b=f.closest('." + FRAME_CLASS + "'),s=b&&b.querySelector('." + FRAME_CLASS +
         "-fallback');if(s)s.style.display='none'")


def framed(page: str, fallback: str, title: str, height: int = 400) -> str:
    """``page`` (a whole HTML document) in an iframe that grows to its height, for marimo.

    Args:
        page: the whole document, starting with ``<!DOCTYPE html>`` (a page without one is
            laid out in quirks mode, where the iframe cannot measure it).
        fallback: HTML shown where the iframe is not (hidden once the page has loaded).
        title: the iframe's accessible name.
        height: the iframe's height in pixels until its page has loaded.

    >>> text = framed("<!DOCTYPE html><p>hi</p>", "<p>a picture</p>", "a page")
    >>> text.startswith('<div class="mg-framed">'), 'srcdoc="&lt;!DOCTYPE html&gt;' in text
    (True, True)
    """
    if not page.lstrip().lower().startswith("<!doctype html>"):
        raise ValueError("framed needs a whole page starting with <!DOCTYPE html>: without "
                         "one it is laid out in quirks mode and its height cannot be read")
    return (f'<div class="{FRAME_CLASS}">'
            f'<iframe srcdoc="{html.escape(page, quote=True)}" '
            f'title="{html.escape(title, quote=True)}" '
            f'style="width: 100%; height: {int(height)}px; border: 0; display: block" '
            f'onload="{html.escape(_GROW, quote=True)}"></iframe>'
            f'<div class="{FRAME_CLASS}-fallback">{fallback}</div></div>')
