"""Tests that result files are replaced whole or not at all, and refused when not whole."""

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

from bench import files
from bench.files import (
    read_csv,
    read_json,
    save_figure_atomic,
    write_bytes_atomic,
    write_csv_atomic,
    write_json_atomic,
    write_text_atomic,
)

matplotlib.use("Agg")
from matplotlib.figure import Figure  # noqa: E402

PROJECT_ROOT = Path(__file__).resolve().parent.parent
OLD_CONTENT = b"old content, which must survive\n"
TABLE = pd.DataFrame({"provider": ["backprop", "naive"], "median_s": [0.25, 1.5e-7]})


def a_figure() -> Figure:
    figure = Figure()
    figure.add_subplot().plot([0, 1], [1, 0])
    return figure


# Each writer with a value it can write, keyed by the suffix of the file it writes.
WRITES = {
    "text": (write_text_atomic, "results.txt", "first line\nsecond line\n"),
    "bytes": (write_bytes_atomic, "results.bin", bytes(range(256))),
    "json": (write_json_atomic, "results.json", {"b": 1, "a": [1.5, None]}),
    "csv": (write_csv_atomic, "results.csv", TABLE),
}


def write(kind: str, folder: Path) -> Path:
    writer, name, value = WRITES[kind]
    return writer(folder / name, value)


def folder_names(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


def test_text_is_written_verbatim_as_utf8(tmp_path):
    path = write_text_atomic(tmp_path / "notes.txt", "gradient ∇ of L\r\nline two\n")

    assert path.read_bytes() == "gradient ∇ of L\r\nline two\n".encode()


def test_bytes_are_written_verbatim(tmp_path):
    path = write_bytes_atomic(tmp_path / "data.bin", bytes(range(256)))

    assert path.read_bytes() == bytes(range(256))


def test_json_is_strict_with_nan_and_infinity_as_null(tmp_path):
    value = {"z": float("nan"), "a": [np.float64(np.inf), -np.inf, np.int64(3)], "m": 0.5}

    path = write_json_atomic(tmp_path / "run.json", value)

    text = path.read_text()
    assert json.loads(text, parse_constant=pytest.fail) == {
        "z": None,
        "a": [None, None, 3],
        "m": 0.5,
    }
    # Keys in the order given, indented by two.
    assert text.startswith('{\n  "z": null,\n  "a": [\n')


def test_csv_round_trips_without_index(tmp_path):
    path = write_csv_atomic(tmp_path / "results.csv", TABLE)

    assert path.read_text().splitlines()[0] == "provider,median_s"
    table = read_csv(path, what="results file", required_columns=["median_s", "provider"])
    pd.testing.assert_frame_equal(table, TABLE)


@pytest.mark.parametrize(
    ("suffix", "signature"),
    [(".png", b"\x89PNG\r\n\x1a\n"), (".pdf", b"%PDF-"), (".svg", b"<?xml")],
)
def test_figure_is_saved_in_the_format_of_its_suffix(tmp_path, suffix, signature):
    path = save_figure_atomic(a_figure(), tmp_path / f"plot{suffix}")

    assert path.read_bytes().startswith(signature)


def test_figure_temporary_file_keeps_the_suffix(tmp_path):
    seen = []

    class RecordingFigure:
        def savefig(self, target, **options):
            seen.append(Path(target).name)
            Path(target).write_bytes(b"image")

    save_figure_atomic(RecordingFigure(), tmp_path / "plot.png")

    assert re.fullmatch(r"\.plot\.tmp-.+\.png", seen[0])


def test_figure_without_suffix_is_refused(tmp_path):
    with pytest.raises(ValueError, match="`path` must end in a format suffix"):
        save_figure_atomic(a_figure(), tmp_path / "plot")


@pytest.mark.parametrize("kind", sorted(WRITES))
def test_writer_creates_parent_folders_and_leaves_only_the_target(tmp_path, kind):
    path = write(kind, tmp_path / "deep" / "er")

    assert folder_names(path.parent) == [path.name]


@pytest.mark.parametrize("kind", sorted(WRITES))
def test_written_file_gets_the_mode_of_a_new_file(tmp_path, kind):
    plain = tmp_path / "plain"
    plain.write_bytes(b"")

    path = write(kind, tmp_path)

    assert path.stat().st_mode & 0o777 == plain.stat().st_mode & 0o777


@pytest.mark.parametrize("kind", sorted(WRITES))
def test_failed_rename_leaves_old_file_intact_and_no_temporary(tmp_path, monkeypatch, kind):
    _, name, _ = WRITES[kind]
    (tmp_path / name).write_bytes(OLD_CONTENT)

    def failing_replace(source, target):
        raise OSError("disk went away")

    monkeypatch.setattr(files.os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk went away"):
        write(kind, tmp_path)

    assert (tmp_path / name).read_bytes() == OLD_CONTENT
    assert folder_names(tmp_path) == [name]


def test_json_failing_mid_serialisation_leaves_old_file_intact(tmp_path):
    path = tmp_path / "run.json"
    path.write_bytes(OLD_CONTENT)

    with pytest.raises(TypeError, match="not JSON serializable"):
        write_json_atomic(path, {"written first": 1, "then fails": object()})

    assert path.read_bytes() == OLD_CONTENT
    assert folder_names(tmp_path) == ["run.json"]


def test_figure_failing_to_render_leaves_old_file_intact(tmp_path):
    path = tmp_path / "plot.png"
    path.write_bytes(OLD_CONTENT)

    class BrokenFigure:
        def savefig(self, target, **options):
            Path(target).write_bytes(b"\x89PNG half an image")
            raise RuntimeError("renderer crashed")

    with pytest.raises(RuntimeError, match="renderer crashed"):
        save_figure_atomic(BrokenFigure(), path)

    assert path.read_bytes() == OLD_CONTENT
    assert folder_names(tmp_path) == ["plot.png"]


# The child writes 32 MB; its fsync is slowed as a slow disk would be, so the kill, sent as soon
# as the temporary file appears, always lands before the rename.
KILLED_WRITER = textwrap.dedent(
    """
    import os, sys, time
    sys.path.insert(0, sys.argv[1])
    from bench import files

    def slow_fsync(descriptor):
        time.sleep(60)

    files.os.fsync = slow_fsync
    files.write_bytes_atomic(sys.argv[2], b"n" * (32 * 2**20))
    """
)


@pytest.mark.parametrize("old_file", [True, False])
def test_killed_writer_never_leaves_a_truncated_target(tmp_path, old_file):
    path = tmp_path / "big.bin"
    if old_file:
        path.write_bytes(OLD_CONTENT)

    child = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(PROJECT_ROOT), str(path)])
    try:
        deadline = time.monotonic() + 30
        temporaries = []
        while not temporaries and time.monotonic() < deadline:
            time.sleep(0.001)
            temporaries = list(tmp_path.glob(".big.tmp-*"))
        child.send_signal(signal.SIGKILL)
    finally:
        returncode = child.wait(timeout=30)

    assert temporaries, "the writer never created its temporary file"
    assert returncode == -signal.SIGKILL
    if old_file:
        assert path.read_bytes() == OLD_CONTENT
    else:
        assert not path.exists()


def put(path: Path, content: bytes | str) -> Path:
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def refusal(path: Path, problem: str) -> str:
    return re.escape(f"results file '{path}': {problem}")


def test_read_json_reads_what_write_json_wrote(tmp_path):
    path = write_json_atomic(tmp_path / "run.json", {"median_s": 0.5, "provider": "naive"})

    value = read_json(path, what="results file", required_keys=["provider", "median_s"])

    assert value == {"median_s": 0.5, "provider": "naive"}


def test_read_json_refuses_missing_file(tmp_path):
    path = tmp_path / "absent.json"

    with pytest.raises(FileNotFoundError, match=refusal(path, "no such file")):
        read_json(path, what="results file")


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("", "is empty"),
        (" \n\n", "is empty"),
        ('{"median_s": [1, 2', "truncated: JSON unfinished at line 1 column 19"),
        ('{"provider": "nai', "truncated: JSON unfinished at line 1 column 14"),
        ('{\n  "a": 1,\n}\n', "not valid JSON: Expecting property name enclosed in double quotes"),
        ("provider,median_s\nnaive,0.5\n", "not valid JSON: Expecting value at line 1 column 1"),
        ('{"a": 1}\n{"a": 2}\n', "not valid JSON: Extra data at line 2 column 1"),
        (b"\x89PNG\r\n\x1a\n", "not UTF-8 text: byte 0x89 at offset 0"),
        ("[1, 2]", "expected a JSON object, got a list"),
        ('{"provider": "naive"}', "missing keys: median_s"),
    ],
)
def test_read_json_refuses_a_file_that_is_not_whole(tmp_path, content, problem):
    path = put(tmp_path / "run.json", content)

    with pytest.raises(ValueError, match=refusal(path, problem)):
        read_json(path, what="results file", required_keys=["provider", "median_s"])


def test_read_json_refuses_a_folder(tmp_path):
    with pytest.raises(ValueError, match=refusal(tmp_path, "is not a regular file")):
        read_json(tmp_path, what="results file")


def test_read_csv_refuses_missing_file(tmp_path):
    path = tmp_path / "absent.csv"

    with pytest.raises(FileNotFoundError, match=refusal(path, "no such file")):
        read_csv(path, what="results file", required_columns=["provider"])


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("", "is empty"),
        (
            "provider,median_s\nbackprop,0.25\nnai",
            "truncated or malformed: line 3 has 1 fields, the header has 2",
        ),
        (
            "provider,median_s\nbackprop,0.25,7\n",
            "truncated or malformed: line 2 has 3 fields, the header has 2",
        ),
        ('provider,median_s\n"backprop,0.25\n', "not valid CSV: unexpected end of data"),
        ("depth,count\n1,2\n", "missing columns: median_s, provider"),
        ('{"provider": "naive", "median_s": 1}\n', "missing columns: median_s, provider"),
        (b"provider,median_s\n\xff\xfe,1\n", "not UTF-8 text: byte 0xff at offset 18"),
    ],
)
def test_read_csv_refuses_a_file_that_is_not_whole(tmp_path, content, problem):
    path = put(tmp_path / "results.csv", content)

    with pytest.raises(ValueError, match=refusal(path, problem)):
        read_csv(path, what="results file", required_columns=["median_s", "provider"])


def test_refusals_are_one_line(tmp_path):
    path = put(tmp_path / "run.json", '{\n\n  "a": ,\n}')

    with pytest.raises(ValueError) as refused:
        read_json(path, what="results file")

    assert "\n" not in str(refused.value)
    assert os.fspath(path) in str(refused.value)
