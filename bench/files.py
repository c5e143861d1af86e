"""Write result files that are never left half-written, and read them back only when whole.

For: text, bytes, JSON, CSV tables and matplotlib figures written through a temporary file in
the target's folder, synced to disk and then renamed over the target, so a reader sees either
the old file or the new one; readers of JSON and CSV that refuse a missing, empty, truncated,
non-UTF-8 or foreign file with one line naming the file, what it should be, and what is wrong.
Not for: deciding what goes into a result, or where results live.

JSON is written strictly: NaN and infinities, which the JSON standard does not have, become
``null``, so any JSON reader can load the file.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# Read once at import: setting the mask to read it would race with other threads' new files.
# Temporary files are created private (0600); the result gets the mode a new file would get.
NEW_FILE_MODE = 0o666 & ~current_umask()


def sync_path(path: Path) -> None:
    """Flush ``path``'s data to disk, so the rename cannot land before the data does."""
    descriptor = os.open(path, os.O_RDWR)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def sync_folder(folder: Path) -> None:
    """Flush the folder entry, so the rename itself survives a power cut (POSIX only)."""
    if os.name != "posix":
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@contextmanager
def replacing(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; once written, it replaces ``path`` whole.

    The temporary name keeps the suffix (``.name.tmp-XXXX.png``) for writers that choose a
    format by it. On any error the temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, name = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.stem}.tmp-", suffix=path.suffix
    )
    os.close(descriptor)
    temporary = Path(name)

    try:
        yield temporary
        os.chmod(temporary, NEW_FILE_MODE)
        sync_path(temporary)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise

    sync_folder(path.parent)


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> Path:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"`data` must be bytes, got {type(data).__name__}")
    with replacing(path) as temporary:
        with open(temporary, "wb") as handle:
            handle.write(data)
    return Path(path)


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` as UTF-8, line endings exactly as given."""
    if not isinstance(text, str):
        raise TypeError(f"`text` must be a str, got {type(text).__name__}")
    with replacing(path) as temporary:
        with open(temporary, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
    return Path(path)


def strict_json_value(value: object) -> object:
    """``value`` with NaN and infinities as None and numpy scalars and arrays as Python ones."""
    if isinstance(value, dict):
        return {key: strict_json_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [strict_json_value(item) for item in value]
    if isinstance(value, np.ndarray):
        return strict_json_value(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json_atomic(path: str | os.PathLike, value: object) -> Path:
    """Write ``value`` as strict JSON, indented by 2, keys in the order given; NaN as null."""
    with replacing(path) as temporary:
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(strict_json_value(value), handle, indent=2, allow_nan=False)
            handle.write("\n")
    return Path(path)


def write_csv_atomic(path: str | os.PathLike, frame: pd.DataFrame) -> Path:
    """Write ``frame`` as UTF-8 CSV without its index."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"`frame` must be a pandas DataFrame, got {type(frame).__name__}")
    with replacing(path) as temporary:
        frame.to_csv(temporary, index=False, encoding="utf-8")
    return Path(path)


def save_figure_atomic(figure, path: str | os.PathLike, **savefig_options) -> Path:
    """Save a matplotlib figure in the format its suffix names (``.png``, ``.pdf``, ``.svg``)."""
    if not Path(path).suffix:
        raise ValueError(f"`path` must end in a format suffix such as .png, got {str(path)!r}")
    with replacing(path) as temporary:
        figure.savefig(temporary, **savefig_options)
    return Path(path)


def refused(path: str | os.PathLike, what: str, problem: str) -> ValueError:
    return ValueError(f"{what} '{path}': {problem}")


def read_text(path: str | os.PathLike, what: str) -> str:
    """The whole of ``path`` as UTF-8 text, refused when missing, a folder, empty or binary."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{what} '{path}': no such file")
    if not path.is_file():
        raise refused(path, what, "is not a regular file")

    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        byte = error.object[error.start]
        raise refused(
            path, what, f"not UTF-8 text: byte 0x{byte:02x} at offset {error.start}"
        ) from None

    if not text.strip():
        raise refused(path, what, "is empty")
    return text


def read_json(path: str | os.PathLike, *, what: str, required_keys: Sequence[str] = ()) -> object:
    """The value in a JSON file; with ``required_keys``, it must be an object holding them."""
    text = read_text(path, what)

    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        where = f"line {error.lineno} column {error.colno}"
        # An unclosed string runs to the end of the file, so it too is a file cut short.
        if error.pos >= len(text.rstrip()) or error.msg.startswith("Unterminated string"):
            raise refused(path, what, f"truncated: JSON unfinished at {where}") from None
        joiner = " " if error.msg.endswith(" at") else " at "
        raise refused(path, what, f"not valid JSON: {error.msg}{joiner}{where}") from None

    if required_keys:
        if not isinstance(value, dict):
            raise refused(path, what, f"expected a JSON object, got a {type(value).__name__}")
        missing = [key for key in required_keys if key not in value]
        if missing:
            raise refused(path, what, f"missing keys: {', '.join(missing)}")
    return value


def check_csv_rows(path: Path, what: str, text: str) -> list[str]:
    """The header of a CSV text, after checking that every row has as many fields as it."""
    rows = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(rows)
        for row in rows:
            # A cut inside the last field leaves the field count right and goes unnoticed;
            # the writers here make that case impossible by renaming only whole files.
            if row and len(row) != len(header):
                raise refused(
                    path,
                    what,
                    f"truncated or malformed: line {rows.line_num} has {len(row)} fields, "
                    f"the header has {len(header)}",
                )
    except csv.Error as error:
        raise refused(path, what, f"not valid CSV: {error} at line {rows.line_num}") from None
    return header


def read_csv(
    path: str | os.PathLike, *, what: str, required_columns: Sequence[str] = ()
) -> pd.DataFrame:
    """The table in a CSV file with a header row, which must hold ``required_columns``."""
    path = Path(path)
    text = read_text(path, what)
    header = check_csv_rows(path, what, text)

    missing = [column for column in required_columns if column not in header]
    if missing:
        raise refused(path, what, f"missing columns: {', '.join(missing)}")

    try:
        return pd.read_csv(io.StringIO(text))
    except (pd.errors.ParserError, ValueError) as error:
        problem = " ".join(str(error).split())
        raise refused(path, what, f"not a readable table: {problem}") from None
