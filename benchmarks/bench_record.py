"""What ``fit(record=1)`` costs over plain ``fit``: moons, 100 points, MLP(2, [16, 16, 1]).

Three runs: eager full-batch, compiled full-batch, eager minibatches of 10.  In full-batch
training a snapshot's loss and accuracy come from the next epoch's forward pass (the same
weights), so recording should cost a few percent; with minibatches each snapshot takes a
forward pass of its own.  Then ``fit(live=True)`` with the explorer's live view, as a notebook
shows it (the notebook's display replaced by a stand-in that keeps what is sent): its
recording keeps within a time budget, so the whole live view should cost under 10%.  Run
from the repository root: ``python benchmarks/bench_record.py``.
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import microgrant.viz.explore  # noqa: E402,F401  (the module, for its notebook display)
from microgrant.data import moons  # noqa: E402
from microgrant.nn import MLP  # noqa: E402
from microgrant.train import fit  # noqa: E402

X, y = moons(100, seed=0)


def seconds(compile, record, epochs, batch_size=None, live=None):
    model = MLP(2, [16, 16, 1], seed=0)
    began = time.process_time()  # CPU time: less shaken by other work on the machine
    fit(model, X, y, lr=0.1, epochs=epochs, compile=compile, record=record,
        batch_size=batch_size, verbose=False, live=live)
    return time.process_time() - began


class Notebook:
    """Stands in for IPython's display in a kernel: keeps what the live view sends."""

    sent: list = []

    def __init__(self, data=None):
        self.data = data

    @classmethod
    def display(cls, obj, display_id=None):
        cls.sent.append(obj.data)
        return cls() if display_id else None

    def update(self, obj):
        Notebook.sent.append(obj.data)


for compile, epochs, batch in ((False, 20, None), (True, 200, None), (False, 10, 10)):
    seconds(compile, None, 2, batch)  # warm up (and trace, when compiled)
    runs = [(seconds(compile, None, epochs, batch), seconds(compile, 1, epochs, batch))
            for _ in range(5)]  # interleaved, the fastest of each kept
    plain, recorded = min(r[0] for r in runs), min(r[1] for r in runs)
    print(f"compile={compile!s:5} batch_size={batch!s:4} epochs={epochs:3}: fit {plain:.3f} s, "
          f"record=1 {recorded:.3f} s, +{(recorded / plain - 1) * 100:.0f}%")

# `microgrant.viz.explore` the name is the function; the module is in sys.modules.
sys.modules["microgrant.viz.explore"].notebook_display = lambda: (Notebook.display, Notebook)
for compile, epochs in ((False, 100), (True, 1000)):
    seconds(compile, None, 2)
    runs = [(seconds(compile, None, epochs), seconds(compile, None, epochs, live=True))
            for _ in range(3)]
    plain, live = min(r[0] for r in runs), min(r[1] for r in runs)
    print(f"compile={compile!s:5} epochs={epochs:4}: fit {plain:.3f} s, live=True {live:.3f} s, "
          f"+{(live / plain - 1) * 100:.0f}% ({len(Notebook.sent)} sends so far; target < 10%)")
