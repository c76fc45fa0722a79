"""check_engine names each misconception of a learner's engine, and nothing else.

The engines in tests/engines are a zoo: two correct ones (the lecture's shape and microgpt's)
and one per misconception, each changing the correct lecture engine in one place.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

import microgrant
from microgrant import Value
from microgrant.cli import main
from microgrant.enginecheck import (
    CHAIN_DEPTH,
    EngineReport,
    Finding,
    check_engine,
    load_value_class,
)

ENGINES = Path(__file__).resolve().parent / "engines"


def engine(name):
    return load_value_class(f"{ENGINES / name}.py:Value")


# Each zoo engine and exactly the findings it must get.
ZOO = {
    "lecture": [],
    "microgpt": [],
    "add_and_mul_only": [],
    "overwrites_grad": ["overwrites-grad"],
    "no_order_queue": ["no-topological-order"],
    "no_order_stack": ["no-topological-order"],
    "recursive_order": ["recursion-limit"],
    "root_not_seeded": ["root-not-seeded"],
    "not_repeatable": ["backward-not-repeatable"],
    "wrong_exp": ["wrong-derivative:exp"],
    "wrong_pow": ["wrong-forward:pow", "wrong-derivative:pow"],
    "raises": ["wrong-derivative:log", "wrong-forward:sqrt"],
}


@pytest.mark.parametrize("name", sorted(ZOO))
def test_each_engine_of_the_zoo_gets_exactly_its_findings(name):
    report = check_engine(engine(name))
    assert report.names == ZOO[name], str(report)
    assert report.ok is (not ZOO[name])
    for finding in report.findings:
        assert finding.explanation and "Value(" in finding.example


def test_the_two_shapes_are_recognised():
    assert check_engine(engine("lecture")).shape == "micrograd"
    assert check_engine(engine("microgpt")).shape == "microgpt"
    # microgrant's own Value has the lecture's _prev and _backward too.
    assert check_engine(Value).shape == "micrograd"

    class Plain:  # neither shape: a number, its grad and a backward that does nothing
        def __init__(self, data):
            self.data, self.grad = data, 0.0

        def backward(self):
            pass

    report = check_engine(Plain)
    assert report.shape == "other" and report.skipped and not report.findings


def test_microgrant_itself_is_ok():
    report = check_engine(Value)
    assert report.ok and not report.skipped and not report.notes, str(report)
    assert "Well done" in str(report)


def test_micrograd_gets_its_two_known_defects_and_nothing_else():
    engine_module = pytest.importorskip("micrograd.engine")
    report = check_engine(engine_module.Value)
    # micrograd 0.1.0 keeps interior grads between backward calls, and sorts recursively.
    assert report.names == ["backward-not-repeatable", "recursion-limit"], str(report)
    assert {op for op, _ in report.skipped} == {"exp", "log", "sqrt", "tanh", "sigmoid"}
    text = str(report)
    assert "RecursionError" in text and "build_topo" in text
    assert "expected -3.2" in text  # a.grad after two calls: 2 * b * c = 2 * -0.8 * 2


def test_ops_the_class_lacks_are_skipped_and_said():
    report = check_engine(engine("add_and_mul_only"))
    assert report.checked == ("add", "mul")
    assert ("exp", "exp") in report.skipped and ("rdiv", "__rtruediv__") in report.skipped
    assert "Skipped, because your class does not have them: a - b, a / b, -a" in str(report)


def test_examples_are_runnable_code_that_shows_the_mistake(tmp_path):
    """Each finding's example, run against the learner's class, prints the wrong number."""
    (finding,) = check_engine(engine("wrong_exp")).findings
    assert finding.example.splitlines()[-1].startswith("print(a.grad)")
    assert "expected 4.48169" in finding.example  # exp(1.5)
    script = tmp_path / "example.py"
    script.write_text(f"from wrong_exp import Value\n{finding.example}\n")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ENGINES)}, timeout=60)
    assert done.returncode == 0, done.stderr
    assert float(done.stdout.split()[0]) == pytest.approx(1.5)  # x in place of exp(x)


def test_a_hang_is_a_finding_not_a_hang():
    # The limit is for each run of the learner's code; the deep chain needs well under it.
    report = check_engine(engine("hangs"), timeout=3)
    assert report.names == ["wrong-derivative:relu"]
    assert "did not finish within 3 s" in report.findings[0].explanation


def test_the_learners_exceptions_say_where():
    report = check_engine(engine("raises"))
    log, sqrt = report.findings
    assert "NameError" in log.explanation and "raises.py, line" in log.explanation
    assert "ValueError: math domain error" in sqrt.explanation


def test_broken_plus_or_times_postpone_the_checks_of_backward():
    class BrokenAdd(engine("lecture")):
        def __add__(self, other):
            return self * other

    report = check_engine(BrokenAdd)
    assert "wrong-forward:add" in report.names
    assert not set(report.names) & {"overwrites-grad", "recursion-limit", "root-not-seeded"}
    assert any("wait until both work" in note for note in report.notes)


def test_the_order_check_waits_for_plus_equals():
    report = check_engine(engine("overwrites_grad"))
    assert any("once every use adds" in note for note in report.notes)
    assert "backward-not-repeatable" not in report.names


def test_a_deep_chain_that_works_passes_at_the_full_depth():
    deeper = check_engine(engine("lecture"), depth=2 * CHAIN_DEPTH)
    assert deeper.ok


def test_the_recursion_finding_shows_the_shortest_failing_chain():
    report = check_engine(engine("recursive_order"))
    assert f"range({sys.getrecursionlimit()})" in report.findings[0].example


def test_not_a_usable_class_is_a_clear_type_error():
    with pytest.raises(TypeError, match="needs a class"):
        check_engine(Value(1.0))

    class NoGrad:
        def __init__(self, data):
            self.data = data

    with pytest.raises(TypeError, match="has no grad, backward"):
        check_engine(NoGrad)

    class Fails:
        def __init__(self, data):
            raise RuntimeError("not yet")

    with pytest.raises(TypeError, match="raised RuntimeError: not yet"):
        check_engine(Fails)


def test_report_types_are_public():
    assert microgrant.check_engine is check_engine and microgrant.EngineReport is EngineReport
    report = check_engine(engine("wrong_exp"))
    assert isinstance(report.findings[0], Finding)


# ---- loading a learner's file, and the command --------------------------------------------

def test_loading_reports_bad_specs_clearly(tmp_path):
    with pytest.raises(ValueError, match="FILE.py:CLASS"):
        load_value_class("engine.py")
    with pytest.raises(FileNotFoundError, match="no file"):
        load_value_class(f"{tmp_path}/missing.py:Value")
    with pytest.raises(ValueError, match=r"has no class 'Valeu' \(its classes: Value\)"):
        load_value_class(f"{ENGINES}/lecture.py:Valeu")
    broken = tmp_path / "broken.py"
    broken.write_text("x = 1\nraise ImportError('nope')\n")
    with pytest.raises(RuntimeError, match=r"importing broken.py raised ImportError: nope"):
        load_value_class(f"{broken}:Value")


def test_a_learners_file_may_use_dataclasses(tmp_path):
    script = tmp_path / "dc_engine.py"
    script.write_text("from dataclasses import dataclass\n\n@dataclass\nclass Point:\n"
                      "    x: float\n\nfrom lecture import Value\n")
    (tmp_path / "lecture.py").write_text((ENGINES / "lecture.py").read_text())
    assert check_engine(load_value_class(f"{script}:Value")).ok


def test_loading_does_not_run_the_main_block(tmp_path):
    script = tmp_path / "mine.py"
    script.write_text("from lecture import Value\nif __name__ == '__main__':\n"
                      "    raise SystemExit('ran')\n")
    (tmp_path / "lecture.py").write_text((ENGINES / "lecture.py").read_text())
    assert load_value_class(f"{script}:Value").__name__ == "Value"
    assert str(tmp_path) not in sys.path


def test_command_exit_status_and_report(capsys):
    assert main(["check-engine", f"{ENGINES}/lecture.py:Value"]) == 0
    out, err = capsys.readouterr()
    assert "Well done" in out and err == ""
    assert main(["check-engine", f"{ENGINES}/overwrites_grad.py:Value"]) == 1
    out, err = capsys.readouterr()
    assert "1. overwrites-grad" in out and "self.grad +=" in out and err == ""


@pytest.mark.parametrize("spec, words", [
    ("engine.py", "FILE.py:CLASS"),
    ("nowhere/engine.py:Value", "no file"),
    (f"{ENGINES}/lecture.py:Nope", "has no class 'Nope'"),
])
def test_command_usage_errors_exit_2(capsys, spec, words):
    assert main(["check-engine", spec]) == 2
    out, err = capsys.readouterr()
    assert words in err and "usage: microgrant check-engine" in err and out == ""


def test_command_says_when_the_file_fails_to_import(capsys, tmp_path):
    broken = tmp_path / "broken.py"
    broken.write_text("import nosuchmodule_at_all\n")
    assert main(["check-engine", f"{broken}:Value"]) == 1
    _, err = capsys.readouterr()
    assert "ModuleNotFoundError" in err and "Traceback" not in err


def test_an_engine_without_plus_is_not_praised_for_what_was_not_checked():
    class OnlyTimes(engine("add_and_mul_only")):
        __add__ = None

    report = check_engine(OnlyTimes)
    assert report.ok and report.checked == ("mul",)
    assert "Well done" not in str(report) and "wait until both work" in str(report)
    assert "No mistakes in what could be checked" in str(report)
