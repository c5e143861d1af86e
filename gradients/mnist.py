"""Load MNIST from the files it is published in: IDX images and labels, raw or gzip-compressed.

The IDX format is two zero bytes, a type code, the number of dimensions, one big-endian
``uint32`` per dimension, then the values in C order, big-endian. ``read_idx`` reads any
such file; ``load_mnist`` and ``load_mnist_dataset`` find the MNIST file pairs in a folder,
check that images and labels agree, and return arrays the networks take as they are.

This module is not a downloader and does no preprocessing beyond scaling pixels to [0, 1]:
it never splits, shuffles or normalises data, and it never makes up a test set.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from gradients.validation import check_choice, check_positive_int

# Type code -> big-endian dtype of the values that follow the header.
IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

# Role of a file -> (dimensions it must have, magic number of the published MNIST file).
ROLES = {"images": (3, 0x00000803), "labels": (1, 0x00000801)}

FILE_PREFIXES = {"train": "train", "test": "t10k"}
IDX_SUFFIXES = {"images": "idx3-ubyte", "labels": "idx1-ubyte"}

MAX_PIXEL = 255


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file, raw or gzip-compressed if its name ends in ``.gz``.

    Returns a native-endian array with the shape and type the header declares.
    """
    path = Path(path)
    return _decode_idx(_read_bytes(path), path, role=None)


def load_mnist(
    folder: str | os.PathLike, *, kind: str = "train", limit: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Load the ``kind`` ("train" or "test") split of MNIST from ``folder``.

    Returns ``(images, labels)``: images as float64 of shape (n, rows * cols) in [0, 1],
    labels as int64 of shape (n,). ``limit`` keeps the first ``limit`` samples (all of them
    if the file holds fewer).

    Integer pixels must lie in 0..255 and are divided by 255; float pixels must already lie
    in [0, 1]. Labels are returned as stored: MNIST's are the digits 0..9, but any integer
    is accepted, so a file with other classes loads unchanged.
    """
    kind = check_choice("kind", kind, FILE_PREFIXES)
    if limit is not None:
        limit = check_positive_int("limit", limit)
    images_path, labels_path = _find_pair(_check_folder(folder), kind)

    images = _decode_idx(_read_bytes(images_path), images_path, role="images")
    labels = _decode_idx(_read_bytes(labels_path), labels_path, role="labels")
    if len(images) != len(labels):
        raise ValueError(
            f"{images_path} holds {len(images)} images but {labels_path} holds "
            f"{len(labels)} labels; the two files of a pair must have the same count"
        )

    # Cut before converting, so a small limit does not pay for a float64 copy of all.
    # NOTE: both files are still read and size-checked whole, even for a small limit; reading
    # only the first records would need the raw file's length for the size check (gzip cannot
    # give it without decompressing everything).
    images, labels = images[:limit], labels[:limit]
    return _scale_pixels(images, images_path), _integer_labels(labels, labels_path)


def load_mnist_dataset(
    folder: str | os.PathLike, *, limit: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Load both splits as ``(X_train, y_train, X_test, y_test)``.

    ``limit`` applies to each split separately. A folder with only the train pair is
    refused rather than split, so test scores always come from the published test set.
    """
    folder = _check_folder(folder)
    _find_pair(folder, "train")
    test_images = _find_file(folder, "test", "images")
    test_labels = _find_file(folder, "test", "labels")
    if test_images is None and test_labels is None:
        looked_for = ", ".join(_candidate_names("test", "images"))
        raise ValueError(
            f"{folder} holds only the train pair of MNIST, no test images (looked for "
            f"{looked_for}); add the t10k files, this loader does not split the train set"
        )

    X_train, y_train = load_mnist(folder, kind="train", limit=limit)
    X_test, y_test = load_mnist(folder, kind="test", limit=limit)
    return X_train, y_train, X_test, y_test


def _check_folder(folder: str | os.PathLike) -> Path:
    folder = Path(folder)
    if not folder.exists():
        raise FileNotFoundError(f"MNIST folder {folder} does not exist")
    if not folder.is_dir():
        raise FileNotFoundError(f"MNIST folder {folder} is not a directory")
    return folder


def _candidate_names(kind: str, role: str) -> list[str]:
    # Raw names come first: when a folder holds both, the decompressed copy is faster to read.
    prefix, suffix = FILE_PREFIXES[kind], IDX_SUFFIXES[role]
    stems = [f"{prefix}-{role}-{suffix}", f"{prefix}-{role}.{suffix}"]
    return stems + [f"{stem}.gz" for stem in stems]


def _find_file(folder: Path, kind: str, role: str) -> Path | None:
    for name in _candidate_names(kind, role):
        if (folder / name).is_file():
            return folder / name
    return None


def _find_pair(folder: Path, kind: str) -> tuple[Path, Path]:
    found = {role: _find_file(folder, kind, role) for role in ROLES}
    for role, path in found.items():
        if path is None:
            looked_for = ", ".join(_candidate_names(kind, role))
            raise FileNotFoundError(
                f"{folder} has no MNIST {kind} {role} file; looked for {looked_for}"
            )
    return found["images"], found["labels"]


def _read_bytes(path: Path) -> bytes:
    if path.suffix != ".gz":
        return path.read_bytes()
    try:
        with gzip.open(path, "rb") as stream:
            return stream.read()
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:
        raise ValueError(f"{path} is not a readable gzip file: {error}") from error


def _decode_idx(raw: bytes, path: Path, *, role: str | None) -> np.ndarray:
    # Header: magic (zero, zero, type code, dimension count), then one uint32 per dimension.
    if len(raw) < 4:
        raise ValueError(f"{path} is too short for an IDX header: {len(raw)} bytes")
    (magic,) = struct.unpack(">I", raw[:4])
    type_code, n_dimensions = raw[2], raw[3]
    _check_magic(magic, path, role)

    header_bytes = 4 + 4 * n_dimensions
    if len(raw) < header_bytes:
        raise ValueError(
            f"{path} is too short for an IDX header of {n_dimensions} dimensions: "
            f"expected {header_bytes} bytes, found {len(raw)}"
        )
    shape = struct.unpack(f">{n_dimensions}I", raw[4:header_bytes])

    dtype = IDX_DTYPES[type_code]
    expected_bytes = math.prod(shape) * dtype.itemsize
    found_bytes = len(raw) - header_bytes
    if found_bytes != expected_bytes:
        problem = "truncated" if found_bytes < expected_bytes else "extra bytes at the end"
        raise ValueError(
            f"{path} has the wrong data size ({problem}): header shape "
            f"{' x '.join(map(str, shape))} of {dtype.name} needs {expected_bytes} bytes, "
            f"found {found_bytes}"
        )

    values = np.frombuffer(raw, dtype=dtype, offset=header_bytes)
    return values.astype(dtype.newbyteorder("=")).reshape(shape)


def _check_magic(magic: int, path: Path, role: str | None) -> None:
    type_code, n_dimensions = (magic >> 8) & 0xFF, magic & 0xFF
    if magic >> 16 != 0:
        problem = "is not IDX (the first two bytes must be zero)"
        if magic >> 16 == 0x1F8B:
            problem += "; the file looks gzip-compressed, name it with a .gz suffix"
    elif type_code not in IDX_DTYPES:
        known = ", ".join(f"0x{code:02X}" for code in IDX_DTYPES)
        problem = f"has unknown type code 0x{type_code:02X} (known: {known})"
    elif role is not None and n_dimensions != ROLES[role][0]:
        problem = f"declares {n_dimensions}-D data but {role} must be {ROLES[role][0]}-D"
    else:
        return

    expected = "" if role is None else f"; expected 0x{ROLES[role][1]:08X} for {role}"
    raise ValueError(f"{path}: magic number 0x{magic:08X} {problem}{expected}")


def _scale_pixels(images: np.ndarray, path: Path) -> np.ndarray:
    n_images, rows, cols = images.shape
    if np.issubdtype(images.dtype, np.integer):
        low, high, divisor, rule = 0, MAX_PIXEL, MAX_PIXEL, "integer pixels must lie in 0..255"
    else:
        low, high, divisor, rule = 0.0, 1.0, 1.0, "float pixels must already lie in [0, 1]"

    # Written so that NaN fails the check too.
    if images.size and not np.all((images >= low) & (images <= high)):
        raise ValueError(
            f"{path} has {images.dtype.name} pixels in [{images.min()}, {images.max()}]; {rule}"
        )
    return np.divide(images.reshape(n_images, rows * cols), divisor, dtype=np.float64)


def _integer_labels(labels: np.ndarray, path: Path) -> np.ndarray:
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"{path} stores labels as {labels.dtype.name}; labels must be integers")
    return labels.astype(np.int64)
