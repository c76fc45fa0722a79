"""Tests for the microgrant command: exit codes, messages on stderr, the files it writes."""

import math
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from microgrant.cli import main

PNG = b"\x89PNG\r\n\x1a\n"
GRAPH_FILES = ["forward.svg", "forward.png", "backward.svg", "backward.png", "steps.html"]


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def check_picture(path):
    data = path.read_bytes()
    if path.suffix == ".png":
        assert data[:8] == PNG, path
    elif path.suffix == ".svg":
        assert ET.fromstring(data).tag.endswith("svg"), path
    elif path.suffix == ".html":
        assert b"<html" in data[:500].lower() and b"</html>" in data[-200:].lower(), path


def sigma(z):
    return 1.0 / (1.0 + math.exp(-z))


# ---- help and usage ---------------------------------------------------------------------------

@pytest.mark.parametrize("argv", [["--help"], ["demo", "--help"], ["chain-rule", "--help"],
                                  ["graph", "--help"], ["train", "--help"],
                                  ["check-engine", "--help"]])
def test_help_exits_0(capsys, argv):
    code, out, err = run(capsys, *argv)
    assert code == 0
    assert "usage: microgrant" in out and err == ""


def test_no_command_is_a_usage_error(capsys):
    code, out, err = run(capsys)
    assert code == 2
    assert "choose a command" in err and out == ""


def test_unknown_command_is_argparses_usage_error(capsys):
    code, _, err = run(capsys, "frobnicate")
    assert code == 2 and "invalid choice" in err


# ---- demo ------------------------------------------------------------------------------------

def test_demo_writes_graphs_stepper_and_plot(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    out_dir = tmp_path / "demo"
    code, out, err = run(capsys, "demo", "--out", str(out_dir))
    assert code == 0, err
    expected = [f"two_neurons_{name}" for name in GRAPH_FILES] + ["xor_boundary.png"]
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(expected)
    for name in expected:
        check_picture(out_dir / name)
        assert str(out_dir / name) in out  # it lists what it wrote
    # the derivation, step by step, with backward's gradient of the default numbers
    x1, y, w1, w2 = 1.5, 1.0, 0.8, -0.6
    a1 = sigma(w1 * x1)
    y_hat = sigma(w2 * a1)
    assert "Backward pass" in out and "has a sign error" in out
    assert f"{(y_hat - y) * a1:+.6g}" in out  # dJ/dw2 = (y_hat - y) a1 for BCE of a sigmoid
    assert "accuracy 100%" in out


def test_demo_without_matplotlib_still_succeeds(capsys, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    code, out, err = run(capsys, "demo", "--out", str(tmp_path))
    assert code == 0
    assert 'pip install "microgrant[plot]"' in err
    assert not (tmp_path / "xor_boundary.png").exists()
    assert (tmp_path / "two_neurons_backward.svg").exists()


# ---- chain-rule --------------------------------------------------------------------------------

@pytest.mark.parametrize("x1, y, w1, w2", [(1.5, 1.0, 0.8, -0.6), (-2.0, 0.0, 0.3, 1.7),
                                           (0.5, 1.0, -1.2, 2.5)])
def test_chain_rule_prints_backwards_gradients(capsys, x1, y, w1, w2):
    code, out, err = run(capsys, "chain-rule", "--x1", str(x1), "--y", str(y), "--w1", str(w1),
                         "--w2", str(w2))
    assert code == 0, err
    z1 = w1 * x1
    a1 = sigma(z1)
    y_hat = sigma(w2 * a1)
    dw2 = (y_hat - y) * a1
    dw1 = (y_hat - y) * w2 * a1 * (1 - a1) * x1
    assert f"{dw2:+.6g}" in out and f"{dw1:+.6g}" in out
    assert ("has a sign error" in out) == (y == 1.0)
    assert ("both forms of (2) agree" in out) == (y == 0.0)


def test_chain_rule_can_write_its_graphs(capsys, tmp_path):
    code, out, _ = run(capsys, "chain-rule", "--y", "0", "--out", str(tmp_path))
    assert code == 0
    for name in GRAPH_FILES:
        check_picture(tmp_path / f"two_neurons_{name}")


@pytest.mark.parametrize("argv, words", [
    (["--y", "2"], "in [0, 1]"),
    (["--x1", "abc"], "x1 must be a number"),
    (["--w1", "inf"], "finite"),
])
def test_chain_rule_usage_errors(capsys, argv, words):
    code, out, err = run(capsys, "chain-rule", *argv)
    assert code == 2
    assert words in err and "usage: microgrant chain-rule" in err


def test_chain_rule_runtime_error_is_one_line_without_traceback(capsys):
    # y_hat rounds to exactly 1.0, so log(1 - y_hat) is log(0)
    code, out, err = run(capsys, "chain-rule", "--x1", "5", "--w1", "5", "--w2", "1000")
    assert code == 1
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "log" in err


# ---- graph ---------------------------------------------------------------------------------

def test_graph_prints_value_gradients_and_writes_files(capsys, tmp_path):
    code, out, err = run(capsys, "graph", "tanh(x*w + b)", "x=2", "w=-0.5", "b=0.25",
                         "--out", str(tmp_path))
    assert code == 0, err
    t = math.tanh(2 * -0.5 + 0.25)
    assert f"f = tanh(x*w + b) = {t:.10g}" in out
    assert f"df/dx = {(1 - t * t) * -0.5:.10g}" in out
    assert f"df/dw = {(1 - t * t) * 2:.10g}" in out
    assert f"df/db = {1 - t * t:.10g}" in out
    assert "Backward pass" in out
    for name in GRAPH_FILES:
        check_picture(tmp_path / f"graph_{name}")


def test_graph_expression_starting_with_minus_goes_after_double_dash(capsys, tmp_path):
    code, out, _ = run(capsys, "graph", "--out", str(tmp_path), "--", "-x**2", "x=3")
    assert code == 0
    assert "f = -x**2 = -9" in out and "df/dx = -6" in out


def test_graph_expression_starting_with_minus_needs_no_double_dash(capsys, tmp_path):
    code, out, err = run(capsys, "graph", "-x*x", "x=2", "--out", str(tmp_path))
    assert code == 0, err
    assert "f = -x*x = -4" in out and "df/dx = -4" in out


def test_graph_output_name_never_shadows_a_variable(capsys, tmp_path):
    code, out, _ = run(capsys, "graph", "f*out", "f=2", "out=3", "--out", str(tmp_path))
    assert code == 0
    assert "result = f*out = 6" in out and "dresult/df = 3" in out and "dresult/dout = 2" in out


@pytest.mark.parametrize("argv, words", [
    (["x*y", "x=1"], "no value given for the name 'y'"),
    (["x", "x=1", "x=2"], "given a value twice"),
    (["x", "x"], "expected name=value"),
    (["x", "x=abc"], "the value of x must be a number"),
    (["x", "x=nan"], "finite"),
    (["x", "1x=2"], "expected name=value"),
    (["x", "x=1", "z=2"], "z is not in the expression"),
    (["exp(x)", "exp=1", "x=1"], "is a function"),
    (["foo(x)", "x=1"], "known functions are exp, log, sqrt"),
    (["2 + 3"], "no names"),
    (["__import__('os').system('true')", "x=1"], "unexpected character"),
    (["x.__class__", "x=1"], "attributes are not part of the language"),
    (["x" + "+x" * 6000, "x=1"], "the limit is"),
])
def test_graph_usage_errors(capsys, tmp_path, argv, words):
    code, out, err = run(capsys, "graph", "--out", str(tmp_path), *argv)
    assert code == 2
    assert words in err
    assert "usage: microgrant graph" in err
    assert list(tmp_path.iterdir()) == []


def test_graph_bad_expression_shows_a_caret_under_the_position(capsys, tmp_path):
    code, _, err = run(capsys, "graph", "--out", str(tmp_path), "x + * y", "x=1", "y=2")
    assert code == 2
    lines = err.splitlines()
    shown = lines.index("  x + * y")
    assert lines[shown + 1] == "      ^"


def test_graph_domain_error_is_a_runtime_error(capsys, tmp_path):
    code, out, err = run(capsys, "graph", "--out", str(tmp_path), "log(x)", "x=-1")
    assert code == 1
    assert "log" in err and "x > 0" in err and "Traceback" not in err
    assert err.count("\n") == 1


# ---- train ---------------------------------------------------------------------------------

def test_train_xor_prints_progress_accuracy_and_writes_plots(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    code, out, err = run(capsys, "train", "xor", "--hidden", "4", "--activation", "tanh",
                         "--epochs", "150", "--lr", "0.1", "--seed", "1",
                         "--out", str(tmp_path))
    assert code == 0, err
    assert "epoch 150/150" in out
    assert "accuracy after training: 100.0% (4 of 4 points)" in out
    for name in ("xor_boundary.png", "xor_curves.png"):
        check_picture(tmp_path / name)


@pytest.mark.parametrize("dataset", ["moons", "circles", "blobs", "admissions", "and"])
def test_train_every_dataset_runs(capsys, tmp_path, dataset):
    code, out, err = run(capsys, "train", dataset, "--epochs", "2", "--n", "12",
                         "--hidden", "3", "--optimizer", "sgd", "--out", str(tmp_path))
    assert code == 0, err
    assert "accuracy after training" in out


def test_train_not_learns_the_gate_of_one_input(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    code, out, err = run(capsys, "train", "not", "--hidden", "2", "--epochs", "100",
                         "--seed", "0", "--out", str(tmp_path))
    assert code == 0, err
    assert "accuracy after training: 100.0% (2 of 2 points)" in out
    check_picture(tmp_path / "not_curves.png")  # one input: no plane for a boundary
    assert not (tmp_path / "not_boundary.png").exists()


@pytest.mark.parametrize("argv, words", [
    (["spirals"], "invalid choice"),
    (["xor", "--hidden", "8,x"], "layer sizes separated by commas"),
    (["xor", "--hidden", "0"], ">= 1"),
    (["xor", "--lr", "0"], "> 0"),
    (["xor", "--epochs", "0"], ">= 1"),
    (["xor", "--optimizer", "lbfgs"], "invalid choice"),
    (["xor", "--activation", "swish"], "invalid choice"),
])
def test_train_usage_errors(capsys, argv, words):
    code, out, err = run(capsys, "train", *argv)
    assert code == 2
    assert words in err


# ---- the installed command -----------------------------------------------------------------

def test_python_dash_m_runs_the_command(tmp_path):
    done = subprocess.run([sys.executable, "-m", "microgrant", "--help"], capture_output=True,
                          text=True, cwd=tmp_path, timeout=60)
    assert done.returncode == 0 and "chain-rule" in done.stdout
    done = subprocess.run([sys.executable, "-m", "microgrant", "graph", "x +", "x=1"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert done.returncode == 2
    assert "  x +\n     ^" in done.stderr and "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_console_script(tmp_path):
    # Installed beside this interpreter (the virtual environment's bin), or on PATH.
    command = (shutil.which("microgrant", path=str(Path(sys.executable).parent))
               or shutil.which("microgrant"))
    if command is None:
        pytest.skip("the microgrant console script is not installed")
    done = subprocess.run([command, "graph", "x*x", "x=3", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "df/dx = 6" in done.stdout


# ---- arguments are checked by microgrant.checks: a bad one is a usage error ---------------------

@pytest.mark.parametrize("argv, words", [
    (["--seed", "-1"], "seed must be a whole number >= 0; got -1"),
    (["--seed", "1.5"], "seed must be a whole number"),
    (["--epochs", "\u0663"], "written with the digits 0-9"),  # ARABIC-INDIC DIGIT THREE
    (["--lr", "nan"], "lr must be a finite number > 0"),
    (["--n", "-4"], "n must be a whole number >= 1; got -4"),
])
def test_train_arguments_out_of_range_are_usage_errors_that_say_what_is_allowed(capsys, tmp_path,
                                                                                 argv, words):
    code, out, err = run(capsys, "train", "moons", *argv, "--out", str(tmp_path))
    assert code == 2
    assert words in err and "usage: microgrant train" in err
    assert out == "" and list(tmp_path.iterdir()) == []


def test_a_value_with_other_scripts_digits_is_refused_like_in_an_expression(capsys, tmp_path):
    code, _, err = run(capsys, "graph", "x * 2", "x=\u0661", "--out", str(tmp_path))
    assert code == 2 and "the value of x must be a number, written with the digits 0-9" in err


def test_the_activation_choices_are_the_op_tables_and_linear():
    from microgrant.cli import ACTIVATIONS
    from microgrant.ops import OPS

    assert set(ACTIVATIONS) == {op.method for op in OPS.values() if op.activation} | {"linear"}


@pytest.mark.parametrize("activation", ["step", "sigmoid", "linear"])
def test_train_accepts_every_activation_of_the_table(capsys, tmp_path, activation):
    code, out, err = run(capsys, "train", "and", "--activation", activation, "--epochs", "2",
                         "--hidden", "2", "--out", str(tmp_path))
    assert code == 0, err
    assert "accuracy after training" in out


def test_diverged_training_is_one_line_on_stderr_and_writes_nothing(capsys, tmp_path):
    code, out, err = run(capsys, "train", "moons", "--optimizer", "sgd", "--lr", "1e300",
                         "--epochs", "20", "--n", "20", "--out", str(tmp_path))
    assert code == 1
    assert err.count("\n") == 1 and "diverged" in err and "smaller --lr" in err
    assert "Warning" not in err
    assert not tmp_path.exists() or list(tmp_path.iterdir()) == []


# ---- quiet, readable, bounded ------------------------------------------------------------------

def command(*argv, cwd, timeout=120):
    """The command in a process of its own: Graphviz writes to the process's stderr itself."""
    return subprocess.run([sys.executable, "-m", "microgrant", *argv], capture_output=True,
                          text=True, cwd=cwd, timeout=timeout)


@pytest.mark.parametrize("argv", [
    ["demo", "--out", "out"],
    ["chain-rule", "--y", "0", "--out", "out"],
    ["graph", "tanh(x*w + b)", "x=2", "w=-0.5", "b=0.25", "--out", "out"],
    ["train", "xor", "--epochs", "20", "--out", "out"],
])
def test_every_command_prints_nothing_on_stderr(tmp_path, argv):
    done = command(*argv, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert list((tmp_path / "out").iterdir())


def png_size(path):
    data = path.read_bytes()
    assert data[:8] == PNG and data[12:16] == b"IHDR"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_the_demos_graphs_are_not_strips(capsys, tmp_path):
    code, _, err = run(capsys, "demo", "--out", str(tmp_path))
    assert code == 0, err
    for view in ("forward", "backward"):
        width, height = png_size(tmp_path / f"two_neurons_{view}.png")
        assert max(width, height) / min(width, height) < 4, (view, width, height)


def test_a_long_sum_is_drawn_within_the_layout_bound(tmp_path):
    # A hang guard, not a timing: before the layout was bounded, 60 terms took half a minute.
    done = command("graph", "+".join(["x"] * 150), "x=1", "--out", "out", cwd=tmp_path,
                   timeout=90)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert "df/dx = 150" in done.stdout
    for name in GRAPH_FILES:
        check_picture(tmp_path / "out" / f"graph_{name}")


# ---- words a learner needs ---------------------------------------------------------------------

def test_spaced_layer_sizes_get_a_hint_to_join_them_with_commas(capsys):
    code, out, err = run(capsys, "train", "moons", "--hidden", "16", "16")
    assert code == 2 and out == ""
    assert "write --hidden 16,16, not --hidden 16 16" in err
    assert "usage: microgrant train" in err


@pytest.mark.parametrize("argv", [["demo"], ["graph", "x*x", "x=2"], ["train", "xor"],
                                  ["chain-rule"]])
def test_an_out_that_is_a_file_is_a_usage_error_not_an_errno(capsys, tmp_path, argv):
    somefile = tmp_path / "somefile"
    somefile.write_text("keep me")
    for out_arg in (somefile, somefile / "inside"):
        code, out, err = run(capsys, *argv, "--out", str(out_arg))
        assert code == 2, err
        assert "is a file, not a folder" in err and "Errno" not in err
        assert out == ""  # refused before any work
    assert somefile.read_text() == "keep me"


def test_train_refuses_a_run_beyond_the_documented_limit(capsys):
    from microgrant.cli import MAX_WORK

    code, out, err = run(capsys, "train", "moons", "--hidden", "300,300")
    assert code == 2 and out == ""
    assert f"the limit is {MAX_WORK:,}" in err and "91,501 parameters" in err
    assert "smaller layers, fewer --epochs or a smaller --n" in err
    code, out, _ = run(capsys, "train", "--help")
    assert code == 0 and f"{MAX_WORK:,}" in out


def test_the_sizes_the_readme_uses_stay_within_the_limit():
    from microgrant.cli import MAX_WORK, _check_work

    _check_work([16, 16], 100, 100)   # the README's moons run
    _check_work([32, 32], 100, 200)   # a minute's worth
    with pytest.raises(Exception, match="parameter updates"):
        _check_work([64, 64], 100, 200)
    assert MAX_WORK == 25_000_000


def test_trained_accuracy_is_said_with_its_loss_and_which_model_it_is(capsys, tmp_path):
    from microgrant import data
    from microgrant.losses import binary_cross_entropy_with_logits
    from microgrant.nn import MLP
    from microgrant.optim import Adam
    from microgrant.train import accuracy, fit

    code, out, err = run(capsys, "train", "xor", "--epochs", "3", "--out", str(tmp_path))
    assert code == 0, err
    assert "measures the model as the epoch starts" in out
    # the same run by hand: the last epoch line is the model after two steps ...
    X, y = data.logic_gate("xor")
    for epochs in (2, 3):
        model = MLP(2, [8, 8, 1], activation="relu", seed=0)
        fit(model, X, y, loss="bce_logits", optimizer=Adam(model.parameters(), lr=0.05),
            epochs=epochs, verbose=False)
        acc = accuracy(model, X, y, loss="bce_logits")
        loss = binary_cross_entropy_with_logits([model(r) for r in X.tolist()],
                                                y.tolist()).data
        if epochs == 2:
            assert f"epoch 3/3  loss {loss:.6g}  accuracy {acc:.1%}" in out
    # ... and the final line is the model after the third, with its own loss
    assert (f"accuracy after training: {acc:.1%} (3 of 4 points), loss {loss:.6g}: the "
            "trained model, after epoch 3's step") in out
