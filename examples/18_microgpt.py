"""18: a names GPT in microgpt's style: attention on scalar Values, eager and compiled.

A GPT can be trained with nothing but a scalar autograd engine: token and position
embeddings, RMS norm, causal self-attention, an MLP and a softmax over the next character,
every number a Value.  This script builds one, small, over a list of names
(examples/data/names.txt), and times one training step three ways in the same run:

* eagerly on microgrant's Value;
* eagerly on a minimal micrograd-style Value class (``MiniValue``, below), the same code;
* compiled (`microgrant.compile`).  A compiled step replays one graph, so the graph must not
  change with the document: each name is padded to the block size with a mask, and token ids
  come in as one-hot rows, so picking an embedding is a sum the replay recomputes (a gather)
  instead of a Python index it would freeze.  If the compiled step is not faster than eager
  here, the script says so once and trains eagerly.

    python examples/18_microgpt.py [--steps 20] [--embd 8] [--heads 2] [--block 8]

It only prints: ``--out DIR``, which the examples that draw take, is accepted and writes
nothing.
"""

import argparse
import math
import random
import time
from pathlib import Path

import numpy as np

from microgrant import Value, no_grad
from microgrant.checks import stabilizer
from microgrant.compile import compile
from microgrant.optim import Adam

NAMES = Path(__file__).resolve().parent / "data" / "names.txt"


class MiniValue:
    """A minimal micrograd-style scalar: each node keeps its inputs and local gradients."""

    __slots__ = ("data", "grad", "inputs", "local_grads")

    def __init__(self, data, inputs=(), local_grads=()):
        self.data, self.grad = float(data), 0.0
        self.inputs, self.local_grads = inputs, local_grads

    def __add__(self, other):
        other = other if isinstance(other, MiniValue) else MiniValue(other)
        return MiniValue(self.data + other.data, (self, other), (1.0, 1.0))

    def __mul__(self, other):
        other = other if isinstance(other, MiniValue) else MiniValue(other)
        return MiniValue(self.data * other.data, (self, other), (other.data, self.data))

    def __pow__(self, k):
        return MiniValue(self.data ** k, (self,), (k * self.data ** (k - 1),))

    def exp(self):
        e = math.exp(self.data)
        return MiniValue(e, (self,), (e,))

    def log(self):
        return MiniValue(math.log(self.data), (self,), (1.0 / self.data,))

    def relu(self):
        return MiniValue(max(0.0, self.data), (self,), (float(self.data > 0),))

    __radd__, __rmul__ = __add__, __mul__

    def __neg__(self):
        return self * -1.0

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return other + (-self)

    def __truediv__(self, other):
        return self * other ** -1.0 if isinstance(other, MiniValue) else self * (1.0 / other)

    def backward(self):
        order, seen, stack = [], set(), [(self, False)]
        while stack:  # topological order, without recursion
            node, done = stack.pop()
            if done:
                order.append(node)
            elif id(node) not in seen:
                seen.add(id(node))
                stack.append((node, True))
                stack.extend((x, False) for x in node.inputs)
        self.grad = 1.0
        for node in reversed(order):
            for x, local in zip(node.inputs, node.local_grads):
                x.grad += local * node.grad


# ---- the model: the same code for either Value class --------------------------------------------

def make_params(V, vocab, embd, block, rng):
    def matrix(rows, cols):
        return [[V(rng.gauss(0.0, 0.08)) for _ in range(cols)] for _ in range(rows)]
    return {"wte": matrix(vocab, embd), "wpe": matrix(block, embd), "wq": matrix(embd, embd),
            "wk": matrix(embd, embd), "wv": matrix(embd, embd), "wo": matrix(embd, embd),
            "fc1": matrix(4 * embd, embd), "fc2": matrix(embd, 4 * embd),
            "head": matrix(vocab, embd)}


def flat(params):
    return [v for table in params.values() for row in table for v in row]


def linear(x, w):
    return [sum(wi * xi for wi, xi in zip(row, x)) for row in w]


def rmsnorm(x):
    scale = (sum(xi * xi for xi in x) / len(x) + 1e-5) ** -0.5
    return [xi * scale for xi in x]


def softmax(logits):
    # The max shift keeps exp in range; compiled, the traced shift is kept (checks.stabilizer).
    shift = stabilizer([v.data for v in logits])
    exps = [(v - shift).exp() for v in logits]
    total = sum(exps)
    return [e / total for e in exps]


def embed(table, token):
    """A row of ``table``: by index (an int), or as a one-hot row's weighted sum (a gather)."""
    if isinstance(token, int):
        return table[token]
    return [sum(h * table[j][i] for j, h in enumerate(token)) for i in range(len(table[0]))]


def attention(p, xs, heads):
    qs, ks, vs = ([linear(x, p[w]) for x in xs] for w in ("wq", "wk", "wv"))
    size = len(xs[0]) // heads
    outs = []
    for t in range(len(xs)):
        mixed = []
        for h in range(heads):
            part = slice(h * size, (h + 1) * size)
            scores = [sum(a * b for a, b in zip(qs[t][part], ks[s][part])) / size ** 0.5
                      for s in range(t + 1)]
            weights = softmax(scores)
            mixed += [sum(weights[s] * vs[s][part][i] for s in range(t + 1))
                      for i in range(size)]
        outs.append(linear(mixed, p["wo"]))
    return outs


def gpt_logits(p, tokens, heads):
    """The next-character scores at every position (each sees only those before it)."""
    xs = [rmsnorm([a + b for a, b in zip(embed(p["wte"], tok), p["wpe"][t])])
          for t, tok in enumerate(tokens)]
    xs = [[a + b for a, b in zip(x, o)] for x, o in zip(xs, attention(p, xs, heads))]
    xs = [[a + b for a, b in zip(x, linear([h.relu() for h in linear(rmsnorm(x), p["fc1"])],
                                           p["fc2"]))] for x in xs]
    return [linear(x, p["head"]) for x in xs]


def gpt_loss(p, tokens, targets, mask, heads):
    """Mean cross-entropy of each next character; ``mask`` marks the positions that count."""
    losses = []
    for logits, target in zip(gpt_logits(p, tokens, heads), targets):
        probs = softmax(logits)
        if isinstance(target, int):
            losses.append(-probs[target].log())
        else:  # a one-hot row: the log-probability it picks out
            losses.append(-sum(o * q.log() for o, q in zip(target, probs)))
    return sum(m * loss for m, loss in zip(mask, losses)) / sum(mask)


# ---- data ---------------------------------------------------------------------------------------

def load_docs(block):
    names = [n for n in NAMES.read_text().split() if len(n) < block]
    chars = sorted({c for n in names for c in n})
    stoi = {c: i + 1 for i, c in enumerate(chars)}  # 0 is the boundary token
    return [[0] + [stoi[c] for c in n] + [0] for n in names], ["."] + chars


def as_arrays(doc, vocab, block):
    """One name as fixed-size arrays: one-hot tokens, one-hot targets, and the mask."""
    tokens, targets = np.zeros((block, vocab)), np.zeros((block, vocab))
    mask = np.zeros(block)
    for t in range(min(block, len(doc) - 1)):
        tokens[t, doc[t]], targets[t, doc[t + 1]], mask[t] = 1.0, 1.0, 1.0
    for t in range(len(doc) - 1, block):
        tokens[t, 0] = targets[t, 0] = 1.0  # padding: the boundary token, masked out
    return tokens, targets, mask


def eager_step(p, doc, heads, optimizer=None):
    n = len(doc) - 1
    loss = gpt_loss(p, doc[:n], doc[1:], [1.0] * n, heads)
    loss.backward()
    if optimizer is not None:
        optimizer.step()
        optimizer.zero_grad()
    return loss.data


def time_steps(fn, docs, rounds=3):
    """CPU time of one step, the best of a few rounds over ``docs`` (one round alone moves
    with whatever else the machine is doing)."""
    best = float("inf")
    for _ in range(rounds):
        start = time.process_time()
        for doc in docs:
            fn(doc)
        best = min(best, (time.process_time() - start) / len(docs))
    return best


def sample(p, itos, block, heads, rng):
    """A new name, one character at a time, drawn from the model's probabilities."""
    doc = [0]
    with no_grad():
        while len(doc) < block:
            probs = [q.data for q in softmax(gpt_logits(p, doc, heads)[-1])]
            nxt = rng.choices(range(len(probs)), weights=probs)[0]
            if nxt == 0:
                break
            doc.append(nxt)
    return "".join(itos[i] for i in doc[1:])


def main(steps=20, embd=8, heads=2, block=8, seed=42):
    docs, itos = load_docs(block)
    vocab = len(itos)
    rng = random.Random(seed)
    rng.shuffle(docs)
    params = make_params(Value, vocab, embd, block, random.Random(seed))
    mini = make_params(MiniValue, vocab, embd, block, random.Random(seed))
    print(f"{len(docs)} names, {vocab} characters; GPT with {len(flat(params)):,} parameters "
          f"(embedding {embd}, {heads} heads, block {block})")

    probe = docs[:3]
    t_eager = time_steps(lambda d: eager_step(params, d, heads), probe)
    t_mini = time_steps(lambda d: eager_step(mini, d, heads), probe)
    print(f"eager step: microgrant {t_eager * 1e3:.0f} ms, minimal micrograd-style Value "
          f"{t_mini * 1e3:.0f} ms ({t_mini / t_eager:.1f}x microgrant's time)")

    step = compile(lambda tok, tgt, m: gpt_loss(params, tok, tgt, m, heads))
    start = time.process_time()
    compiled_loss = step(*as_arrays(probe[0], vocab, block))
    traced = time.process_time() - start
    step(*as_arrays(probe[1], vocab, block))  # new inputs: checked once against eager
    for v in flat(params):
        v.grad = 0.0
    eager_loss = eager_step(params, probe[0], heads)
    for v in flat(params):
        v.grad = 0.0
    t_compiled = time_steps(lambda d: step(*as_arrays(d, vocab, block)), probe)
    print(f"compiled step: {t_compiled * 1e3:.2f} ms ({t_eager / t_compiled:.0f}x eager), "
          f"traced once in {traced:.1f} s for every name (padded to {block}, one-hot tokens); "
          f"loss {compiled_loss:.12f}, eager {eager_loss:.12f}")
    use_compiled = t_compiled < t_eager
    if not use_compiled:
        print("compile declined: the compiled step is not faster than eager here; "
              "training eagerly")
    for v in flat(params):
        v.grad = 0.0
    optimizer = Adam(flat(params), lr=0.01)
    for k in range(steps):
        doc = docs[k % len(docs)]
        if use_compiled:
            loss = step(*as_arrays(doc, vocab, block))
            optimizer.step()
            optimizer.zero_grad()
        else:
            loss = eager_step(params, doc, heads, optimizer)
        if k % max(1, steps // 4) == 0 or k == steps - 1:
            print(f"step {k + 1:4d}  loss {loss:.4f}")
    names = [sample(params, itos, block, heads, rng) for _ in range(5)]
    print("samples:", ", ".join(n or "(empty)" for n in names))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--embd", type=int, default=8)
    parser.add_argument("--heads", type=int, default=2)
    parser.add_argument("--block", type=int, default=8)
    parser.add_argument("--out", metavar="DIR", help="accepted as by the other examples; "
                        "this script only prints, so nothing is written there")
    args = parser.parse_args()
    if args.out:
        print(f"nothing is written to {args.out}: this script only prints")
    main(args.steps, args.embd, args.heads, args.block)
