"""The code's shape: lint-clean, formatted, and a library that never imports the harness."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
LIBRARY_FILES = sorted((PROJECT / "gradients").rglob("*.py"))


def _ruff(*arguments: str) -> subprocess.CompletedProcess:
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    assert ruff is not None, "ruff is part of the test extra: pip install -e '.[test]'"
    return subprocess.run([ruff, *arguments], cwd=PROJECT, capture_output=True, text=True)


def test_ruff_finds_nothing_to_fix():
    finished = _ruff("check", ".")
    assert finished.returncode == 0, finished.stdout


def test_ruff_format_would_change_nothing():
    finished = _ruff("format", "--check", ".")
    assert finished.returncode == 0, finished.stdout


@pytest.mark.parametrize("path", LIBRARY_FILES, ids=lambda p: str(p.relative_to(PROJECT)))
def test_the_library_never_imports_the_harness(path):
    tree = ast.parse(path.read_text())
    imported = [
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in getattr(node, "names", [])
    ]
    assert not [name for name in imported if name and name.split(".")[0] == "bench"]
