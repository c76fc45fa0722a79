"""io: weights files (written, read, every kind of bad file refused clearly) and atomic writes."""

import json
import os
import stat

import pytest

from microgrant import io
from microgrant.nn import MLP, Neuron


def state():
    return {"w.0": 0.5, "w.1": -0.25, "b": 0.0}


# ---- the format -------------------------------------------------------------------------------

def test_save_writes_the_documented_format_and_load_reads_it_back_exactly(tmp_path):
    weights = {"a": 0.1, "b": -1e-300, "c": 12345.678901234567}
    path = io.save(weights, tmp_path / "w.json", model="Thing(3)")
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document == {"format": io.FORMAT, "version": io.VERSION, "model": "Thing(3)",
                        "parameters": weights}
    assert io.load(path) == weights  # floats round-trip bit for bit through JSON
    assert list(io.load(path, ["c", "a", "b"])) == ["c", "a", "b"]  # the model's order


def test_save_takes_a_model_and_records_what_it_was(tmp_path):
    model = MLP(2, [3, 1], seed=0)
    io.save(model, tmp_path / "m.json")
    document = json.loads((tmp_path / "m.json").read_text())
    assert document["model"] == repr(model)
    assert io.load(tmp_path / "m.json") == model.state_dict()


def test_a_plain_state_dict_file_and_a_byte_order_mark_are_accepted(tmp_path):
    path = tmp_path / "plain.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(state()).encode())
    assert io.load(path, ["w.0", "w.1", "b"]) == state()


def test_check_state_converts_to_floats_and_needs_string_names():
    assert io.check_state({"x": 1, "y": True and 2}) == {"x": 1.0, "y": 2.0}
    with pytest.raises(TypeError, match="names must be strings; got int 3"):
        io.check_state({3: 1.0})
    with pytest.raises(TypeError, match="'x' must be a real number; got bool True"):
        io.check_state({"x": True})


# ---- issue 11.3: messages quote bad input only in part -----------------------------------------

def test_a_megabyte_string_as_a_weight_makes_a_short_message_naming_file_and_parameter(tmp_path):
    path = tmp_path / "big.json"
    path.write_text(json.dumps({"w.0": "x" * 1_000_000, "w.1": 0.0, "b": 0.0}))
    model = Neuron(2, seed=0)
    before = model.state_dict()
    with pytest.raises(TypeError) as info:
        model.load(path)
    message = str(info.value)
    assert len(message) < 500
    assert "big.json" in message and "'w.0'" in message and "str 'xxx" in message
    assert model.state_dict() == before


def test_a_megabyte_name_and_a_megabyte_format_tag_make_short_messages(tmp_path):
    path = tmp_path / "names.json"
    path.write_text(json.dumps({"n" * 1_000_000: 1.0}))
    with pytest.raises(ValueError) as info:
        io.load(path, ["b"])
    assert len(str(info.value)) < 500 and "unexpected 1 name" in str(info.value)
    path.write_text(json.dumps({"format": "f" * 1_000_000, "parameters": {}}))
    with pytest.raises(ValueError, match="its format is 'fff") as info:
        io.load(path)
    assert len(str(info.value)) < 500


# ---- issue 11.4: every bad file is a ValueError or TypeError naming the file -------------------

def test_a_utf16_file_is_a_value_error_naming_the_file(tmp_path):
    path = tmp_path / "utf16.json"
    path.write_text(json.dumps(state()), encoding="utf-16")
    model = Neuron(2, seed=0)
    before = model.state_dict()
    with pytest.raises(ValueError) as info:
        model.load(path)
    assert type(info.value) is ValueError  # not a bare UnicodeDecodeError
    assert "utf16.json" in str(info.value) and "not UTF-8" in str(info.value)
    assert "UTF-16" in str(info.value)
    assert model.state_dict() == before


def test_a_400_digit_integer_is_a_value_error_naming_file_and_parameter(tmp_path):
    path = tmp_path / "huge.json"
    path.write_text('{"w.0": 1' + "0" * 400 + ', "w.1": 0.0, "b": 0.0}')
    model = Neuron(2, seed=0)
    before = model.state_dict()
    with pytest.raises(ValueError, match=r"huge\.json.*'w\.0' is too large for a float") as info:
        model.load(path)
    assert len(str(info.value)) < 500
    assert model.state_dict() == before


def test_an_integer_longer_than_python_reads_is_a_value_error_naming_the_file(tmp_path):
    path = tmp_path / "longer.json"
    path.write_text('{"w.0": 1' + "0" * 5000 + "}")
    with pytest.raises(ValueError, match=r"longer\.json.*not valid JSON"):
        io.load(path)


def test_json_nested_100000_deep_is_a_value_error_naming_the_file(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    model = Neuron(2, seed=0)
    before = model.state_dict()
    with pytest.raises(ValueError, match=r"deep\.json.*nested too deeply"):
        model.load(path)
    assert model.state_dict() == before


@pytest.mark.parametrize("text, error, message", [
    ('{"w.0": 0.5', ValueError, "not valid JSON.*truncated"),
    ("", ValueError, "not valid JSON"),
    ("[1.0, 2.0]", TypeError, "must be a dict.*got list"),
    ('{"w.0": 0.5, "w.1": 0.25}', ValueError, r"missing 1 parameter\(s\): 'b'"),
    ('{"w.0": 0.5, "w.1": 0.25, "b": 0, "c": 1}', ValueError, r"unexpected 1 name\(s\): 'c'"),
    ('{"w.0": 0.5, "w.1": Infinity, "b": 0.0}', ValueError, "'w.1' must be a finite number"),
    ('{"w.0": 0.5, "w.1": null, "b": 0.0}', TypeError, "'w.1' must be a real number"),
    ('{"w.0": 0.5, "w.1": {"a": 1}, "b": 0.0}', TypeError, "got dict"),
    ('{"format": "other", "parameters": {}}', ValueError, "format is 'other'"),
    ('{"format": "microgrant.weights", "version": "1", "parameters": {}}', ValueError,
     "version '1' is not supported"),
    ('{"format": "microgrant.weights", "version": 1}', ValueError, "no 'parameters'"),
])
def test_a_bad_file_is_refused_with_the_documented_error(tmp_path, text, error, message):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(error, match=message) as info:
        io.load(path, ["w.0", "w.1", "b"])
    assert type(info.value) is error
    assert "bad.json" in str(info.value)


def test_a_mismatch_says_what_the_file_was_saved_from(tmp_path):
    path = tmp_path / "small.json"
    MLP(2, [3, 1], seed=0).save(path)
    with pytest.raises(ValueError, match=r"missing 4 parameter\(s\).*saved from MLP\(2 -> \["):
        MLP(2, [4, 1], seed=0).load(path)


def test_unreadable_files_are_os_errors_naming_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="cannot load weights from .*nothing.json"):
        io.load(tmp_path / "nothing.json")
    with pytest.raises(IsADirectoryError, match="cannot load weights from"):
        io.load(tmp_path)


def test_saving_a_non_finite_or_non_number_weight_writes_nothing(tmp_path):
    with pytest.raises(ValueError, match=r"cannot save weights to .*w\.json.*'b' must be a "
                                         r"finite number; got nan.*diverged"):
        io.save({"b": float("nan")}, tmp_path / "w.json")
    with pytest.raises(TypeError, match="'b' must be a real number"):
        io.save({"b": "0.5"}, tmp_path / "w.json")
    assert list(tmp_path.iterdir()) == []


# ---- write_atomically -------------------------------------------------------------------------

def test_write_atomically_replaces_whole_and_keeps_the_mode(tmp_path):
    path = tmp_path / "f.txt"
    io.write_atomically(path, "old")
    os.chmod(path, 0o640)
    io.write_atomically(path, b"new bytes")
    assert path.read_bytes() == b"new bytes"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert [f.name for f in tmp_path.iterdir()] == ["f.txt"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "f.txt"
    io.write_atomically(path, "old")

    def full_disk(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(OSError, match="cannot save it to .*f.txt.*No space left"):
        io.write_atomically(path, "new", what="save it to")
    assert path.read_text() == "old"
    assert [f.name for f in tmp_path.iterdir()] == ["f.txt"]


def test_saving_never_changes_the_process_umask(tmp_path, monkeypatch):
    """The umask is process-wide: setting it, even for a moment, gives files other threads
    create meanwhile the wrong mode.  A new file gets the mode open() would give it."""
    umask = os.umask(0o027)
    os.umask(0o027)
    try:
        expected = 0o666 & ~0o027
        with open(tmp_path / "by_open.txt", "w"):
            pass
        assert stat.S_IMODE((tmp_path / "by_open.txt").stat().st_mode) == expected

        def never(mask):
            raise AssertionError("os.umask was called while saving")

        monkeypatch.setattr(os, "umask", never)
        io.save({"w": 0.5}, tmp_path / "w.json")
        io.write_atomically(tmp_path / "page.html", "<p>hi</p>")
        for name in ("w.json", "page.html"):
            assert stat.S_IMODE((tmp_path / name).stat().st_mode) == expected
        assert sorted(f.name for f in tmp_path.iterdir()) == ["by_open.txt", "page.html",
                                                              "w.json"]
    finally:
        monkeypatch.undo()
        os.umask(umask)
