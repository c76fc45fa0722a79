"""The explorer's static fallback: what a viewer that runs no script shows instead of the page.

Untrusted notebooks, GitHub and nbviewer strip ``<script>``, ``<style>`` and ``<svg>`` but keep
``<img src="data:...">``, ``<details>``, ``<pre>`` and inline styles.  So the fallback is made of
those only: a sentence on how to make the page interactive, a PNG of the overview at the last
snapshot (each hidden neuron's activation over the input plane, the decision boundary with the
data, the loss curve), and the net as text (each neuron's weights, its health, the loss).  The
page's script hides it when it runs.

The PNG is painted here with numpy and written with zlib: no plotting library is needed (so
the picture is there whatever is installed, the same bytes every time, and importing `viz`
stays fast); the words around it are HTML.
"""

from __future__ import annotations

import base64
import html
import math
import struct
import zlib

import numpy as np

from .embed import MAKE_LIVE
from .explore_data import Net, forward, health
from .text import format_number

__all__ = ["fallback_html", "overview_png", "summary_text", "colours", "png_bytes", "class_names",
           "HEATMAP_POINTS", "MAX_DRAWN"]

HEATMAP_POINTS = 40
"""Grid points (pixels) per side of each neuron's heatmap in the static picture."""

MAX_DRAWN = 16
"""The most neurons per layer the static picture draws (the text lists them all)."""

_BOUNDARY = 200  # pixels per side of the decision-boundary panel
_CURVE = (240, 140)  # width, height of the loss panel
_GAP = 16


def _net_of(payload: dict) -> Net:
    return Net(payload["inputs"], tuple(payload["layers"]),
               tuple(tuple(n) for n in payload["layers_neurons"]), (), ())


def _plane(payload: dict, n: int) -> np.ndarray:
    """``n`` x ``n`` points over the input plane, top row first (as an image is stored)."""
    g = payload["grid"]
    gx, gy = np.meshgrid(np.linspace(g["x0"], g["x1"], n), np.linspace(g["y1"], g["y0"], n))
    return np.column_stack([gx.ravel(), gy.ravel()])


def colours(v: np.ndarray) -> np.ndarray:
    """Values in [-1, 1] as RGB in [0, 1]: orange, white, blue (the page's colours)."""
    v = np.clip(np.nan_to_num(v), -1.0, 1.0)[..., None]
    orange, blue = np.array([245, 147, 34]) / 255, np.array([8, 119, 189]) / 255
    return np.where(v < 0, 1 + (orange - 1) * -v, 1 + (blue - 1) * v)


def png_bytes(rgb: np.ndarray) -> bytes:
    """An RGB image (floats in [0, 1], rows top to bottom) as PNG file bytes."""
    pixels = np.clip(np.round(rgb * 255), 0, 255).astype(np.uint8)
    height, width, _ = pixels.shape
    rows = np.concatenate([np.zeros((height, 1), np.uint8), pixels.reshape(height, -1)], axis=1)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows.tobytes(), 9)) + chunk(b"IEND", b""))


def _scaled(activation: str, a: np.ndarray) -> np.ndarray:
    """An activation mapped to [-1, 1] for colouring, as the page does."""
    if activation == "tanh":
        return a
    if activation in ("sigmoid", "step"):
        return 2 * a - 1
    return a / max(float(np.max(np.abs(a))), 1e-12)


def _mosaic(net: Net, layers: list[tuple]) -> np.ndarray:
    """Every hidden neuron's heatmap as one RGB image: a square block of tiles per layer."""
    n, gap = HEATMAP_POINTS, 4
    blocks = []
    for k in range(len(net.layers) - 1):
        a = layers[k][1][:, :MAX_DRAWN]
        columns = math.ceil(math.sqrt(a.shape[1]))
        rows = math.ceil(a.shape[1] / columns)
        block = np.ones((rows * (n + gap), columns * (n + gap) + _GAP, 3))
        for j in range(a.shape[1]):
            r, c = divmod(j, columns)
            tile = colours(_scaled(net.layers[k], a[:, j]).reshape(n, n))
            tile[[0, -1], :] = tile[:, [0, -1]] = 0.7  # a frame: a dead neuron is all white
            block[r * (n + gap):r * (n + gap) + n, c * (n + gap):c * (n + gap) + n] = tile
        blocks.append(block)
    height = max(b.shape[0] for b in blocks)
    image = np.concatenate([np.pad(b, ((0, height - b.shape[0]), (0, 0), (0, 0)),
                                   constant_values=1.0) for b in blocks], axis=1)
    return image.repeat(2, axis=0).repeat(2, axis=1) if height < 100 else image


def _dot(image: np.ndarray, x: float, y: float, radius: float, rgb) -> None:
    """A filled disc centred at pixel (x, y)."""
    h, w, _ = image.shape
    r = int(math.ceil(radius))
    ys, xs = np.mgrid[max(0, int(y) - r):min(h, int(y) + r + 1),
                      max(0, int(x) - r):min(w, int(x) + r + 1)]
    inside = (xs - x) ** 2 + (ys - y) ** 2 <= radius ** 2
    image[ys[inside], xs[inside]] = rgb


def _boundary(payload: dict, net: Net, weights: list[tuple]) -> np.ndarray:
    """The output's decision regions over the plane, with the data points on them."""
    n = _BOUNDARY // 2
    score = forward(net, weights, _plane(payload, n))[-1][1]
    value = score[:, 0] - (payload["threshold"] or 0.0) if score.shape[1] == 1 else \
        score[:, 0] - np.max(score[:, 1:], axis=1)
    value = np.where(value > 0, 0.25, -0.25) + 0.55 * value / max(float(np.abs(value).max()), 1e-12)
    image = colours(value.reshape(n, n)).repeat(2, axis=0).repeat(2, axis=1)
    g, threshold = payload["grid"], payload["threshold"]
    for (x1, x2), t in zip(payload["X"], payload["y"]):
        px = (x1 - g["x0"]) / (g["x1"] - g["x0"]) * (_BOUNDARY - 1)
        py = (g["y1"] - x2) / (g["y1"] - g["y0"]) * (_BOUNDARY - 1)
        positive = t > threshold if threshold is not None else t == 0
        _dot(image, px, py, 4.5, (0.1, 0.1, 0.1))
        _dot(image, px, py, 3.5, colours(np.array(1.0 if positive else -1.0)))
    return image


def _curve(payload: dict) -> np.ndarray:
    """The loss per epoch as a line on a light panel (its numbers are in the caption)."""
    w, h = _CURVE
    image = np.full((h, w, 3), 0.97)
    image[h - 6, 4:w - 4] = image[4:h - 5, 4] = 0.6  # axes
    curve = np.array([v for v in payload["curve"] if v is not None]
                     or [s["loss"] for s in payload["snapshots"] if s["loss"] is not None], float)
    if len(curve) == 0:
        return image
    top = max(float(curve.max()), 1e-12)
    xs = 6 + np.arange(len(curve)) * (w - 12) / max(len(curve) - 1, 1)
    ys = (h - 8) - curve / top * (h - 16)
    for i in range(max(len(curve) - 1, 1)):  # each segment sampled densely, two pixels thick
        j = min(i + 1, len(curve) - 1)
        steps = int(max(abs(xs[j] - xs[i]), abs(ys[j] - ys[i]))) * 2 + 2
        for t in np.linspace(0, 1, steps):
            x, y = xs[i] + t * (xs[j] - xs[i]), ys[i] + t * (ys[j] - ys[i])
            image[int(y):int(y) + 2, int(x):int(x) + 2] = (0.12, 0.37, 0.6)
    return image


def overview_png(payload: dict, weights: list[tuple]) -> bytes | None:
    """The overview at the last snapshot as PNG bytes (None unless the inputs are 2-D).

    Three panels, left to right: each hidden layer's neurons over the input plane (a square
    block of heatmaps per layer), the output's decision boundary with the data points, and
    the loss per epoch.
    """
    if payload["grid"] is None:
        return None
    net = _net_of(payload)
    panels = []
    if len(net.layers) > 1:
        panels.append(_mosaic(net, forward(net, weights, _plane(payload, HEATMAP_POINTS))))
    panels += [_boundary(payload, net, weights), _curve(payload)]
    height = max(p.shape[0] for p in panels)
    parts = []
    for panel in panels:
        top = (height - panel.shape[0]) // 2
        parts += [np.pad(panel, ((top, height - panel.shape[0] - top), (0, 0), (0, 0)),
                         constant_values=1.0), np.ones((height, _GAP, 3))]
    return png_bytes(np.concatenate(parts[:-1], axis=1))


def summary_text(payload: dict, weights: list[tuple]) -> str:
    """The net at the last snapshot as text: loss, and each neuron's weights and health."""
    digits = payload["digits"]
    net = _net_of(payload)
    last = payload["snapshots"][-1]
    flags = health(net, forward(net, weights, np.array(payload["X"])))
    lines = [f"{len(payload['snapshots'])} snapshot(s); shown: "
             + ("the model as it is" if last["epoch"] is None else f"epoch {last['epoch']}")]
    if last["loss"] is not None:
        lines.append(f"loss {format_number(last['loss'], digits)} ({payload['loss']})")
    if last["accuracy"] is not None:
        lines.append(f"accuracy {format_number(last['accuracy'], digits)}")
    for k, (activation, names) in enumerate(zip(net.layers, net.neurons)):
        lines.append(f"layer L{k + 1} ({activation})")
        W, b = weights[k]
        for j, name in enumerate(names):
            ws = ", ".join(f"w{i + 1}={format_number(w, digits)}" for i, w in enumerate(W[j]))
            flag = f"  [{flags[k][j]}]" if flags[k][j] else ""
            lines.append(f"  {name}: {ws}, b={format_number(b[j], digits)}{flag}")
    return "\n".join(lines)


def class_names(payload: dict) -> tuple[str, str]:
    """How the page names the blue and the orange class: by the targets' own values.

    >>> class_names({"y": [0.0, 1.0, 1.0], "threshold": 0.0, "digits": 4})
    ('y = 1', 'y = 0')
    """
    threshold, digits = payload["threshold"], payload["digits"]
    values = sorted(set(payload["y"]))
    blue = [v for v in values if (v == 0 if threshold is None else v > threshold)]
    orange = [v for v in values if v not in blue]

    def name(group: list, other: str) -> str:
        return "y = " + " or ".join(format_number(v, digits) for v in group) \
            if len(group) <= 3 else other

    if threshold is None:
        return name(blue, "y = 0"), name(orange, "y ≠ 0")
    t = format_number(threshold, digits)
    return name(blue, f"y > {t}"), name(orange, f"y ≤ {t}")


def _caption(payload: dict) -> str:
    curve = [v for v in payload["curve"] if v is not None] or \
        [x["loss"] for x in payload["snapshots"] if x["loss"] is not None]
    loss = (f"; right: the loss per epoch, from {format_number(curve[0], 3)} to "
            f"{format_number(curve[-1], 3)}" if curve else "")
    hidden = "left: each hidden layer's neurons over the input plane; " \
        if len(payload["layers"]) > 1 else ""
    g, f = payload["grid"], (lambda v: format_number(v, 3))
    blue, orange = class_names(payload)
    return (f"{hidden}middle: the output's decision regions with the data{loss}.  The plane: "
            f"x1 from {f(g['x0'])} (left) to {f(g['x1'])} (right), x2 from {f(g['y0'])} "
            f"(bottom) to {f(g['y1'])} (top).  Points: blue {blue}, orange {orange}; regions: "
            f"the net's prediction.  Heatmaps: orange negative, white 0, blue positive.")


def fallback_html(payload: dict, weights: list[tuple], picture: bool = True) -> str:
    """The fallback block: a sentence, the PNG overview (if any) and the text, inline-styled.

    ``picture=False`` leaves the PNG out (the live view's page, shown while a kernel runs).
    """
    png = overview_png(payload, weights) if picture else None
    image = ""
    if png is not None:
        data = base64.b64encode(png).decode("ascii")
        image = (f'<img alt="the network: each hidden neuron\'s activation over the input '
                 f'plane, the decision boundary with the data and the loss curve" '
                 f'style="max-width:100%" src="data:image/png;base64,{data}">'
                 f'<p style="margin:2px 0;color:#555">{html.escape(_caption(payload))}</p>')
    return (f'<p style="margin:4px 0">Static picture of the explorer (its scripts did not run '
            f'here; to scrub the training, step backprop and open each neuron: '
            f'{html.escape(MAKE_LIVE)}).</p>{image}<details><summary>The net as '
            f'text</summary><pre style="white-space:pre-wrap">'
            f'{html.escape(summary_text(payload, weights))}</pre></details>')
