"""The README is a promise to a new user: every code block in it runs and shows what it says.

Python blocks run in order, in one namespace, in a scratch folder; a block followed by a
``text`` block must print exactly that text.  The ``microgrant`` commands it shows run and
succeed, the chain-rule transcript matches the command's real output, and the quick start's
test command is the one CI runs.
"""

from __future__ import annotations

import ast
import builtins
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _fences(text: str) -> list[tuple[str, str]]:
    """Every fenced block as (language, body), in order."""
    return re.findall(r"^```(\w*)\n(.*?)^```", text, re.S | re.M)


def _section(title: str) -> str:
    start = README.index(title)
    end = README.find("\n## ", start + 1)
    return README[start:end if end > 0 else None]


def _microgrant(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """Runs the command as a user would: the console script, or ``python -m`` without one."""
    script = shutil.which("microgrant", path=str(Path(sys.executable).parent))
    command = [script] if script else [sys.executable, "-m", "microgrant"]
    return subprocess.run(command + args, cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def _commands(block: str) -> list[list[str]]:
    """The ``microgrant ...`` lines of a shell block, without comments or the prompt."""
    found = []
    for line in block.splitlines():
        line = line.removeprefix("$ ").split("  #")[0].strip()
        if line.startswith("microgrant "):
            found.append(shlex.split(line)[1:])
    return found


def test_python_blocks_run_and_print_what_the_readme_shows(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    blocks = _fences(README)
    namespace: dict = {"__name__": "__readme__"}
    ran = 0
    for i, (language, body) in enumerate(blocks):
        if language != "python":
            continue
        exec(compile(body, f"README.md, python block {ran + 1}", "exec"), namespace)
        ran += 1
        printed = capsys.readouterr().out
        if i + 1 < len(blocks) and blocks[i + 1][0] == "text":
            assert printed == blocks[i + 1][1], f"python block {ran} printed {printed!r}"
    assert ran >= 5
    # The pictures the tour says it draws were drawn.
    assert (tmp_path / "neuron_forward.svg").read_text().lstrip().startswith(("<?xml", "<svg"))
    assert (tmp_path / "neuron_backward.png").read_bytes().startswith(b"\x89PNG")


def test_quick_start_test_command_is_what_ci_runs():
    quick = _fences(_section("## Quick start"))[0][1]
    test_line = next(line for line in quick.splitlines() if "pytest" in line)
    ci = (ROOT / ".ci" / "run").read_text()
    for part in test_line.split("&&"):
        part = part.strip()
        if part.startswith("pip install") or part.startswith("python -m pytest"):
            assert part in ci, f"README says {part!r}; .ci/run does not"


def test_quick_start_main_job_runs(tmp_path):
    quick = _fences(_section("## Quick start"))[0][1]
    main_line = next(line for line in quick.splitlines() if "microgrant " in line)
    (args,) = _commands(main_line.split("&&")[-1])
    result = _microgrant(args, tmp_path)
    assert result.returncode == 0, result.stderr
    written = {p.name for p in (tmp_path / "microgrant-demo").iterdir()}
    assert {"two_neurons_backward.svg", "two_neurons_steps.html", "xor_boundary.png"} <= written


@pytest.mark.parametrize("args", _commands(_fences(_section("### 7. The command line"))[0][1]),
                         ids=lambda args: " ".join(args[:2]))
def test_command_line_examples_succeed(args, tmp_path):
    result = _microgrant(args, tmp_path)
    assert result.returncode == 0, result.stderr


def test_chain_rule_transcript_matches_the_command(tmp_path):
    transcript = next(body for language, body in _fences(_section("### 4. Note 004"))
                      if language == "text")
    (args,) = _commands(transcript)
    output = _microgrant(args, tmp_path).stdout.splitlines()
    shown = [line for line in transcript.splitlines()[1:] if line.strip() != "..."]
    position = 0
    for line in shown:  # each line shown appears, in the same order
        assert line in output[position:], f"the README shows {line!r}; the command does not"
        position = output.index(line, position) + 1


def test_pictures_the_readme_shows_exist():
    for picture in re.findall(r"\]\((docs/[^)]+)\)", README):
        assert (ROOT / picture).is_file(), picture
    for named in re.findall(r"`(docs/[^`]+)`", README):
        assert (ROOT / named).is_file(), named


def test_the_script_that_draws_the_pictures_compiles():
    # It is run by hand (it rewrites docs/), so at least make sure it still parses.
    source = (ROOT / "docs" / "make_pictures.py").read_text(encoding="utf-8")
    compile(source, "docs/make_pictures.py", "exec")


def undefined_names(source: str) -> set[str]:
    """Names a block reads that it neither defines, imports nor gets from Python itself.

    >>> sorted(undefined_names("from x import a\\nb = a + c\\nprint(len(b))"))
    ['c']
    """
    tree = ast.parse(source)
    defined = set(dir(builtins))
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            defined |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            defined.add(node.name)
        elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            defined.add(node.id)
        elif isinstance(node, ast.arg):
            defined.add(node.arg)
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)
            and isinstance(n.ctx, ast.Load)} - defined


def test_each_sections_python_runs_on_its_own():
    # A reader copies one section's code, not the whole README: it imports what it uses.
    sections = re.split(r"^##+ ", README, flags=re.M)
    missing = {}
    for section in sections:
        code = "\n".join(body for language, body in _fences(section) if language == "python")
        if undefined_names(code):
            missing[section.splitlines()[0]] = sorted(undefined_names(code))
    assert not missing, missing
