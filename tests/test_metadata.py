"""Tests of the run record: what it holds, that it names no absolute path, how runs compare."""

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bench import metadata
from bench.metadata import (
    BLAS_ENVIRONMENT,
    NOT_INSTALLED,
    UNKNOWN,
    VOLATILE_FIELDS,
    comparable,
    git_state,
    package_version,
    run_metadata,
    without_paths,
)

TOP_LEVEL_KEYS = {
    "started_utc",
    "hostname",
    "python",
    "platform",
    "cpu",
    "memory_total_bytes",
    "clock_resolution_s",
    "numpy",
    "packages",
    "blas_environment",
    "git",
    "config",
}


@pytest.fixture(scope="module")
def record() -> dict:
    return run_metadata({"depths": [1, 2, 4], "provider": "backprop"})


def all_strings(value: object):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from all_strings(key)
            yield from all_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from all_strings(item)


def test_record_holds_every_field(record):
    assert set(record) == TOP_LEVEL_KEYS
    assert record["python"]["implementation"]
    assert record["numpy"]["version"] == np.__version__
    assert record["cpu"]["logical_count"] == os.cpu_count()
    assert set(record["packages"]) >= {"numpy", "scipy", "pandas", "matplotlib", "gradscale"}
    assert set(record["blas_environment"]) == set(BLAS_ENVIRONMENT)
    assert record["config"] == {"depths": [1, 2, 4], "provider": "backprop"}


def test_start_time_is_utc_iso(record):
    assert record["started_utc"].endswith("+00:00")


def test_record_names_no_absolute_path(tmp_path):
    config = {"output": str(tmp_path / "results.csv"), "figure": tmp_path / "plot.png"}

    text = json.dumps(run_metadata(config))

    for location in (Path.home(), sys.prefix, sys.base_prefix, metadata.PROJECT_ROOT, tmp_path):
        assert str(location) not in text
    assert not [value for value in all_strings(json.loads(text)) if value.startswith("/")]
    assert json.loads(text)["config"] == {"output": "results.csv", "figure": "plot.png"}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("/opt/build/lib/libopenblas.so", "libopenblas.so"),
        ("C:\\Users\\someone\\run.json", "run.json"),
        ("-I/usr/include -L/usr/lib64 --prefix=/opt/x", "-Iinclude -Llib64 --prefix=x"),
        ("N/A, 1/2 and relative/path", "N/A, 1/2 and relative/path"),
        (Path("/var/results/run.csv"), "run.csv"),
        ({"/a/b": ["/c/d.txt", 3]}, {"b": ["d.txt", 3]}),
    ],
)
def test_without_paths_keeps_only_last_names(given, expected):
    assert without_paths(given) == expected


def test_blas_environment_records_set_values(monkeypatch):
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)

    environment = run_metadata({})["blas_environment"]

    assert environment["OPENBLAS_NUM_THREADS"] == "1"
    assert environment["MKL_NUM_THREADS"] is None


def test_cpu_model_falls_back_to_platform_processor(monkeypatch):
    monkeypatch.setattr(metadata, "cpuinfo_field", lambda name: None)
    monkeypatch.setattr(metadata.platform, "processor", lambda: "Example CPU")

    cpu = metadata.cpu_description()

    assert cpu["model"] == "Example CPU"
    assert cpu["current_mhz"] is None


def test_absent_package_reads_not_installed():
    assert package_version("no-such-distribution-of-this-name") == NOT_INSTALLED


def test_config_must_be_a_dict():
    with pytest.raises(TypeError, match="`config` must be a dict, got list"):
        run_metadata([1, 2])


def test_git_state_is_unknown_outside_a_checkout(tmp_path, monkeypatch):
    monkeypatch.setattr(metadata, "PROJECT_ROOT", tmp_path)

    assert git_state() == {"commit": UNKNOWN, "dirty": None}


def git(folder: Path, *arguments: str) -> str:
    command = ["git", "-C", str(folder), "-c", "user.name=T", "-c", "user.email=t@example.org"]
    completed = subprocess.run([*command, *arguments], check=True, capture_output=True, text=True)
    return completed.stdout.strip()


@pytest.fixture
def scratch_repository(tmp_path, monkeypatch) -> Path:
    git(tmp_path, "init", "--quiet")
    (tmp_path / "tracked.txt").write_text("one\n")
    git(tmp_path, "add", "tracked.txt")
    git(tmp_path, "commit", "--quiet", "-m", "first")
    monkeypatch.setattr(metadata, "PROJECT_ROOT", tmp_path.resolve())
    return tmp_path


def test_git_state_reports_the_checked_out_commit(scratch_repository):
    state = git_state()

    assert state == {"commit": git(scratch_repository, "rev-parse", "HEAD"), "dirty": False}


def test_git_state_counts_changed_tracked_files_as_dirty(scratch_repository):
    (scratch_repository / "tracked.txt").write_text("two\n")

    assert git_state()["dirty"] is True


def test_git_state_ignores_untracked_files(scratch_repository):
    (scratch_repository / "new.txt").write_text("not added\n")

    assert git_state()["dirty"] is False


def test_git_state_ignores_an_enclosing_repository(scratch_repository, monkeypatch):
    inner = scratch_repository / "installed" / "copy"
    inner.mkdir(parents=True)
    monkeypatch.setattr(metadata, "PROJECT_ROOT", inner.resolve())

    assert git_state()["commit"] == UNKNOWN


def changed(record: dict, dotted: str, value: object) -> dict:
    other = copy.deepcopy(record)
    *parents, last = dotted.split(".")
    target = other
    for key in parents:
        target = target[key]
    target[last] = value
    return other


def test_identical_records_compare_without_warnings(record):
    assert comparable(record, copy.deepcopy(record)) == []


@pytest.mark.parametrize("dotted", VOLATILE_FIELDS)
def test_comparable_ignores_volatile_fields(record, dotted):
    assert comparable(record, changed(record, dotted, "something else")) == []


def test_comparable_warns_on_a_changed_cpu_model(record):
    other = changed(record, "cpu.model", "Another CPU 9000")

    warnings = comparable(record, other)

    assert len(warnings) == 1
    assert warnings[0].startswith("CPU model differs:")
    assert "Another CPU 9000" in warnings[0] and repr(record["cpu"]["model"]) in warnings[0]


def test_comparable_warns_on_a_changed_numpy_version(record):
    warnings = comparable(record, changed(record, "numpy.version", "0.0.1"))

    assert warnings == [f"numpy version differs: {np.__version__!r} vs '0.0.1'"]


def test_comparable_warns_on_a_changed_blas_version(record):
    name, library = next(iter(record["numpy"]["blas"].items()))
    other = changed(record, "numpy.blas", {name: {**library, "version": "0.0.0"}})

    warnings = comparable(record, other)

    assert len(warnings) == 1 and warnings[0].startswith("BLAS differs:")


def test_comparable_leaves_blas_thread_counts_to_the_environment(record):
    libraries = record["numpy"]["blas"]
    name, library = next(iter(libraries.items()))
    other = changed(record, "numpy.blas", {**libraries, name: {**library, "num_threads": 64}})

    assert comparable(record, other) == []


def test_comparable_warns_on_a_changed_blas_variable(record):
    other = changed(record, "blas_environment.OPENBLAS_CORETYPE", "Zen")

    warnings = comparable(record, other)

    assert len(warnings) == 1 and warnings[0].startswith("BLAS environment differs:")
