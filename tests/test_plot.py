"""Tests for microgrant.plot: figures, files, derivatives from backward, atomic saves."""

import math
import sys
import xml.etree.ElementTree as ET

import pytest

pytest.importorskip("matplotlib")

from microgrant import Value, is_grad_enabled, plot  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"
X = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
Y = [0, 1, 1, 1]


def line(point):
    """A linear score, positive above x1 + x2 = 0.5 (OR's points split by it)."""
    return point[0] + point[1] - 0.5


def test_decision_boundary_writes_png_and_svg(tmp_path):
    png, svg = tmp_path / "b.png", tmp_path / "b.svg"
    fig = plot.decision_boundary(line, X, Y, resolution=20, path=png, title="OR")
    plot.save_figure(fig, svg)
    assert png.read_bytes()[:8] == PNG
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg")
    assert fig.axes[0].get_title() == "OR"


def test_the_grid_is_evaluated_under_no_grad_on_values():
    seen = []

    def model(point):
        seen.append((is_grad_enabled(), all(isinstance(v, Value) for v in point)))
        return point[0].sigmoid()  # a formula may call Value methods on the point

    plot.decision_boundary(model, X, Y, resolution=7, threshold=0.5)
    assert len(seen) == 49
    assert set(seen) == {(False, True)}


def test_boundary_line_is_where_the_score_crosses_the_threshold():
    fig = plot.decision_boundary(line, X, Y, resolution=30, padding=0.5)
    ax = fig.axes[0]
    # the contour drawn at the threshold follows x1 + x2 = 0.5
    segments = [seg for collection in ax.collections if hasattr(collection, "get_paths")
                for path in collection.get_paths()
                for seg in [path.vertices] if len(seg) and collection.get_linewidth()[0] > 1]
    points = [p for seg in segments for p in seg]
    assert points, "no boundary was drawn"
    assert max(abs(x + y - 0.5) for x, y in points) < 1e-6


def test_several_outputs_are_classified_by_their_largest():
    X3 = [[-2.0, 0.0], [0.0, 2.0], [2.0, 0.0]]
    fig = plot.decision_boundary(lambda p: [-p[0], p[1], p[0]], X3, [0, 1, 2], resolution=15)
    assert len(fig.axes) == 1


def test_decision_boundaries_one_panel_per_model(tmp_path):
    fig = plot.decision_boundaries([line, lambda p: p[0] - 0.5, lambda p: p[1] - 0.5], X, Y,
                                   titles=["a", "b", "c"], columns=2, resolution=10,
                                   path=tmp_path / "grid.png")
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in visible] == ["a", "b", "c"]
    assert (tmp_path / "grid.png").read_bytes()[:8] == PNG
    with pytest.raises(ValueError, match="2 titles for 3 models"):
        plot.decision_boundaries([line] * 3, X, Y, titles=["a", "b"])


@pytest.mark.parametrize("X_bad, y_bad, words", [
    ([[0.0, 1.0, 2.0]], [0], "exactly 2 features"),
    ([[0.0, 1.0]], [0, 1], "1 rows but y has 2"),
    ([], [], "at least one point"),
])
def test_bad_data_is_rejected(X_bad, y_bad, words):
    with pytest.raises(ValueError, match=words):
        plot.decision_boundary(line, X_bad, y_bad)


def test_training_curves_has_a_panel_per_series():
    assert len(plot.training_curves([3.0, 2.0, 1.0]).axes) == 1
    fig = plot.training_curves([3.0, 2.0, 1.0], [0.5, 0.75, 1.0], title="run")
    assert [ax.get_ylabel() for ax in fig.axes] == ["loss", "accuracy"]
    assert list(fig.axes[0].lines[0].get_ydata()) == [3.0, 2.0, 1.0]
    with pytest.raises(ValueError, match="at least one loss"):
        plot.training_curves([])


def _sigmoid(z):
    return 1.0 / (1.0 + math.exp(-z))


@pytest.mark.parametrize("name, f, df", [
    ("sigmoid", _sigmoid, lambda z: _sigmoid(z) * (1 - _sigmoid(z))),
    ("tanh", math.tanh, lambda z: 1 - math.tanh(z) ** 2),
    ("relu", lambda z: max(0.0, z), lambda z: 1.0 if z > 0 else 0.0),
    ("leaky_relu", lambda z: z if z > 0 else 0.1 * z, lambda z: 1.0 if z > 0 else 0.1),
    ("step", lambda z: 1.0 if z >= 0 else 0.0, lambda z: 0.0),
    ("linear", lambda z: z, lambda z: 1.0),
])
def test_activation_derivatives_come_from_backward(name, f, df):
    zs = [-3.0, -0.5, 0.0, 0.25, 2.0]
    values, slopes = plot.activation_with_derivative(name, zs)
    assert values == pytest.approx([f(z) for z in zs], abs=1e-12)
    assert slopes == pytest.approx([df(z) for z in zs], abs=1e-12)


def test_activations_figure_plots_function_and_derivative(tmp_path):
    fig = plot.activations(("sigmoid", "relu"), points=11, path=tmp_path / "a.png")
    assert [ax.get_title() for ax in fig.axes] == ["sigmoid", "relu"]
    relu_derivative = fig.axes[1].lines[1].get_ydata()
    assert list(relu_derivative) == [0.0] * 6 + [1.0] * 5  # z = -6..6: relu'(0) = 0
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        plot.activations(("swish",))
    with pytest.raises(ValueError, match="points must be a whole number >= 2"):
        plot.activations(points=1)


def test_save_rejects_unknown_suffix_and_missing_folder(tmp_path):
    fig = plot.training_curves([1.0])
    with pytest.raises(ValueError, match=r"\.png"):
        plot.save_figure(fig, tmp_path / "curves.bmpx")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        plot.save_figure(fig, tmp_path / "missing" / "curves.png")


def test_a_failed_save_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "curves.png"
    target.write_bytes(b"old picture")
    fig = plot.training_curves([1.0, 0.5])
    real_savefig = fig.savefig

    def half_then_fail(file, **kwargs):
        real_savefig(file, **kwargs)  # part of the picture is drawn, then the disk fills up
        raise OSError("disk full")

    monkeypatch.setattr(fig, "savefig", half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        plot.save_figure(fig, target)
    assert target.read_bytes() == b"old picture"
    assert [p.name for p in tmp_path.iterdir()] == ["curves.png"]


def test_missing_matplotlib_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r'pip install "microgrant\[plot\]"'):
        plot.training_curves([1.0])


def test_the_activations_are_the_op_tables_and_the_identity():
    from microgrant.ops import OPS

    table = [op.method for op in OPS.values() if op.activation]
    assert list(plot.ACTIVATIONS) == [*table, "linear"]


def test_grid_and_panel_sizes_are_checked_before_drawing():
    models = [lambda p: p[0]]
    with pytest.raises(ValueError, match="resolution must be a whole number >= 2; got 1"):
        plot.decision_boundaries(models, [[0, 0]], [0], resolution=1)
    with pytest.raises(TypeError, match="columns must be a whole number"):
        plot.decision_boundaries(models, [[0, 0]], [0], columns=1.5)


def test_training_curves_take_fits_history_as_it_is():
    with_gap = plot.training_curves([0.9, 0.5, 0.2], [None, 0.75, 1.0])
    assert len(with_gap.axes) == 2
    assert math.isnan(with_gap.axes[1].lines[0].get_ydata()[0])
    assert len(plot.training_curves([0.9, 0.5], [None, None]).axes) == 1  # regression targets
