"""What a run records about the machine and software it ran on, and whether two runs compare.

For: a JSON-ready dict of the Python, platform, CPU, memory, numpy and its BLAS, package
versions, the environment variables that steer BLAS, the project's git commit, the start time,
host name and the run's configuration; and warnings when two such records differ in what
changes timings. No absolute path of the machine appears in the record: paths are cut to their
last name.
Not for: taking measurements or writing files.
"""

from __future__ import annotations

import os
import platform
import re
import socket
import subprocess
from datetime import UTC, datetime
from importlib import metadata as package_metadata
from pathlib import Path, PurePath

import numpy as np

from bench.timing import CLOCK_RESOLUTION_S, blas_info

PROJECT_ROOT = Path(__file__).resolve().parent.parent

PACKAGES = ("numpy", "scipy", "pandas", "matplotlib", "threadpoolctl", "gradscale")
NOT_INSTALLED = "not installed"
UNKNOWN = "unknown"

# Variables that change how many threads BLAS uses or which kernels it picks.
BLAS_ENVIRONMENT = (
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_CORETYPE",
    "OPENBLAS_L2_SIZE",
)

# Fields that differ between any two runs and say nothing about their comparability.
VOLATILE_FIELDS = ("hostname", "started_utc", "cpu.current_mhz")

# Fields whose difference makes timings of two runs incomparable, with their names in warnings.
COMPARED_FIELDS = {
    "cpu.model": "CPU model",
    "cpu.logical_count": "logical CPU count",
    "python.version": "Python version",
    "numpy.version": "numpy version",
    "numpy.blas": "BLAS",
    "blas_environment": "BLAS environment",
}

GIT_TIMEOUT_S = 10

# An absolute POSIX or Windows path inside a string, up to its last name (kept as group 1).
# It starts a word, follows `=`, or follows a compiler flag such as -I or -L.
ABSOLUTE_PATH = re.compile(
    r"(?:(?<![\w.~-])|(?<=-[IL]))(?:[A-Za-z]:)?[/\\](?:[^\s/\\'\",;:]+[/\\])*([^\s/\\'\",;:]*)"
)


def without_paths(value: object) -> object:
    """``value`` with every absolute path, and every ``Path``, cut to its last name."""
    if isinstance(value, PurePath):
        return value.name
    if isinstance(value, str):
        return ABSOLUTE_PATH.sub(lambda match: match.group(1), value)
    if isinstance(value, dict):
        return {without_paths(key): without_paths(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [without_paths(item) for item in value]
    return value


def cpuinfo_field(name: str) -> str | None:
    """The first value of ``name`` in /proc/cpuinfo, or None where there is none."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        key, _, value = line.partition(":")
        if key.strip() == name:
            return value.strip()
    return None


def cpu_description() -> dict:
    model = cpuinfo_field("model name") or platform.processor() or UNKNOWN
    try:
        current_mhz = float(cpuinfo_field("cpu MHz") or "nan")
    except ValueError:
        current_mhz = float("nan")
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "model": model,
        "logical_count": os.cpu_count(),
        "usable_count": usable,
        "current_mhz": current_mhz if current_mhz == current_mhz else None,
    }


def total_memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def package_version(name: str) -> str:
    try:
        return package_metadata.version(name)
    except package_metadata.PackageNotFoundError:
        return NOT_INSTALLED


def numpy_build() -> dict:
    """numpy's own account of the BLAS and LAPACK it was built with and its SIMD support."""
    try:
        config = np.show_config(mode="dicts")
    except (TypeError, ValueError):
        return {}
    keep = ("Build Dependencies", "SIMD Extensions")
    return {key: config[key] for key in keep if key in config}


def run_git(*arguments: str) -> str | None:
    """Output of a read-only git command in the project folder, or None when it fails."""
    # Without optional locks, `git status` does not rewrite the index while it looks.
    environment = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}
    try:
        completed = subprocess.run(
            ["git", *arguments],
            cwd=PROJECT_ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_S,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return completed.stdout.strip() if completed.returncode == 0 else None


def git_state() -> dict:
    """The commit checked out in the project folder and whether tracked files differ from it."""
    top_level = run_git("rev-parse", "--show-toplevel")
    # An installed copy may sit inside some other repository; its commit is not ours.
    if top_level is None or Path(top_level).resolve() != PROJECT_ROOT:
        return {"commit": UNKNOWN, "dirty": None}
    commit = run_git("rev-parse", "HEAD") or UNKNOWN
    # NOTE: untracked files are ignored, so a new module not yet added leaves the tree
    # "clean"; counting them would also count every results folder.
    status = run_git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": None if status is None else bool(status)}


def run_metadata(config: dict) -> dict:
    """A record of this process's machine and software, with ``config`` as given."""
    if not isinstance(config, dict):
        raise TypeError(f"`config` must be a dict, got {type(config).__name__}")

    record = {
        "started_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "hostname": socket.gethostname(),
        "python": {
            "version": platform.python_version(),
            "implementation": platform.python_implementation(),
        },
        "platform": {
            "system": platform.system(),
            "release": platform.release(),
            "machine": platform.machine(),
            "description": platform.platform(),
        },
        "cpu": cpu_description(),
        "memory_total_bytes": total_memory_bytes(),
        "clock_resolution_s": CLOCK_RESOLUTION_S,
        "numpy": {
            "version": np.__version__,
            "blas": blas_info(),
            "build": numpy_build(),
        },
        "packages": {name: package_version(name) for name in PACKAGES},
        "blas_environment": {name: os.environ.get(name) for name in BLAS_ENVIRONMENT},
        "git": git_state(),
        "config": config,
    }
    return without_paths(record)


def field(record: dict, dotted: str) -> object:
    """The value at a dotted name such as ``"cpu.model"``, or None where it is absent."""
    value: object = record
    for key in dotted.split("."):
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def blas_summary(libraries: object) -> list[str]:
    """The thread-pool libraries as comparable lines, without thread counts.

    Thread counts differ between a record taken inside ``single_thread_blas`` and one taken
    outside it; the variables that set them are compared on their own.
    """
    # NOTE: threadpoolctl sees only libraries loaded so far, so a record taken before scipy
    # is imported lists one library fewer; take records after all imports, as the harness does.
    if not isinstance(libraries, dict):
        return []
    lines = []
    for described in libraries.values():
        parts = (described.get(key) for key in ("internal_api", "version", "architecture"))
        lines.append(" ".join(str(part) for part in parts if part is not None))
    return sorted(lines)


def comparable(meta_a: dict, meta_b: dict) -> list[str]:
    """Warnings, one per field, where two records differ in what changes timings."""
    warnings = []
    for dotted, description in COMPARED_FIELDS.items():
        value_a, value_b = field(meta_a, dotted), field(meta_b, dotted)
        if dotted == "numpy.blas":
            value_a, value_b = blas_summary(value_a), blas_summary(value_b)
        if value_a != value_b:
            warnings.append(f"{description} differs: {value_a!r} vs {value_b!r}")
    return warnings
