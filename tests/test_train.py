"""The training loop: the documents' classic problems, progress output, stopping, errors."""

import io
import math
import warnings

import numpy as np
import pytest

from microgrant import Value, recording
from microgrant.data import admissions, blobs, circles, logic_gate, moons
from microgrant.engine import no_grad
from microgrant.losses import binary_cross_entropy_with_logits, mse_loss
from microgrant.nn import MLP, Linear, Module, Neuron, Sequential, Softmax, Tanh
from microgrant.optim import SGD, Adam
from microgrant.train import History, accuracy, fit, predict


class Terminal(io.StringIO):
    def isatty(self):
        return True


# ---- what the documents say networks can and cannot learn ---------------------------------

def test_mlp_learns_xor():
    X, y = logic_gate("xor", labels="pm1")
    # Eight relu units: with four, about half of the random starts leave too few units alive
    # (a relu that outputs 0 for all four points gets no gradient and never recovers).
    model = MLP(2, [8, 1], seed=0)
    history = fit(model, X, y, loss="hinge", lr=0.1, epochs=300, target_accuracy=1.0,
                  verbose=False)
    assert accuracy(model, X, y) == 1.0
    assert history.accuracy[-1] == 1.0 and history.epochs < 300


def test_mlp_learns_xor_with_sigmoid_output_and_bce():
    X, y = logic_gate("xor")
    model = MLP(2, [4, 1], activation="tanh", output="sigmoid", seed=0)
    fit(model, X, y, loss="bce", lr=1.0, epochs=500, target_accuracy=1.0, verbose=False)
    assert accuracy(model, X, y) == 1.0
    assert ((predict(model, X) >= 0.5) == (y == 1)).all()


def test_micrograds_moons_recipe():
    # micrograd's demo: MLP(2, [16, 16, 1]), hinge loss + 1e-4 L2, full-batch SGD with the
    # learning rate decaying from 1.0 to 0.1 over 100 steps.
    X, y = moons(n=100, noise=0.1, seed=0, labels="pm1")
    model = MLP(2, [16, 16, 1], seed=0)
    history = fit(model, X, y, loss="hinge", l2=1e-4, lr=lambda k: 1.0 - 0.9 * k / 100,
                  epochs=100, target_accuracy=0.97, verbose=False)
    assert history.epochs <= 100
    assert accuracy(model, X, y) >= 0.97
    assert history.loss[-1] < history.loss[0]
    assert history.lr[:3] == [1.0, 1.0 - 0.9 / 100, 1.0 - 1.8 / 100]


def test_circles_need_a_hidden_layer():
    X, y = circles(n=100, noise=0.05, seed=0)
    deep = MLP(2, [8, 1], activation="tanh", output="sigmoid", seed=0)
    fit(deep, X, y, loss="bce", optimizer=Adam(deep.parameters(), lr=0.05), epochs=200,
        target_accuracy=0.95, verbose=False)
    assert accuracy(deep, X, y) >= 0.9
    # One sigmoid unit draws a straight line: no line separates a ring from its centre.
    shallow = MLP(2, [1], output="sigmoid", seed=0)
    history = fit(shallow, X, y, loss="bce", lr=0.5, epochs=150, verbose=False)
    assert accuracy(shallow, X, y) <= 0.7
    assert max(history.accuracy) <= 0.7


def test_one_sigmoid_unit_separates_the_admissions_data():
    X, y = admissions(n=100, seed=0)
    # Test score and grades run 0..10; divided by 10 they suit a learning rate of 1.
    model = Neuron(2, activation="sigmoid", seed=0)
    fit(model, X / 10, y, loss="bce", lr=1.0, epochs=100, verbose=False)
    assert accuracy(model, X / 10, y) >= 0.9


def test_three_classes_with_cross_entropy():
    X, y = blobs(n=60, centers=[[0, 0], [4, 0], [0, 4]], cluster_std=0.5, seed=0)
    model = MLP(2, [8, 3], seed=0)
    history = fit(model, X, y, loss="cross_entropy", optimizer=Adam(model.parameters(),
                  lr=0.05), epochs=100, target_accuracy=1.0, verbose=False)
    assert accuracy(model, X, y) >= 0.95
    assert predict(model, X).shape == (60, 3)
    assert history.accuracy[-1] >= 0.95


# ---- the loop's mechanics -------------------------------------------------------------------

def test_full_batch_step_matches_a_hand_written_one():
    X, y = moons(n=20, noise=0.1, seed=1, labels="pm1")
    a, b = MLP(2, [4, 1], seed=3), MLP(2, [4, 1], seed=3)
    fit(a, X, y, loss="hinge", lr=0.5, l2=1e-3, epochs=1, verbose=False)
    from microgrant.losses import hinge_loss
    params = b.parameters()
    loss = hinge_loss([b(x) for x in X], y) + 1e-3 * Value.sum([p * p for p in params])
    b.zero_grad()
    loss.backward()
    for p in params:
        p.data -= 0.5 * p.grad
    assert a.state_dict() == b.state_dict()


def test_minibatch_shuffling_is_seeded():
    X, y = moons(n=40, noise=0.1, seed=2, labels="pm1")

    def run(seed):
        model = MLP(2, [4, 1], seed=0)
        history = fit(model, X, y, batch_size=8, lr=0.1, epochs=3, seed=seed, verbose=False)
        return model.state_dict(), history.loss

    assert run(5) == run(5)
    assert run(5)[0] != run(6)[0]


def test_target_accuracy_in_full_batch_keeps_the_measured_model():
    X, y = logic_gate("and")
    model = MLP(2, [1], output="sigmoid", seed=0)
    history = fit(model, X, y, loss="bce", lr=1.0, epochs=500, target_accuracy=1.0,
                  verbose=False)
    assert history.stop_reason.startswith(f"stopped after epoch {history.epochs}: accuracy")
    assert accuracy(model, X, y) == history.accuracy[-1] == 1.0


def test_patience_stops_when_the_loss_stalls():
    X, y = logic_gate("or", labels="pm1")
    model = MLP(2, [3, 1], seed=0)
    history = fit(model, X, y, lr=0.0, epochs=50, patience=4, verbose=False)
    # Epoch 1 sets the best loss; with lr 0 the next 4 cannot beat it.
    assert history.epochs == 5
    assert "did not improve for 4 epochs" in history.stop_reason
    assert not history.diverged  # stopped early, but not because it broke
    assert len(set(history.loss)) == 1



def test_compiled_training_stopped_by_patience_ends_with_the_accuracy_eager_gives():
    X, y = moons(60, noise=0.1, seed=0, labels="pm1")
    runs = [fit(MLP(2, [8, 8, 1], seed=3), X, y, epochs=60, lr=0.3, patience=3, min_delta=1e-3,
                verbose=False, compile=compiled) for compiled in (False, True)]
    assert runs[0].stop_reason == runs[1].stop_reason and "did not improve" in runs[0].stop_reason
    assert runs[1].accuracy[-1] is not None
    assert runs[1].accuracy[-1] == pytest.approx(runs[0].accuracy[-1], abs=1e-12)

def test_mse_regression_has_no_accuracy():
    X = np.linspace(-1, 1, 9).reshape(-1, 1)
    y = 0.3 * X[:, 0] - 0.1
    model = Neuron(1, activation="linear", seed=0)
    history = fit(model, X, y, loss="mse", lr=0.5, epochs=60, verbose=False)
    assert history.accuracy == [None] * 60
    assert history.loss[-1] < 1e-6
    assert model.w[0].data == pytest.approx(0.3, abs=1e-3)


def test_custom_loss_and_optimizer():
    X, y = logic_gate("and")
    model = MLP(2, [1], output="sigmoid", seed=0)
    opt = SGD(model.parameters(), lr=2.0, momentum=0.5)
    history = fit(model, X, y, loss=lambda out, t: mse_loss(out, t, reduction="sum"),
                  optimizer=opt, epochs=200, verbose=False)
    assert history.lr == [2.0] * 200
    assert accuracy(model, X, y) == 1.0


def test_history():
    h = History(loss=[1.0, 0.5], accuracy=[0.5, 0.75], lr=[0.1, 0.1])
    assert h.epochs == 2 and h.stop_reason is None


# ---- progress output ------------------------------------------------------------------------

def test_progress_on_a_terminal_updates_one_line():
    X, y = logic_gate("xor", labels="pm1")
    stream = Terminal()
    fit(MLP(2, [4, 1], seed=0), X, y, lr=0.05, epochs=5, stream=stream)
    text = stream.getvalue()
    assert text.count("\r") == 5 and text.endswith("\n") and text.count("\n") == 1
    assert "epoch 5/5" in text and "loss" in text and "accuracy" in text


def test_progress_elsewhere_prints_plain_lines():
    X, y = logic_gate("xor", labels="pm1")
    stream = io.StringIO()
    fit(MLP(2, [4, 1], seed=0), X, y, lr=0.05, epochs=30, stream=stream)
    lines = stream.getvalue().splitlines()
    assert "\r" not in stream.getvalue()
    assert lines[0].startswith("epoch  1/30  loss ") and "accuracy" in lines[0]
    assert lines[-1].startswith("epoch 30/30")
    assert len(lines) == 11  # epoch 1, then every 3rd (about ten lines in all)


def test_progress_reports_early_stopping():
    X, y = logic_gate("or", labels="pm1")
    stream = io.StringIO()
    fit(MLP(2, [3, 1], seed=0), X, y, lr=0.0, epochs=50, patience=2, stream=stream,
        log_every=1)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 4 and lines[-1].startswith("stopped after epoch 3")


def test_verbose_false_prints_nothing(capsys):
    X, y = logic_gate("xor", labels="pm1")
    fit(MLP(2, [4, 1], seed=0), X, y, lr=0.05, epochs=3, verbose=False)
    assert capsys.readouterr().out == ""
    fit(MLP(2, [4, 1], seed=0), X, y, lr=0.05, epochs=3)  # default stream: stdout
    assert "epoch 3/3" in capsys.readouterr().out


# ---- predict and accuracy -------------------------------------------------------------------

def test_predict_records_no_graph_and_returns_an_array():
    model = MLP(2, [3, 1], seed=0)
    out = predict(model, [[0.1, 0.2], [0.3, -0.4]])
    assert out.dtype == np.float64 and out.shape == (2,)
    assert out[0] == model([0.1, 0.2]).data
    assert all(p.grad == 0.0 for p in model.parameters())


def test_accuracy_thresholds():
    n = Neuron(1, activation="linear", seed=0)
    n.w[0].data, n.b.data = 1.0, 0.0
    X = [[0.7], [0.3], [-0.2]]
    assert accuracy(n, X, [1, 0, 0], threshold=0.5) == 1.0
    assert accuracy(n, X, [1, 1, 0]) == 1.0           # 0/1 labels, a linear output: logits, 0
    assert accuracy(n, X, [1, 1, -1]) == 1.0          # -1/+1 labels: threshold 0
    probability = Neuron(1, activation="sigmoid", seed=0)
    probability.w[0].data, probability.b.data = 1.0, 0.0  # sigmoid(-0.2) = 0.45: class 0
    assert accuracy(probability, X, [1, 1, 0]) == 1.0     # a sigmoid output: probabilities, 0.5
    assert accuracy(n, X, [1, 1, 0], threshold=0.0) == 1.0
    with pytest.raises(ValueError, match="class labels"):
        accuracy(n, X, [0.5, 0.2, 0.1])


def test_accuracy_reads_the_threshold_from_the_loss():
    # A linear model scored as logits: output 0.3 means p = sigmoid(0.3) > 0.5, class 1.
    n = Neuron(1, activation="linear", seed=0)
    n.w[0].data, n.b.data = 1.0, 0.0
    X, y = [[0.7], [0.3], [-0.2]], [1, 1, 0]
    assert accuracy(n, X, y, loss="bce_logits") == 1.0           # threshold 0, as fit's
    assert accuracy(n, X, y, loss="bce") == accuracy(n, X, y, loss="mse") == 2 / 3  # 0.5
    assert accuracy(n, X, [1, 1, -1], loss="hinge") == 1.0
    assert accuracy(n, X, y, loss="bce_logits", threshold=0.5) == 2 / 3  # threshold wins
    with pytest.raises(ValueError, match="unknown loss 'bce_logit'.*'bce_logits'"):
        accuracy(n, X, y, loss="bce_logit")


def test_accuracy_after_fit_with_bce_logits_matches_fits_own_measure():
    X, y = admissions(n=40, seed=3)
    X = (X - 5.0) / 3.0
    model = Neuron(2, activation="linear", seed=0)
    history = fit(model, X, y, loss="bce_logits", lr=0.5, epochs=5, verbose=False)
    # One more epoch with lr 0 measures the final model exactly as fit does.
    again = fit(model, X, y, loss="bce_logits", lr=0.0, epochs=1, verbose=False)
    assert accuracy(model, X, y, loss="bce_logits") == again.accuracy[-1]
    assert history.epochs == 5


@pytest.mark.parametrize("labels, output", [("01", "linear"), ("01", "sigmoid"),
                                            ("pm1", "linear")])
def test_fit_and_accuracy_score_by_one_rule(labels, output):
    """The default accuracy is fit's: measured on the same weights, the two are equal."""
    X, y = moons(n=100, noise=0.2, seed=0, labels=labels)
    model = MLP(2, [8, 1], output=output, seed=0)
    history = fit(model, X, y, lr=0.05, epochs=6, verbose=False)
    # An epoch with lr 0 measures the final weights exactly as fit measures an epoch.
    again = fit(model, X, y, loss=history.loss_name, lr=0.0, epochs=1, verbose=False)
    assert accuracy(model, X, y) == again.accuracy[-1]


class Wrapped(Module):
    """A module of one's own: the recorder cannot read its layers, and measures it itself."""

    def __init__(self, inner):
        self.inner = inner

    def forward(self, x):
        return self.inner(x)


# ---- recording and the live view -----------------------------------------------------------

class Recorder:
    """A live view that only writes down what fit hands it."""

    def __init__(self):
        self.updates, self.finished = [], []

    def update(self, history):
        self.updates.append((history.epochs, [s.epoch for s in history.snapshots]))

    def finish(self, history):
        self.finished.append(history)


@pytest.mark.parametrize("options", [{}, {"batch_size": 16, "seed": 3}, {"compile": True},
                                     {"l2": 1e-3, "lr": lambda k: 0.3 / (1 + k)}])
def test_fit_live_trains_bit_identical_weights(options):
    X, y = moons(n=40, noise=0.2, seed=1, labels="pm1")
    plain, watched = MLP(2, [6, 1], seed=4), MLP(2, [6, 1], seed=4)
    options = {"lr": 0.2, **options}
    h1 = fit(plain, X, y, epochs=7, verbose=False, **options)
    view = Recorder()
    h2 = fit(watched, X, y, epochs=7, verbose=False, live=view, **options)
    assert watched.state_dict() == plain.state_dict()
    assert h2.loss == h1.loss and h2.lr == h1.lr
    # live implies record=True: a snapshot before training and after every epoch.
    assert [s.epoch for s in h2.snapshots] == list(range(8)) and h1.snapshots == []
    # Each snapshot is sent once, in order, as soon as its loss and accuracy are known (in
    # full-batch training that is the next epoch's forward pass, on exactly its weights).
    assert [snaps for _, snaps in view.updates] == [list(range(k + 1)) for k in range(8)]
    assert all(epochs >= snaps[-1] for epochs, snaps in view.updates)
    assert view.finished == [h2]


def test_snapshots_hold_the_weights_after_each_epochs_updates_and_their_scores():
    X, y = moons(n=30, noise=0.2, seed=2)
    model = MLP(2, [5, 1], seed=7)
    start = model.state_dict()
    history = fit(model, X, y, lr=0.5, l2=1e-3, epochs=10, record=4, verbose=False)
    assert [s.epoch for s in history.snapshots] == [0, 4, 8, 10]  # and always the last
    assert history.snapshots[0].state_dict == start
    assert history.snapshots[-1].state_dict == model.state_dict()
    for snap in history.snapshots:
        # The weights after `epoch` epochs are those of a run that stops there.
        again = MLP(2, [5, 1], seed=7)
        if snap.epoch:
            fit(again, X, y, lr=0.5, l2=1e-3, epochs=snap.epoch, verbose=False)
        assert again.state_dict() == snap.state_dict
        assert all(type(v) is float for v in snap.state_dict.values())
        # loss and accuracy are those of exactly these weights, measured on all the data.
        outputs = [again(row) for row in X.tolist()]
        loss = binary_cross_entropy_with_logits(outputs, y.tolist()) + \
            1e-3 * Value.sum([p * p for p in again.parameters()])
        assert snap.loss == loss.data
        assert snap.accuracy == accuracy(again, X, y)
    # An epoch's own measure is taken before its updates: in full-batch training the loss
    # after epoch 4 is the one epoch 5 (index 4) measures, not epoch 4's own.
    assert history.loss[4] == history.snapshots[1].loss != history.loss[3]


def test_record_every_epoch_and_early_stops_keep_the_last_snapshot():
    X, y = logic_gate("and")
    model = MLP(2, [1], output="sigmoid", seed=0)
    history = fit(model, X, y, lr=1.0, epochs=300, target_accuracy=1.0, record=True,
                  verbose=False)
    assert history.stop_reason is not None
    # The last epoch measured the weights and stopped before its step: its weights are the
    # previous epoch's, kept once (not twice under two epoch numbers).
    assert [s.epoch for s in history.snapshots] == list(range(history.epochs))
    assert history.snapshots[-1].state_dict == model.state_dict()
    assert history.snapshots[-1].accuracy == 1.0 == history.accuracy[-1]
    assert history.snapshots[-1].loss == history.loss[-1]
    states = [s.state_dict for s in history.snapshots]
    assert all(a != b for a, b in zip(states, states[1:]))


def test_mse_snapshots_have_no_accuracy():
    X, y = [[0.0], [1.0], [2.0]], [0.5, 1.5, 2.5]
    history = fit(Neuron(1, activation="linear", seed=0), X, y, loss="mse", lr=0.1, epochs=3,
                  record=2, verbose=False)
    assert [(s.epoch, s.accuracy) for s in history.snapshots] == [(0, None), (2, None),
                                                                     (3, None)]


def test_live_true_uses_the_explorers_live_view_and_bad_live_or_record_are_refused(
        monkeypatch):
    X, y = logic_gate("xor", labels="pm1")
    model = MLP(2, [4, 1], seed=0)
    before = model.state_dict()
    # Outside a notebook the live view shows nothing, so it records only what is asked.
    history = fit(model, X, y, lr=0.1, epochs=3, live=True, verbose=False)
    assert history.snapshots == []
    history = fit(model, X, y, lr=0.1, epochs=3, live=True, record=2, verbose=False)
    assert [s.epoch for s in history.snapshots] == [0, 2, 3]
    made = []

    def live_view(*args):
        made.append(args)
        return Recorder()

    monkeypatch.setattr(recording, "live_view", live_view)
    history = fit(model, X, y, lr=0.1, epochs=2, live=True, verbose=False)
    ((m, X_seen, y_seen, h),) = made
    assert m is model and X_seen is X and y_seen is y and h is history
    assert [s.epoch for s in history.snapshots] == [0, 1, 2]  # an active view records
    with pytest.raises(ValueError, match="record=False records none"):
        fit(model, X, y, epochs=2, live=Recorder(), record=False, verbose=False)
    trained = model.state_dict()
    with pytest.raises(TypeError, match="live must be True or an object with update"):
        fit(model, X, y, epochs=2, live="yes", verbose=False)
    with pytest.raises(ValueError, match="record"):
        fit(model, X, y, epochs=2, record=0, verbose=False)
    assert model.state_dict() == trained != before  # refused before any step


# ---- errors ---------------------------------------------------------------------------------

def test_bad_arguments():
    X, y = logic_gate("xor", labels="pm1")
    model = MLP(2, [2, 1], seed=0)
    with pytest.raises(ValueError, match="unknown loss 'hing'.*'hinge'.*'bce'"):
        fit(model, X, y, loss="hing")
    with pytest.raises(ValueError, match="X has 4 samples but y has 3 targets"):
        fit(model, X, y[:3])
    with pytest.raises(ValueError, match="epochs must be a whole number >= 1; got 0"):
        fit(model, X, y, epochs=0)
    with pytest.raises(ValueError, match="batch_size"):
        fit(model, X, y, batch_size=-2)
    with pytest.raises(ValueError, match="l2"):
        fit(model, X, y, l2=-1.0)
    with pytest.raises(ValueError, match="target_accuracy"):
        fit(model, X, y, target_accuracy=1.5)
    with pytest.raises(ValueError, match=r"X must be 2-D.*\(8,\)"):
        fit(model, X.ravel(), y)
    with pytest.raises(ValueError, match="labels -1 or \\+1"):
        fit(model, X, (y + 1) // 2, loss="hinge", verbose=False)


@pytest.mark.parametrize("X, y", [
    ([], []),
    (np.zeros((0, 2)), np.zeros(0)),
    (np.zeros((0, 2)), []),
])
def test_no_samples_gets_a_clear_error(X, y):
    with pytest.raises(ValueError, match="X has no samples"):
        fit(MLP(2, [1], seed=0), X, y, verbose=False)
    with pytest.raises(ValueError, match="X has no samples"):
        accuracy(MLP(2, [1], seed=0), X, y)


@pytest.mark.parametrize("lr", [-0.5, float("nan"), float("inf")])
def test_a_bad_lr_for_your_own_optimizer_is_rejected_as_sgd_rejects_it(lr):
    X, y = logic_gate("xor", labels="pm1")
    model = MLP(2, [2, 1], seed=0)
    opt = SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="lr must be a finite number >= 0; got") as ours:
        fit(model, X, y, optimizer=opt, lr=lr, verbose=False)
    with pytest.raises(ValueError) as sgds:
        SGD(model.parameters(), lr=lr)
    assert str(ours.value) == str(sgds.value)
    assert opt.lr == 0.1  # the optimiser is left as it was
    with pytest.raises(TypeError, match=r"lr must be a real number \(int, float, bool or "
                                        r"numpy scalar\); got str"):
        fit(model, X, y, optimizer=opt, lr="0.1", verbose=False)


def test_a_schedule_that_gives_a_bad_lr_is_rejected():
    X, y = logic_gate("xor", labels="pm1")
    model = MLP(2, [2, 1], seed=0)
    before = model.state_dict()
    with pytest.raises(ValueError, match=r"lr\(2\).*lr must be a finite number >= 0; got -0.1"):
        fit(model, X, y, lr=lambda epoch: 0.1 - 0.1 * epoch, epochs=5, verbose=False)
    assert model.state_dict() == before  # caught before any epoch ran


# ---- the default loss follows the labels (issue 13) -----------------------------------------

def test_fit_on_a_logic_gate_works_out_of_the_box():
    # The datasets give 0/1 labels; fit used to default to the hinge loss, which needs -1/+1.
    X, y = logic_gate("xor")
    model = MLP(2, [8, 1], seed=0)
    history = fit(model, *logic_gate("xor"), lr=0.5, epochs=300, target_accuracy=1.0,
                  verbose=False)
    assert history.loss_name == "bce_logits"
    assert accuracy(model, X, y, loss=history.loss_name) == 1.0


@pytest.mark.parametrize("make, labels, output, expected", [
    (logic_gate, "pm1", "linear", "hinge"),
    (logic_gate, "01", "linear", "bce_logits"),
    (logic_gate, "01", "sigmoid", "bce"),
])
def test_the_default_loss_is_the_one_the_labels_call_for(make, labels, output, expected):
    X, y = make("and", labels=labels)
    model = MLP(2, [1], output=output, seed=0)
    assert fit(model, X, y, lr=0.1, epochs=1, verbose=False).loss_name == expected


def test_the_default_loss_for_several_outputs_and_for_real_targets():
    X, y = blobs(n=12, centers=[[0, 0], [4, 0], [0, 4]], cluster_std=0.5, seed=0)
    assert fit(MLP(2, [3], seed=0), X, y, lr=0.1, epochs=1,
               verbose=False).loss_name == "cross_entropy"
    X = np.linspace(-1, 1, 5).reshape(-1, 1)
    assert fit(Neuron(1, activation="linear", seed=0), X, 0.3 * X[:, 0], lr=0.1, epochs=1,
               verbose=False).loss_name == "mse"
    custom = fit(Neuron(1, activation="linear", seed=0), X, 0.3 * X[:, 0], epochs=1,
                 loss=lambda out, t: mse_loss(out, t), verbose=False)
    assert custom.loss_name is None


# ---- NaN and divergence (issue 11) ----------------------------------------------------------

def test_nan_in_the_data_is_refused_before_training():
    # hinge_loss on NaN used to be 0, so fit trained on NaN data without a word.
    X, y = logic_gate("xor", labels="pm1")
    X[2, 1] = np.nan
    model = MLP(2, [4, 1], seed=0)
    before = model.state_dict()
    with pytest.raises(ValueError, match=r"X\[2\]\[1\] must be a finite number; got nan"):
        fit(model, X, y, loss="hinge", verbose=False)
    with pytest.raises(ValueError, match=r"y\[0\] must be a finite number; got inf"):
        fit(model, X[:2] * 0, [np.inf, 1.0], loss="mse", verbose=False)
    assert model.state_dict() == before


def test_a_nan_parameter_is_refused_before_training():
    X, y = logic_gate("xor", labels="pm1")
    model = MLP(2, [4, 1], seed=0)
    model.parameters()[3].data = float("nan")
    with pytest.raises(ValueError, match="parameter .*= nan is not a finite number"):
        fit(model, X, y, verbose=False)


def test_divergence_stops_with_a_warning_and_keeps_the_last_finite_weights():
    X = np.linspace(-1, 1, 9).reshape(-1, 1) * 100
    y = 3.0 * X[:, 0]
    model = Neuron(1, activation="linear", seed=0)
    with pytest.warns(RuntimeWarning, match="training diverged"):
        history = fit(model, X, y, loss="mse", lr=10.0, epochs=500, verbose=False)
    assert "diverged" in history.stop_reason and "smaller learning rate" in history.stop_reason
    assert history.diverged
    assert history.epochs < 500
    assert all(np.isfinite(p.data) for p in model.parameters())
    assert all(np.isfinite(v) for v in history.loss)
    model = Neuron(1, activation="linear", seed=0)
    with pytest.warns(RuntimeWarning, match="training diverged"):
        recorded = fit(model, X, y, loss="mse", lr=10.0, epochs=500, record=True,
                       verbose=False)
    assert recorded.loss == history.loss
    # The epoch that broke leaves no snapshot; every finished one does.
    assert [s.epoch for s in recorded.snapshots] == list(range(recorded.epochs + 1))
    assert recorded.snapshots[-1].loss == math.inf  # its loss is beyond the largest float
    assert all(math.isfinite(v) for s in recorded.snapshots for v in s.state_dict.values())


def test_fit_compiled_trains_to_the_same_weights_as_eager():
    X, y = moons(30, noise=0.1, seed=0, labels="pm1")
    eager, compiled = MLP(2, [8, 8, 1], seed=3), MLP(2, [8, 8, 1], seed=3)
    h1 = fit(eager, X, y, loss="hinge", l2=1e-4, epochs=15, lr=0.3, verbose=False)
    h2 = fit(compiled, X, y, loss="hinge", l2=1e-4, epochs=15, lr=0.3, verbose=False,
             compile=True)
    for a, b in zip(eager.parameters(), compiled.parameters()):
        assert b.data == pytest.approx(a.data, rel=1e-10, abs=1e-12)
    assert h2.loss == pytest.approx(h1.loss, rel=1e-10)
    # accuracy is measured only at the last epoch when nothing asks for it sooner
    assert h2.accuracy[:-1] == [None] * 14 and h2.accuracy[-1] == h1.accuracy[-1]


def test_fit_compiled_in_minibatches_traces_once_per_batch_size_and_matches_eager():
    # Each batch brings other labels; the loss only checks them, so the compiled step keeps
    # its trace (one more for the last, smaller batch) and gives eager's weights.
    X, y = moons(50, noise=0.1, seed=0, labels="pm1")
    eager, compiled = MLP(2, [8, 1], seed=3), MLP(2, [8, 1], seed=3)
    h1 = fit(eager, X, y, loss="hinge", epochs=6, batch_size=16, lr=0.3, seed=5,
             verbose=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "traced again on most calls" would fail here
        h2 = fit(compiled, X, y, loss="hinge", epochs=6, batch_size=16, lr=0.3, seed=5,
                 verbose=False, compile=True)
    for a, b in zip(eager.parameters(), compiled.parameters()):
        assert b.data == pytest.approx(a.data, rel=1e-10, abs=1e-12)
    assert h2.loss == pytest.approx(h1.loss, rel=1e-10)


def test_fit_compiled_with_softmax_cross_entropy_keeps_one_trace_and_matches_eager():
    # softmax's shift (the max score) is read from the data; a replay keeps the traced one
    # instead of tracing again whenever training changes which score is largest.
    X, y = blobs(n=30, centers=3, seed=0)
    X = X / 10.0
    eager, compiled = MLP(2, [8, 3], seed=1), MLP(2, [8, 3], seed=1)
    h1 = fit(eager, X, y, epochs=15, lr=0.5, verbose=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        h2 = fit(compiled, X, y, epochs=15, lr=0.5, verbose=False, compile=True)
    assert h1.loss_name == h2.loss_name == "cross_entropy"
    for a, b in zip(eager.parameters(), compiled.parameters()):
        assert b.data == pytest.approx(a.data, rel=1e-10, abs=1e-12)
    assert h2.loss == pytest.approx(h1.loss, rel=1e-10)


def test_fit_compiled_stops_at_the_target_accuracy_as_eager_does():
    X, y = logic_gate("xor")
    runs = []
    for compiled in (False, True):
        model = MLP(2, [8, 1], seed=1)
        history = fit(model, X, y, epochs=400, lr=0.5, target_accuracy=1.0, verbose=False,
                      compile=compiled)
        runs.append((len(history.loss), history.accuracy[-1]))
    assert runs[0] == runs[1] and runs[0][1] == 1.0


# ---- what the model ends in is read from the model, not from a recorded graph -------------

def test_accuracy_inside_no_grad_splits_a_sigmoid_output_at_one_half():
    model = MLP(2, [1], output="sigmoid", seed=0)
    X, y = logic_gate("and")
    fit(model, X, y, lr=1.0, epochs=5, verbose=False)
    outside = accuracy(model, X, y)
    with no_grad():
        inside = accuracy(model, X, y)
    assert inside == outside == accuracy(model, X, y, threshold=0.5)


def test_accuracy_inside_no_grad_refuses_to_guess_for_a_module_of_ones_own():
    class Probability(Module):
        def __init__(self):
            self.w = Value(1.0)

        def forward(self, x):
            return (self.w * x[0]).sigmoid()

    model, X, y = Probability(), [[2.0], [-1.0]], [1, 0]
    assert accuracy(model, X, y) == 1.0          # outside no_grad, the graph says sigmoid
    with no_grad():
        with pytest.raises(ValueError, match="loss='bce'"):
            accuracy(model, X, y)
        assert accuracy(model, X, y, loss="bce") == 1.0


@pytest.mark.parametrize("build", [
    lambda: MLP(2, [6, 2], output="softmax", seed=0),
    lambda: Sequential(Linear(2, 6, seed=0), Tanh(), Linear(6, 2, seed=1), Softmax()),
])
def test_fit_trains_a_softmax_model_on_probabilities(build):
    X, y = logic_gate("xor")
    model = build()
    history = fit(model, X, y, lr=0.5, epochs=400, target_accuracy=1.0, verbose=False)
    assert history.loss_name == "cross_entropy_probs"
    assert accuracy(model, X, y) == 1.0
    assert history.loss[-1] < history.loss[0]


@pytest.mark.parametrize("make, options", [
    (lambda: MLP(2, [5, 1], seed=7), {"compile": True}),
    (lambda: MLP(2, [5, 1], seed=7), {"batch_size": 7, "seed": 1}),
    (lambda: Wrapped(MLP(2, [5, 1], seed=7)), {"compile": True}),
])
def test_recorded_scores_are_those_of_the_recorded_weights_however_they_are_measured(
        make, options):
    X, y = moons(n=30, noise=0.2, seed=2)
    plain, model = make(), make()
    fit(plain, X, y, lr=0.5, l2=1e-3, epochs=6, verbose=False, **options)
    history = fit(model, X, y, lr=0.5, l2=1e-3, epochs=6, record=2, verbose=False, **options)
    assert [s.epoch for s in history.snapshots] == [0, 2, 4, 6]
    # Recording changes no weight, and leaves the last step's gradients as they were.
    assert model.state_dict() == plain.state_dict()
    assert [p.grad for p in model.parameters()] == [p.grad for p in plain.parameters()]
    for snap in history.snapshots:
        again = make()
        again.load_state_dict(snap.state_dict)
        outputs = [again(row) for row in X.tolist()]
        loss = binary_cross_entropy_with_logits(outputs, y.tolist()) + \
            1e-3 * Value.sum([p * p for p in again.parameters()])
        assert snap.loss == pytest.approx(loss.data, rel=1e-12)
        assert snap.accuracy == accuracy(again, X, y)


def _recorder(budget):
    history = History(loss_name="mse")
    state = {"w": 0.0}
    rec = recording.Recorder(every=1, watcher=None, history=history, state=lambda: dict(state),
                             measure=lambda: (1.0, None), reuse=False, budget=budget)
    rec.start()
    for epoch in range(6):
        state["w"] = float(epoch + 1)
        rec.after_epoch(epoch, 1.0, None, stepped=True, last=epoch == 5)
    rec.finish()
    return [s.epoch for s in history.snapshots]


def test_a_live_views_recording_keeps_within_its_time_budget():
    # No share of the run's time for recording: only the weights before and after training.
    assert _recorder(budget=0.0) == [0, 6]
    # No budget (record= given, or a live view of one's own): every epoch.
    assert _recorder(budget=None) == [0, 1, 2, 3, 4, 5, 6]
    assert _recorder(budget=1e9) == [0, 1, 2, 3, 4, 5, 6]


def test_live_true_without_record_records_on_the_explorers_time_budget(monkeypatch):
    shown = []

    class View:
        active = True

        def update(self, history):
            shown.append(len(history.snapshots))

        def finish(self, history):
            shown.append("finished")

    monkeypatch.setattr(recording, "live_view", lambda *args: View())
    every, view, budget = recording.recording(None, True, None, [], [], History())
    assert (every, budget) == (1, recording.LIVE_SHARE) and isinstance(view, View)
    # Asked for explicitly, or for a view of one's own: every epoch, no budget.
    assert recording.recording(True, True, None, [], [], History())[2] is None
    assert recording.recording(None, View(), None, [], [], History())[2] is None
