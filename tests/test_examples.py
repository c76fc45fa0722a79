"""Every example runs, and the numbers each one checks against the notes are right."""

import importlib.util
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

from microgrant import check_engine
from microgrant.notes import note_004_factors, two_neurons

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SCRIPTS = sorted(EXAMPLES.glob("[0-9][0-9]_*.py"))

# Smaller sizes for the slower examples; every other example runs with its defaults.
SMALL = {
    "03": ["--epochs", "5"],
    "07": ["--n", "20", "--epochs", "5"],
    "10": ["--hidden", "1,2", "--epochs", "60"],
    "11": ["--n", "20", "--epochs", "5", "--hidden", "4"],
    "13": ["--n", "20", "--steps", "2"],
}


def load(number: str):
    """Imports examples/<number>_*.py as a module (its name starts with a digit)."""
    (path,) = EXAMPLES.glob(f"{number}_*.py")
    spec = importlib.util.spec_from_file_location(f"example_{number}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_examples_are_found():
    # 00 is the engine in one page; 01-11 teach the notes; 12 builds Keras's Dense layers;
    # every new one is picked up here.
    names = [s.name[:2] for s in SCRIPTS]
    assert names[:13] == [f"{k:02d}" for k in range(0, 13)]
    assert len(set(names)) == len(names), "two examples share a number"


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.stem for s in SCRIPTS])
def test_example_runs(script, tmp_path):
    argv = [sys.executable, str(script), *SMALL.get(script.name[:2], [])]
    out_dir = tmp_path / "out"
    if '"--out"' in script.read_text():
        argv += ["--out", str(out_dir)]
    done = subprocess.run(argv, capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stderr == "", "an example prints nothing on stderr (no Graphviz, no warnings)"
    assert done.stdout.strip(), "an example should say what it shows"
    # whatever it wrote went to the output folder, not the working directory
    assert {p.name for p in tmp_path.iterdir()} <= {"out"}


# ---- 02: logic gates and the perceptron trick ----------------------------------------------

def test_02_gates_xor_and_the_perceptron_trick():
    ex = load("02")
    for weights, gate in ex.GATES.values():
        assert ex.truth_table(weights) == ex.TRUTH[gate]
    assert ex.separating_lines(ex.TRUTH["XOR"]) == 0
    assert ex.separating_lines(ex.TRUTH["AND"]) > 0
    assert [ex.xor_from_nand_and_or(x) for x in ex.INPUTS] == [0, 1, 1, 0]
    assert ex.step_gradients((1.0, 1.0, -1.2), (1, 1)) == [0.0, 0.0, 0.0]
    w, b = ex.trick_000()
    assert w == pytest.approx([2.6, 3.5]) and b == pytest.approx(-10.1)


# ---- 03: the perceptron rule exercise and Adaline --------------------------------------------

def test_03_exercise_ends_at_the_expected_weights():
    ex = load("03")
    steps, weights, bias = ex.exercise()
    assert [s["error"] for s in steps] == [-1, 1, 0]
    assert [s["score"] for s in steps] == [0.5, -0.2, 0.1]
    assert weights == [-0.2, -0.1, 0.0] and bias == 0.5


def test_03_adaline_rule_is_the_gradient_and_the_notes_first_bias_update_is_not():
    ex = load("03")
    by_backward, by_formula, error = ex.adaline_gradients([0.1, -0.2, 0.3], 0.05,
                                                          [1.0, 2.0, 3.0], 1)
    assert by_backward == pytest.approx(by_formula, abs=1e-12)
    assert by_backward[-1] == pytest.approx(-error)  # dJ/db = -(y - F(x)), not +(y - F(x))


# ---- 04: activations and note 002's table --------------------------------------------------

def test_04_sigmoid_table_agrees_to_float32():
    ex = load("04")
    table = ex.sigmoid_table()
    assert [z for z, _, _ in table] == list(range(-6, 7))
    for z, note, ours in table:
        s = 1.0 / (1.0 + math.exp(-z))
        assert ours == pytest.approx(s * (1 - s), abs=1e-15)
        assert abs(note - ours) <= ex.FLOAT32_TOLERANCE
    assert ex.chain_of_sigmoids(1) == 0.25
    assert ex.chain_of_sigmoids(10) < 0.25 ** 10


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu"])
def test_04_backward_agrees_with_the_notes_formulas(name):
    ex = load("04")
    _, formula = ex.FORMULAS[name]
    for z in (-2.0, -0.1, 0.7, 3.0):
        g, slope = ex.derivative(name, z)
        assert slope == pytest.approx(formula(z, g), abs=1e-14)


# ---- 05: g(1 + 3 x1 - 2 x2) at X = [-2, 2] -------------------------------------------------

def test_05_the_notes_y_hat_is_slightly_off():
    ex = load("05")
    z, y_hat, grads = ex.example()
    assert z == -9.0
    assert y_hat == pytest.approx(1.0 / (1.0 + math.exp(9.0)), rel=1e-15)
    assert abs(ex.NOTE_002_YHAT - y_hat) > 1e-8  # the note's 0.00012338161
    slope = y_hat * (1 - y_hat)
    assert [grads["w0"], grads["w1"], grads["w2"]] == pytest.approx(
        [slope, -2 * slope, 2 * slope], rel=1e-12)


# ---- 06: softmax, likelihood, cross-entropy ------------------------------------------------

def test_06_likelihood_and_cross_entropy_of_note_003():
    ex = load("06")
    likelihood, cross_entropy, grads = ex.likelihood_and_cross_entropy()
    assert likelihood == pytest.approx(0.1 * 0.6 * 0.2 * 0.7) and likelihood != ex.NOTE_LIKELIHOOD
    assert likelihood == pytest.approx(ex.NOTE_LIKELIHOOD / 10)
    assert cross_entropy == pytest.approx(-math.log(0.0084))
    assert round(cross_entropy, 1) == ex.NOTE_CROSS_ENTROPY
    assert grads == pytest.approx([-1 / p for p in ex.P_003])


def test_06_softmax_jacobian():
    ex = load("06")
    by_backward, by_formula = ex.softmax_jacobian([2.0, 1.0, 0.1, -3.0])
    for row_b, row_f in zip(by_backward, by_formula):
        assert row_b == pytest.approx(row_f, abs=1e-14)
        assert sum(row_b) == pytest.approx(0.0, abs=1e-14)  # probabilities always sum to 1


# ---- 07: logistic regression --------------------------------------------------------------

def test_07_backward_gives_minus_y_minus_y_hat_times_x():
    ex = load("07")
    for weights, bias, x, y in [([0.2, -0.1], -0.5, [7.0, 6.0], 1),
                                ([1.0, 2.0], 0.3, [-1.0, 0.5], 0)]:
        ours, note, _, _ = ex.point_gradients(weights, bias, x, y)
        assert ours == pytest.approx(note, abs=1e-12)


def test_07_training_with_backward_follows_the_notes_update():
    ex = load("07")
    X = [[1.0, 2.0], [3.0, 0.5], [0.2, 0.1], [2.5, 2.5]]
    Y = [0, 1, 0, 1]
    w1, b1, losses, _ = ex.train(X, Y, epochs=20, lr=0.1, by_backward=True)
    w2, b2, _, _ = ex.train(X, Y, epochs=20, lr=0.1, by_backward=False)
    assert w1 + [b1] == pytest.approx(w2 + [b2], abs=1e-12)
    assert losses[-1] < losses[0]


# ---- 08: forward propagation --------------------------------------------------------------

def test_08_theta1_forward_pass_and_note_003s_combination():
    ex = load("08")
    for k, row in enumerate(ex.THETA1):
        for i, example in enumerate(ex.A1):
            z = sum(t * a for t, a in zip(row, example))
            expected = 1.0 / (1.0 + math.exp(-z))
            assert ex.forward_by_hand()[k][i] == pytest.approx(expected, abs=1e-15)
            assert ex.forward_by_layer()[k][i] == pytest.approx(expected, abs=1e-15)
    z, out, _ = ex.combine(8.0)
    assert z == pytest.approx(4.2) and round(out, 4) == 0.9852
    z, out, _ = ex.combine(7.0)
    assert z == pytest.approx(3.8) and round(out, 4) == 0.9781


# ---- 09: note 004's two-neuron backprop -----------------------------------------------------

POINTS = [(1.5, 1.0, 0.8, -0.6), (-2.0, 1.0, 0.3, 1.7), (0.5, 0.0, -1.2, 2.5),
          (3.0, 0.0, 0.1, -0.4)]


@pytest.mark.parametrize("x1, y, w1, w2", POINTS)
def test_09_corrected_chain_rule_factors_multiply_to_backwards_gradient(x1, y, w1, w2):
    ex = load("09")
    r = ex.compare(x1, y, w1, w2)
    f = note_004_factors(x1, y, w1, w2)
    product_w2 = (f["(2) dJ/dŷ, corrected"] * f["(3) dŷ/dz2"] * f["(4) dz2/dw2"])
    product_w1 = (f["(2) dJ/dŷ, corrected"] * f["(3) dŷ/dz2"] * f["dz2/da1"]
                  * f["da1/dz1"] * f["dz1/dw1"])
    assert product_w2 == pytest.approx(r["backward dJ/dw2"], rel=1e-12, abs=1e-15)
    assert product_w1 == pytest.approx(r["backward dJ/dw1"], rel=1e-12, abs=1e-15)
    assert r["backward dJ/dŷ"] == pytest.approx(f["(2) dJ/dŷ, corrected"], rel=1e-12)
    assert r["gradcheck ok"] == 1.0
    assert r["finite difference dJ/dw2"] == pytest.approx(product_w2, rel=1e-5, abs=1e-8)


@pytest.mark.parametrize("x1, y, w1, w2", POINTS)
def test_09_the_printed_equation_2_is_wrong_exactly_when_y_is_1(x1, y, w1, w2):
    ex = load("09")
    r = ex.compare(x1, y, w1, w2)
    printed = r["dJ/dw2, as printed"]
    if y == 1.0:
        assert printed == pytest.approx(-r["backward dJ/dw2"], rel=1e-12)  # the sign flips
        assert ex.one_step(x1, y, w1, w2, 0.5, "as printed") > r["J"]  # it climbs
    else:
        assert printed == pytest.approx(r["backward dJ/dw2"], rel=1e-12)
    assert ex.one_step(x1, y, w1, w2, 0.5, "corrected") < r["J"]


def test_09_renders_graphs_and_stepper(tmp_path):
    ex = load("09")
    written = ex.render(two_neurons()["J"], tmp_path)
    assert sorted(p.suffix for p in written) == [".html", ".png", ".png", ".svg", ".svg"]
    assert (tmp_path / "two_neurons_backward.png").read_bytes()[:4] == b"\x89PNG"


# ---- 10: XOR with more and more hidden neurons ---------------------------------------------

def test_10_one_hidden_neuron_cannot_fit_xor_and_a_few_can():
    ex = load("10")
    _, _, one = ex.train_xor(1, epochs=200)
    _, _, three = ex.train_xor(3, epochs=200)
    assert one <= 0.75
    assert three == 1.0


# ---- 14-17: the exercises ------------------------------------------------------------------

def test_14_the_hand_pass_is_the_perceptrons_and_each_slip_is_recognised():
    ex = load("14")
    lines, w, b = ex.one_pass()
    assert (w, b) == ex.checked_by_microgrant() == ([-0.2, -0.1, 0.0], 0.5)
    assert len(lines) == 3 and "error = -1" in lines[0]
    assert ex.check_answer([-0.2, -0.1, 0.0], 0.5).startswith("right")
    answers = set()
    for slip, flags in ex.SLIPS.items():
        _, sw, sb = ex.one_pass(**flags)
        answers.add((tuple(sw), sb))
        assert slip in ex.check_answer(sw, sb)
    assert len(answers) == len(ex.SLIPS) and (tuple(w), b) not in answers
    assert "redo the pass" in ex.check_answer([1.0, 1.0, 1.0], 0.0)


def run(number: str, *argv: str, cwd: Path) -> subprocess.CompletedProcess:
    """Runs examples/<number>_*.py with ``argv`` as a learner would, from ``cwd``."""
    (script,) = EXAMPLES.glob(f"{number}_*.py")
    return subprocess.run([sys.executable, str(script), *argv], capture_output=True,
                          text=True, cwd=cwd, timeout=120)


def mentions(text: str, number: float) -> bool:
    """Whether ``number`` appears in ``text`` as a number (-1 in "-1" or "-1.0", not "-12")."""
    pattern = rf"(?<![\d.]){re.escape(f'{number:g}')}(\.0*)?(?![\d.])"
    return re.search(pattern, text) is not None


def test_14_asks_before_it_tells(tmp_path):
    ex = load("14")
    _, w, b = ex.one_pass()
    asked = run("14", cwd=tmp_path)
    assert asked.returncode == 0, asked.stderr
    # The problem's numbers are there, the answer's are not (W starts at 0 and b = 0.5 is
    # both the start and the end, so only the weights tell the answer).
    assert "r = 0.1" in asked.stdout and "x = [3, 2, 1] -> y = 0" in asked.stdout
    assert "--answer W1 W2 W3 B" in asked.stdout and "--solution" in asked.stdout
    for text in (asked.stdout, ex.__doc__, run("14", "--help", cwd=tmp_path).stdout):
        assert not any(mentions(text, wi) for wi in w if wi != 0), text
    helped = run("14", "--help", cwd=tmp_path).stdout
    assert "x = [3, 2, 1] -> y = 0" in helped and "r = 0.1" in helped
    shown = run("14", "--solution", cwd=tmp_path).stdout
    assert f"by hand: W = {w}, b = {b:g}" in shown and "they agree" in shown
    assert all(mentions(shown, wi) for wi in w)  # the check above can see the answer
    slip = run("14", "--answer", "0.3", "0.2", "0.1", "0.6", cwd=tmp_path).stdout
    assert "not yet" in slip and "g - y instead of y - g" in slip
    assert not any(mentions(slip, wi) for wi in w if wi != 0)
    right = run("14", "--answer", *map(str, w), str(b), cwd=tmp_path).stdout
    assert right.startswith("right")


def test_16_asks_before_it_tells(tmp_path):
    ex = load("16")
    answer = ex.by_engine()
    names = ("dE/dw1", "dE/dw2", "dE/db")
    asked = run("16", cwd=tmp_path)
    assert asked.returncode == 0, asked.stderr
    assert "w = [0.75, -0.5], b = 0.25, x = [1, 2], y = 1" in asked.stdout
    assert "--answer DW1 DW2 DB" in asked.stdout and "--solution" in asked.stdout
    helped = run("16", "--help", cwd=tmp_path).stdout
    for text in (asked.stdout, ex.__doc__, helped):
        # -0.5 is also w2, given in the problem; -1 (dE/dw2) is the answer's alone
        assert not mentions(text, answer[1]), text
        for line in text.splitlines():  # no gradient is put next to its value
            assert not any(n in line and mentions(line, a) for n, a in zip(names, answer))
    assert "w = [0.75, -0.5], b = 0.25 and the sample x = [1, 2]" in " ".join(helped.split())
    shown = run("16", "--solution", cwd=tmp_path).stdout
    rows = {line.split()[0]: [float(v) for v in line.split()[1:]]
            for line in shown.splitlines() if line.split()[:1] and line.split()[0] in names}
    assert rows == {n: [a, a, a] for n, a in zip(names, answer)}
    assert "all three agree" in shown
    assert mentions(shown, answer[1])  # the check above can see the answer
    flipped = run("16", "--answer", *(str(-a) for a in answer), cwd=tmp_path).stdout
    assert "sign is flipped" in flipped and not mentions(flipped, answer[1])
    one_off = run("16", "--answer", str(answer[0]), "7", str(answer[2]), cwd=tmp_path).stdout
    assert "dE/dw2 differ" in one_off and "dE/dw1" not in one_off.split(";")[0]


@pytest.mark.parametrize("number", ["14", "16"])
def test_an_answer_and_the_solution_are_not_asked_together(number, tmp_path):
    done = run(number, "--solution", "--answer", *["0"] * (4 if number == "14" else 3),
               cwd=tmp_path)
    assert done.returncode == 2 and "not allowed with" in done.stderr


def test_15_builds_a_practice_page(tmp_path):
    ex = load("15")
    page = ex.practice_page(two_neurons()["J"])
    assert page.data["practice"]
    assert page.save(tmp_path / "p.html").read_text().lower().startswith("<!doctype html>")


def test_16_by_hand_by_formula_and_by_backward_agree():
    ex = load("16")
    factors, hand = ex.by_hand()
    assert factors["z"] == 0.0 and factors["y_hat"] == 0.5
    assert hand == ex.by_formula() == ex.by_engine() == [-0.5, -1.0, -0.5]
    assert ex.note_misprint() == [0.0, 0.0]
    assert ex.check_answer([-0.5, -1.0, -0.5]).startswith("right")
    assert "sign is flipped" in ex.check_answer([0.5, 1.0, 0.5])
    assert "dE/dw2 differ" in ex.check_answer([-0.5, -2.0, -0.5])


def test_17_the_broken_engine_has_its_findings_and_the_solution_none():
    ex = load("17")
    assert check_engine(ex.Value).names == ["wrong-derivative:tanh", "overwrites-grad"]
    assert check_engine(ex.SolvedValue).ok

    class PlusEqualsFixed(ex.Value):  # the first fix alone uncovers the third mistake
        __mul__ = ex.SolvedValue.__mul__
        tanh = ex.SolvedValue.tanh

    assert check_engine(PlusEqualsFixed).names == ["backward-not-repeatable"]


# ---- --out for every example, and the engines 13 cannot time --------------------------------

@pytest.mark.parametrize("number, argv, written", [
    ("03", ["--epochs", "3"], "adaline_cost.png"),
    ("13", ["--n", "10", "--steps", "1"], "results.json"),
])
def test_03_and_13_take_out_as_the_readme_says(number, argv, written, tmp_path):
    (script,) = EXAMPLES.glob(f"{number}_*.py")
    done = subprocess.run([sys.executable, str(script), *argv, "--out", str(tmp_path / "o")],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "o" / written).stat().st_size > 0


@pytest.mark.parametrize("number, argv", [("14", []), ("14", ["--solution"]), ("16", []),
                                          ("17", []), ("18", ["--steps", "1"])])
def test_the_scripts_that_only_print_take_out_and_say_nothing_is_written(number, argv,
                                                                          tmp_path):
    # the README's "--out DIR" holds for every example: these accept it and write nothing
    done = run(number, *argv, "--out", str(tmp_path / "o"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"nothing is written to {tmp_path / 'o'}" in done.stdout
    assert list(tmp_path.iterdir()) == []


def test_13_says_which_engines_are_not_installed(monkeypatch, capsys, tmp_path):
    ex = load("13")
    # An entry of None in sys.modules makes the import fail, as when the package is absent.
    monkeypatch.setitem(sys.modules, "micrograd.engine", None)
    monkeypatch.setitem(sys.modules, "torch", None)
    result = ex.main(n=10, steps=1, out=tmp_path)
    out = capsys.readouterr().out
    assert result["not_installed"] == ["micrograd 0.1.0", "PyTorch batched"]
    assert "micrograd 0.1.0" in out and "not installed, so not timed" in out
    assert "pip install micrograd==0.1.0" in out
