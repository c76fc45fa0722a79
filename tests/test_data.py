"""Tests for microgrant.data: shapes, dtypes, label conventions, seeding and argument checks."""

import math
import operator
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from microgrant.data import GATES, admissions, blobs, circles, logic_gate, moons, split

GENERATORS = {
    "moons": moons,
    "circles": circles,
    "blobs": blobs,
    "admissions": admissions,
}
generators = pytest.mark.parametrize("make", GENERATORS.values(), ids=GENERATORS.keys())


# --------------------------------------------------------------------------- logic gates

TRUTH = {
    "and": lambda a, b: a and b,
    "or": lambda a, b: a or b,
    "nand": lambda a, b: not (a and b),
    "xor": operator.xor,
}


@pytest.mark.parametrize("name", sorted(TRUTH))
def test_logic_gate_matches_python_boolean_operators(name):
    X, y = logic_gate(name)
    assert X.shape == (4, 2) and X.dtype == np.float64
    assert y.shape == (4,)
    expected = [int(bool(TRUTH[name](bool(a), bool(b)))) for a, b in X.tolist()]
    assert y.tolist() == expected
    # every combination of two bits appears exactly once
    assert sorted(map(tuple, X.tolist())) == [(0, 0), (0, 1), (1, 0), (1, 1)]


@pytest.mark.parametrize("name", sorted(TRUTH))
def test_logic_gate_pm1_labels(name):
    _, y01 = logic_gate(name)
    X, ypm = logic_gate(name, labels="pm1")
    assert set(ypm.tolist()) <= {-1, 1}
    assert ypm.tolist() == [1 if v == 1 else -1 for v in y01.tolist()]
    assert set(X.ravel().tolist()) == {0.0, 1.0}  # inputs stay 0/1 under pm1


@pytest.mark.parametrize("labels, expected", [("01", [1, 0]), ("pm1", [1, -1])])
def test_the_not_gate_of_note_003_has_one_input(labels, expected):
    X, y = logic_gate("NOT", labels=labels)
    assert X.shape == (2, 1) and X.dtype == np.float64 and X.tolist() == [[0.0], [1.0]]
    assert y.tolist() == expected
    # A perceptron with weight -1 and bias 0.5 is NOT, as the note builds it.
    assert [int(-1.0 * x + 0.5 >= 0) for (x,) in X.tolist()] == logic_gate("not")[1].tolist()
    with pytest.raises(ValueError, match="'not'"):
        logic_gate("nor")


def test_logic_gate_is_case_insensitive():
    assert logic_gate("XOR")[1].tolist() == logic_gate("xor")[1].tolist()


@pytest.mark.parametrize("bad", ["nor", "", "x or", None, 3])
def test_logic_gate_unknown_name_lists_valid_ones(bad):
    with pytest.raises(ValueError) as info:
        logic_gate(bad)
    for valid in ("and", "or", "nand", "xor"):
        assert repr(valid) in str(info.value)
    assert set(GATES) == {"and", "or", "nand", "xor"}


# --------------------------------------------------------------------------- common contract


@generators
@pytest.mark.parametrize("n", [1, 2, 7, 100])
def test_shapes_and_dtypes(make, n):
    X, y = make(n=n, seed=0)
    assert X.shape == (n, 2)
    assert X.dtype == np.float64
    assert y.shape == (n,)
    assert np.issubdtype(y.dtype, np.integer)
    assert np.isfinite(X).all()


@generators
def test_default_labels_are_0_1_and_pm1_is_the_same_classes(make):
    X01, y01 = make(n=60, seed=3)
    Xpm, ypm = make(n=60, seed=3, labels="pm1")
    assert set(y01.tolist()) == {0, 1}
    assert set(ypm.tolist()) == {-1, 1}
    # same points, same classes: only the names of the classes change
    np.testing.assert_array_equal(X01, Xpm)
    np.testing.assert_array_equal(ypm, 2 * y01 - 1)


@generators
def test_same_seed_same_data(make):
    Xa, ya = make(n=50, seed=42)
    Xb, yb = make(n=50, seed=42)
    np.testing.assert_array_equal(Xa, Xb)
    np.testing.assert_array_equal(ya, yb)


@generators
def test_different_seed_different_data(make):
    Xa, _ = make(n=50, seed=1)
    Xb, _ = make(n=50, seed=2)
    assert not np.array_equal(Xa, Xb)


@generators
def test_generator_argument_is_used_and_advances(make):
    rng = np.random.default_rng(7)
    Xa, _ = make(n=30, seed=rng)
    Xb, _ = make(n=30, seed=rng)  # the stream moved on: new data
    assert not np.array_equal(Xa, Xb)
    Xc, _ = make(n=30, seed=np.random.default_rng(7))  # a fresh, equal stream: equal data
    np.testing.assert_array_equal(Xa, Xc)


@generators
def test_global_numpy_random_state_is_untouched(make):
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    make(n=20, seed=None)
    make(n=20, seed=5)
    after = np.random.get_state()[1]
    np.testing.assert_array_equal(before, after)


@generators
@pytest.mark.parametrize("n", [0, -3])
def test_n_below_one_is_a_value_error_naming_n(make, n):
    with pytest.raises(ValueError, match=r"\bn\b"):
        make(n=n, seed=0)


@generators
@pytest.mark.parametrize("n", [2.5, "10", True])
def test_non_integer_n_is_a_type_error(make, n):
    with pytest.raises(TypeError, match=r"\bn\b"):
        make(n=n, seed=0)


@generators
def test_unknown_labels_convention_lists_the_valid_ones(make):
    with pytest.raises(ValueError) as info:
        make(n=10, seed=0, labels="+-1")
    assert "'01'" in str(info.value) and "'pm1'" in str(info.value)


@generators
def test_bad_seed_is_a_type_error(make):
    with pytest.raises(TypeError, match="seed"):
        make(n=10, seed="abc")


@pytest.mark.parametrize(
    "make", [moons, circles, admissions], ids=["moons", "circles", "admissions"]
)
@pytest.mark.parametrize("noise", [-0.1, math.inf, math.nan])
def test_bad_noise_is_a_value_error(make, noise):
    with pytest.raises(ValueError, match="noise"):
        make(n=10, noise=noise, seed=0)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(min_value=1, max_value=300),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
    name=st.sampled_from(sorted(GENERATORS)),
    labels=st.sampled_from(["01", "pm1"]),
)
def test_contract_holds_for_any_size_and_seed(n, seed, name, labels):
    X, y = GENERATORS[name](n=n, seed=seed, labels=labels)
    assert X.shape == (n, 2) and y.shape == (n,) and X.dtype == np.float64
    allowed = {0, 1} if labels == "01" else {-1, 1}
    assert set(y.tolist()) <= allowed


# --------------------------------------------------------------------------- each dataset


def test_moons_without_noise_lie_on_their_arcs():
    X, y = moons(n=101, noise=0.0, seed=0)
    upper, lower = X[y == 0], X[y == 1]
    assert len(upper) == 50 and len(lower) == 51
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0)
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1.0, lower[:, 1] - 0.5), 1.0)
    assert (upper[:, 1] >= -1e-12).all() and (lower[:, 1] <= 0.5 + 1e-12).all()


def test_moons_noise_moves_points_off_the_arcs():
    X, y = moons(n=100, noise=0.2, seed=0)
    radius = np.hypot(X[y == 0, 0], X[y == 0, 1])
    assert np.abs(radius - 1.0).max() > 0.05


def test_moons_rows_are_shuffled():
    _, y = moons(n=100, seed=0)
    assert set(y[:10].tolist()) == {0, 1}  # not fifty 0s followed by fifty 1s


def test_circles_without_noise_have_radius_1_and_factor():
    X, y = circles(n=40, noise=0.0, factor=0.3, seed=0)
    radius = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_allclose(radius[y == 0], 1.0)
    np.testing.assert_allclose(radius[y == 1], 0.3)
    assert len(np.unique(X.round(9), axis=0)) == 40  # no point repeated at angle 0 and 2*pi


@pytest.mark.parametrize("factor", [0.0, 1.0, 1.5, -0.5])
def test_circles_factor_must_be_between_0_and_1(factor):
    with pytest.raises(ValueError, match="factor"):
        circles(n=10, factor=factor, seed=0)


def test_blobs_without_spread_sit_on_their_centres():
    centres = np.array([[-3.0, 1.0], [4.0, 2.0], [0.0, -5.0]])
    X, y = blobs(n=10, centers=centres, cluster_std=0.0, seed=0)
    np.testing.assert_array_equal(X, centres[y])
    assert sorted(np.bincount(y).tolist()) == [3, 3, 4]


def test_blobs_random_centres_lie_in_the_box_and_classes_count_centres():
    X, y = blobs(n=90, centers=3, cluster_std=0.0, center_box=(2.0, 3.0), seed=0)
    assert set(y.tolist()) == {0, 1, 2}
    assert ((X >= 2.0) & (X < 3.0)).all()


def test_blobs_pm1_needs_two_centres():
    with pytest.raises(ValueError, match="pm1"):
        blobs(n=10, centers=3, seed=0, labels="pm1")


@pytest.mark.parametrize("centers", [0, [[1, 2, 3]], [1, 2], []])
def test_blobs_bad_centers(centers):
    with pytest.raises(ValueError, match="centers"):
        blobs(n=10, centers=centers, seed=0)


def test_blobs_negative_std_is_rejected():
    with pytest.raises(ValueError, match="cluster_std"):
        blobs(n=10, cluster_std=-1.0, seed=0)


def test_admissions_follows_note_003_line_with_a_margin():
    X, y = admissions(n=300, seed=0)
    test, grades = X[:, 0], X[:, 1]
    score = 2 * test + 1 * grades - 18  # note 003: 2*Test + 1*Grades - 18
    assert ((X >= 0) & (X <= 10)).all()
    np.testing.assert_array_equal(y, (score >= 0).astype(int))
    assert np.abs(score).min() >= 1.0
    assert 0 < y.sum() < len(y)  # both accepted and rejected students


def test_admissions_noise_puts_some_students_on_the_wrong_side():
    X, y = admissions(n=300, noise=5.0, seed=0)
    score = 2 * X[:, 0] + X[:, 1] - 18
    disagreements = ((score >= 0).astype(int) != y).sum()
    assert 0 < disagreements < 150


# --------------------------------------------------------------------------- split


def test_split_sizes_and_partition():
    X = np.arange(40, dtype=float).reshape(20, 2)
    y = np.arange(20)
    X_train, X_test, y_train, y_test = split(X, y, test_fraction=0.3, seed=0)
    assert len(X_test) == len(y_test) == 6 and len(X_train) == len(y_train) == 14
    assert sorted(y_train.tolist() + y_test.tolist()) == list(range(20))
    # rows stay paired with their labels
    np.testing.assert_array_equal(X_train[:, 0], 2 * y_train)
    np.testing.assert_array_equal(X_test[:, 0], 2 * y_test)


def test_split_is_seeded():
    X, y = moons(n=30, seed=0)
    a = split(X, y, 0.2, seed=5)
    b = split(X, y, 0.2, seed=5)
    c = split(X, y, 0.2, seed=6)
    for left, right in zip(a, b):
        np.testing.assert_array_equal(left, right)
    assert not np.array_equal(a[3], c[3]) or not np.array_equal(a[1], c[1])


def test_split_test_size_is_not_pushed_up_by_rounding():
    # 0.07 * 100 is 7.000000000000001 in floating point; the test part must still get 7.
    X, y = np.zeros((100, 2)), np.zeros(100)
    assert len(split(X, y, test_fraction=0.07, seed=0)[1]) == 7
    # Every fraction written with two decimals, on sizes up to 60: ceil of the exact product.
    for hundredths in range(1, 100):
        fraction = hundredths / 100
        for n in range(1, 61):
            expected = math.ceil(Fraction(hundredths, 100) * n)
            if expected >= n:
                continue  # no training samples: an error, tested below
            X_test = split(np.zeros((n, 1)), np.zeros(n), test_fraction=fraction, seed=0)[1]
            assert len(X_test) == expected, (fraction, n)
    assert len(split(X, y, test_fraction=1e-12, seed=0)[1]) == 1  # never an empty test part


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.2, 1.5])
def test_split_fraction_must_be_between_0_and_1(fraction):
    X, y = moons(n=10, seed=0)
    with pytest.raises(ValueError, match="test_fraction"):
        split(X, y, fraction, seed=0)


def test_split_rejects_mismatched_lengths_and_empty_training_part():
    X, y = moons(n=10, seed=0)
    with pytest.raises(ValueError, match="same number of rows"):
        split(X, y[:-1], 0.2, seed=0)
    with pytest.raises(ValueError, match="no training samples"):
        split(X[:2], y[:2], 0.9, seed=0)
