"""What ``fit(record=1)`` costs over plain ``fit``: moons, 100 points, MLP(2, [16, 16, 1]).

Three runs: eager full-batch, compiled full-batch, eager minibatches of 10.  In full-batch
training a snapshot's loss and accuracy come from the next epoch's forward pass (the same
weights), so recording should cost a few percent; with minibatches each snapshot takes a
forward pass of its own.  Run from the repository root: ``python benchmarks/bench_record.py``.
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from microgrant.data import moons  # noqa: E402
from microgrant.nn import MLP  # noqa: E402
from microgrant.train import fit  # noqa: E402

X, y = moons(100, seed=0)


def seconds(compile, record, epochs, batch_size=None):
    model = MLP(2, [16, 16, 1], seed=0)
    began = time.process_time()  # CPU time: less shaken by other work on the machine
    fit(model, X, y, lr=0.1, epochs=epochs, compile=compile, record=record,
        batch_size=batch_size, verbose=False)
    return time.process_time() - began


for compile, epochs, batch in ((False, 20, None), (True, 200, None), (False, 10, 10)):
    seconds(compile, None, 2, batch)  # warm up (and trace, when compiled)
    runs = [(seconds(compile, None, epochs, batch), seconds(compile, 1, epochs, batch))
            for _ in range(5)]  # interleaved, the fastest of each kept
    plain, recorded = min(r[0] for r in runs), min(r[1] for r in runs)
    print(f"compile={compile!s:5} batch_size={batch!s:4} epochs={epochs:3}: fit {plain:.3f} s, "
          f"record=1 {recorded:.3f} s, +{(recorded / plain - 1) * 100:.0f}%")
