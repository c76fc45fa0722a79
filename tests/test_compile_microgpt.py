"""The microgpt example: its GPT compiled gives eager's loss and gradients, one trace for all."""

import importlib.util
import random
from pathlib import Path

import pytest

from microgrant import Value
from microgrant.compile import compile

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "18_microgpt.py"


@pytest.fixture(scope="module")
def gpt():
    spec = importlib.util.spec_from_file_location("example_18", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_compiled_gpt_matches_eager_on_names_of_every_length_with_one_trace(gpt):
    block, heads = 6, 1
    docs, itos = gpt.load_docs(block)
    params = gpt.make_params(Value, len(itos), 4, block, random.Random(0))
    flat = gpt.flat(params)
    step = compile(lambda tok, tgt, m: gpt.gpt_loss(params, tok, tgt, m, heads))
    lengths = {}
    for doc in docs:
        lengths.setdefault(len(doc), doc)
    for doc in lengths.values():
        for v in flat:
            v.grad = 0.0
        got = step(*gpt.as_arrays(doc, len(itos), block))
        mine = [v.grad for v in flat]
        for v in flat:
            v.grad = 0.0
        want = gpt.eager_step(params, doc, heads)
        assert got == pytest.approx(want, rel=1e-12)
        assert mine == pytest.approx([v.grad for v in flat], rel=1e-9, abs=1e-12)
    assert len(lengths) >= 3 and step.traces == 1 and step.eager_calls == 0


def test_the_minimal_value_class_gives_microgrants_loss(gpt):
    docs, itos = gpt.load_docs(6)
    a = gpt.make_params(Value, len(itos), 4, 6, random.Random(0))
    b = gpt.make_params(gpt.MiniValue, len(itos), 4, 6, random.Random(0))
    assert gpt.eager_step(a, docs[0], 1) == pytest.approx(gpt.eager_step(b, docs[0], 1))
    assert [v.grad for v in gpt.flat(a)] == pytest.approx([v.grad for v in gpt.flat(b)])
