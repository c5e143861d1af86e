"""Tests of the IDX reader and the MNIST loader, on tiny files written here byte by byte."""

import gzip
import struct

import numpy as np
import pytest

from gradients.mnist import load_mnist, load_mnist_dataset, read_idx

TYPE_CODES = {"u1": 0x08, "i1": 0x09, "i2": 0x0B, "i4": 0x0C, "f4": 0x0D, "f8": 0x0E}

# Two training and three test images of 2 x 3 pixels, together covering the range 0..255.
TRAIN_PIXELS = np.array([[[0, 1, 2], [3, 4, 5]], [[255, 128, 0], [7, 8, 9]]], dtype=np.uint8)
TRAIN_LABELS = np.array([3, 7], dtype=np.uint8)
TEST_PIXELS = np.arange(10, 190, 10, dtype=np.uint8).reshape(3, 2, 3)
TEST_LABELS = np.array([9, 0, 4], dtype=np.uint8)

NAMES = {
    ("train", "images"): "train-images-idx3-ubyte",
    ("train", "labels"): "train-labels-idx1-ubyte",
    ("test", "images"): "t10k-images-idx3-ubyte",
    ("test", "labels"): "t10k-labels-idx1-ubyte",
}


def idx_bytes(values: np.ndarray) -> bytes:
    """Serialise ``values`` the way the IDX format lays them out."""
    big_endian = values.astype(values.dtype.newbyteorder(">"))
    header = bytes([0, 0, TYPE_CODES[values.dtype.str[1:]], values.ndim])
    header += struct.pack(f">{values.ndim}I", *values.shape)
    return header + big_endian.tobytes()


def write(path, content: bytes):
    """Write ``content`` to ``path``, gzip-compressed when the name ends in ``.gz``."""
    path.write_bytes(gzip.compress(content) if path.suffix == ".gz" else content)
    return path


def write_split(folder, kind, images, labels, *, suffix=""):
    images_path = write(folder / (NAMES[kind, "images"] + suffix), idx_bytes(images))
    labels_path = write(folder / (NAMES[kind, "labels"] + suffix), idx_bytes(labels))
    return images_path, labels_path


@pytest.fixture
def train_folder(tmp_path):
    write_split(tmp_path, "train", TRAIN_PIXELS, TRAIN_LABELS)
    return tmp_path


@pytest.fixture
def full_folder(train_folder):
    write_split(train_folder, "test", TEST_PIXELS, TEST_LABELS)
    return train_folder


# --- read_idx: the format itself


# One value per type that needs every byte of its width to be read in the right order.
VALUES_BY_TYPE = {
    "u1": [0, 1, 128, 255],
    "i1": [-128, -1, 0, 127],
    "i2": [-32768, -2, 258, 32767],
    "i4": [-(2**31), -2, 16909060, 2**31 - 1],
    "f4": [-1.5, 0.0, 0.1, 3.0e38],
    "f8": [-1.5, 0.0, 0.1, 1.0e308],
}


@pytest.mark.parametrize("type_name", TYPE_CODES)
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_read_idx_round_trips_every_type_code(tmp_path, type_name, suffix):
    values = np.array(VALUES_BY_TYPE[type_name] * 3, dtype=type_name).reshape(3, 2, 2)
    path = write(tmp_path / f"values.idx{suffix}", idx_bytes(values))

    loaded = read_idx(path)

    assert loaded.dtype == values.dtype and loaded.dtype.isnative
    np.testing.assert_array_equal(loaded, values)


def test_read_idx_decodes_big_endian_values_written_by_hand(tmp_path):
    # int16 values 258 = 0x0102 and -2 = 0xFFFE in a 1-D file of length 2.
    content = bytes([0, 0, 0x0B, 1, 0, 0, 0, 2, 0x01, 0x02, 0xFF, 0xFE])
    path = write(tmp_path / "values.idx", content)

    np.testing.assert_array_equal(read_idx(path), [258, -2])


# --- load_mnist: valid files


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize(
    ("kind", "pixels", "labels"),
    [("train", TRAIN_PIXELS, TRAIN_LABELS), ("test", TEST_PIXELS, TEST_LABELS)],
)
def test_load_mnist_flattens_and_scales_pixels_by_255(tmp_path, suffix, kind, pixels, labels):
    write_split(tmp_path, kind, pixels, labels, suffix=suffix)

    images, loaded_labels = load_mnist(tmp_path, kind=kind)

    assert images.shape == (len(pixels), 6) and images.dtype == np.float64
    assert loaded_labels.shape == (len(labels),) and loaded_labels.dtype == np.int64
    np.testing.assert_array_equal(images, pixels.reshape(len(pixels), 6) / 255.0)
    np.testing.assert_array_equal(loaded_labels, labels)
    assert images.min() >= 0.0 and images.max() <= 1.0


def test_load_mnist_maps_pixel_255_to_one_and_zero_to_zero(train_folder):
    images, _ = load_mnist(train_folder)

    assert images[1, 0] == 1.0 and images[1, 2] == 0.0
    assert images[1, 1] == pytest.approx(128 / 255)


@pytest.mark.parametrize(
    "names",
    [
        ("train-images.idx3-ubyte", "train-labels.idx1-ubyte"),
        ("train-images.idx3-ubyte.gz", "train-labels.idx1-ubyte.gz"),
        ("train-images-idx3-ubyte.gz", "train-labels.idx1-ubyte"),
    ],
)
def test_load_mnist_finds_dotted_and_mixed_file_names(tmp_path, names):
    write(tmp_path / names[0], idx_bytes(TRAIN_PIXELS))
    write(tmp_path / names[1], idx_bytes(TRAIN_LABELS))

    images, labels = load_mnist(tmp_path)

    np.testing.assert_array_equal(images, TRAIN_PIXELS.reshape(2, 6) / 255.0)
    np.testing.assert_array_equal(labels, TRAIN_LABELS)


def test_load_mnist_prefers_the_raw_file_when_a_gz_copy_also_exists(train_folder):
    write(train_folder / "train-images-idx3-ubyte.gz", b"not gzip at all")

    images, _ = load_mnist(train_folder)

    assert images.shape == (2, 6)


@pytest.mark.parametrize("pixel_type", ["f4", "f8"])
def test_load_mnist_keeps_float_pixels_already_in_unit_interval(tmp_path, pixel_type):
    pixels = (TRAIN_PIXELS / 255.0).astype(pixel_type)
    write_split(tmp_path, "train", pixels, TRAIN_LABELS)

    images, _ = load_mnist(tmp_path)

    assert images.dtype == np.float64
    np.testing.assert_array_equal(images, pixels.reshape(2, 6).astype(np.float64))


@pytest.mark.parametrize(
    "labels",
    [
        np.array([10, 255], np.uint8),
        np.array([-3, 120], np.int8),
        np.array([-300, 1000], np.int16),
        np.array([-(2**31), 2**31 - 1], np.int32),
    ],
    ids=["u1", "i1", "i2", "i4"],
)
def test_load_mnist_returns_labels_outside_0_to_9_unchanged(tmp_path, labels):
    write_split(tmp_path, "train", TRAIN_PIXELS, labels)

    _, loaded = load_mnist(tmp_path)

    assert loaded.dtype == np.int64
    np.testing.assert_array_equal(loaded, labels)


@pytest.mark.parametrize(("limit", "expected_count"), [(1, 1), (2, 2), (50, 2)])
def test_load_mnist_limit_keeps_the_first_samples(train_folder, limit, expected_count):
    images, labels = load_mnist(train_folder, limit=limit)

    assert images.shape == (expected_count, 6)
    np.testing.assert_array_equal(labels, TRAIN_LABELS[:expected_count])
    np.testing.assert_array_equal(images, TRAIN_PIXELS[:expected_count].reshape(-1, 6) / 255.0)


def test_load_mnist_reads_a_file_of_zero_images(tmp_path):
    write_split(tmp_path, "train", np.zeros((0, 2, 3), np.uint8), np.zeros(0, np.uint8))

    images, labels = load_mnist(tmp_path)

    assert images.shape == (0, 6) and labels.shape == (0,)


# --- load_mnist: arguments


@pytest.mark.parametrize(
    ("limit", "error"), [(0, ValueError), (-1, ValueError), (1.5, TypeError), (True, TypeError)]
)
def test_load_mnist_refuses_a_limit_that_is_not_a_positive_integer(train_folder, limit, error):
    with pytest.raises(error, match="`limit`"):
        load_mnist(train_folder, limit=limit)


def test_load_mnist_refuses_an_unknown_kind(train_folder):
    with pytest.raises(ValueError, match="`kind` must be one of test, train, got 'valid'"):
        load_mnist(train_folder, kind="valid")


# --- load_mnist: missing things


def test_load_mnist_names_a_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere does not exist"):
        load_mnist(tmp_path / "nowhere")


def test_load_mnist_refuses_a_file_given_as_folder(tmp_path):
    path = write(tmp_path / "train-images-idx3-ubyte", idx_bytes(TRAIN_PIXELS))

    with pytest.raises(FileNotFoundError, match="is not a directory"):
        load_mnist(path)


@pytest.mark.parametrize(
    ("present", "missing_role"), [([], "images"), ([("train", "images")], "labels")]
)
def test_load_mnist_lists_the_names_it_looked_for(tmp_path, present, missing_role):
    for kind, role in present:
        write(tmp_path / NAMES[kind, role], idx_bytes(TRAIN_PIXELS))

    with pytest.raises(FileNotFoundError) as caught:
        load_mnist(tmp_path)

    message = str(caught.value)
    assert f"no MNIST train {missing_role} file" in message
    suffix = {"images": "idx3-ubyte", "labels": "idx1-ubyte"}[missing_role]
    for name in [f"train-{missing_role}-{suffix}", f"train-{missing_role}.{suffix}"]:
        assert name in message and f"{name}.gz" in message


# --- load_mnist: broken headers and data


def with_header_byte(content: bytes, index: int, value: int) -> bytes:
    return content[:index] + bytes([value]) + content[index + 1 :]


@pytest.mark.parametrize(
    ("role", "content", "found", "problem"),
    [
        ("images", gzip.compress(idx_bytes(TRAIN_PIXELS)), "0x1F8B", "looks gzip-compressed"),
        ("images", with_header_byte(idx_bytes(TRAIN_PIXELS), 1, 0x01), "0x00010803", "zero"),
        ("images", with_header_byte(idx_bytes(TRAIN_PIXELS), 2, 0x07), "0x00000703", "0x07"),
        ("images", idx_bytes(TRAIN_PIXELS.reshape(2, 6)), "0x00000802", "must be 3-D"),
        ("images", idx_bytes(TRAIN_LABELS), "0x00000801", "must be 3-D"),
        ("labels", idx_bytes(TRAIN_LABELS.reshape(2, 1)), "0x00000802", "must be 1-D"),
        ("labels", idx_bytes(TRAIN_PIXELS), "0x00000803", "must be 1-D"),
    ],
)
def test_load_mnist_reports_found_and_expected_magic(train_folder, role, content, found, problem):
    path = write(train_folder / NAMES["train", role], content)
    expected = {"images": "0x00000803", "labels": "0x00000801"}[role]

    with pytest.raises(ValueError) as caught:
        load_mnist(train_folder)

    message = str(caught.value)
    assert path.name in message and found in message and problem in message
    assert f"expected {expected} for {role}" in message


@pytest.mark.parametrize(
    ("role", "change", "expected_bytes", "found_bytes", "problem"),
    [
        ("images", -1, 12, 11, "truncated"),
        ("images", 3, 12, 15, "extra bytes"),
        ("labels", -1, 2, 1, "truncated"),
        ("labels", 1, 2, 3, "extra bytes"),
    ],
)
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_load_mnist_reports_data_size_that_disagrees_with_header(
    tmp_path, role, change, expected_bytes, found_bytes, problem, suffix
):
    write_split(tmp_path, "train", TRAIN_PIXELS, TRAIN_LABELS, suffix=suffix)
    content = idx_bytes(TRAIN_PIXELS if role == "images" else TRAIN_LABELS)
    content = content[:change] if change < 0 else content + bytes(change)
    path = write(tmp_path / (NAMES["train", role] + suffix), content)

    with pytest.raises(ValueError) as caught:
        load_mnist(tmp_path)

    message = str(caught.value)
    assert path.name in message and problem in message
    assert f"needs {expected_bytes} bytes, found {found_bytes}" in message


@pytest.mark.parametrize(
    ("content", "problem"),
    [(b"", "too short for an IDX header: 0 bytes"), (bytes([0, 0, 8, 3, 0, 0, 0, 2]), "3 dim")],
)
def test_load_mnist_reports_a_truncated_header(train_folder, content, problem):
    path = write(train_folder / NAMES["train", "images"], content)

    with pytest.raises(ValueError, match=problem) as caught:
        load_mnist(train_folder)

    assert path.name in str(caught.value)


def test_load_mnist_reports_images_and_labels_of_different_counts(train_folder):
    write(train_folder / NAMES["train", "labels"], idx_bytes(np.array([1, 2, 3], np.uint8)))

    with pytest.raises(ValueError, match="holds 2 images but .* holds 3 labels") as caught:
        load_mnist(train_folder)

    message = str(caught.value)
    assert NAMES["train", "images"] in message and NAMES["train", "labels"] in message


@pytest.mark.parametrize(
    ("pixels", "found_range", "rule"),
    [
        (np.full((1, 2, 3), 256, np.int16), "[256, 256]", "must lie in 0..255"),
        (np.full((1, 2, 3), -1, np.int8), "[-1, -1]", "must lie in 0..255"),
        (np.full((1, 2, 3), 1.5, np.float32), "[1.5, 1.5]", r"must already lie in \[0, 1\]"),
        (np.full((1, 2, 3), np.nan, np.float64), "nan", r"must already lie in \[0, 1\]"),
    ],
)
def test_load_mnist_refuses_pixels_it_cannot_scale_to_unit_interval(
    tmp_path, pixels, found_range, rule
):
    write_split(tmp_path, "train", pixels, np.array([1], np.uint8))

    with pytest.raises(ValueError, match=rule) as caught:
        load_mnist(tmp_path)

    message = str(caught.value)
    assert NAMES["train", "images"] in message and found_range in message


def test_load_mnist_refuses_float_labels(tmp_path):
    write_split(tmp_path, "train", TRAIN_PIXELS, np.array([1.0, 2.0], np.float32))

    with pytest.raises(ValueError, match="labels as float32; labels must be integers"):
        load_mnist(tmp_path)


def corrupt_gzip_body(content: bytes) -> bytes:
    compressed = bytearray(gzip.compress(content))
    compressed[-6] ^= 0xFF  # a byte of the CRC trailer
    return bytes(compressed)


@pytest.mark.parametrize(
    "make_content",
    [
        lambda content: b"plain bytes, no gzip header",
        lambda content: gzip.compress(content)[:-12],
        corrupt_gzip_body,
        lambda content: gzip.compress(content)[:10] + b"\xff" * 20,
    ],
    ids=["not-gzip", "cut-short", "bad-crc", "bad-deflate-stream"],
)
def test_load_mnist_names_a_corrupt_gzip_file(tmp_path, make_content):
    write_split(tmp_path, "train", TRAIN_PIXELS, TRAIN_LABELS, suffix=".gz")
    path = tmp_path / (NAMES["train", "labels"] + ".gz")
    path.write_bytes(make_content(idx_bytes(TRAIN_LABELS)))

    with pytest.raises(ValueError, match="is not a readable gzip file") as caught:
        load_mnist(tmp_path)

    assert path.name in str(caught.value)


# --- load_mnist_dataset


def test_load_mnist_dataset_returns_both_splits_in_order(full_folder):
    X_train, y_train, X_test, y_test = load_mnist_dataset(full_folder)

    np.testing.assert_array_equal(X_train, TRAIN_PIXELS.reshape(2, 6) / 255.0)
    np.testing.assert_array_equal(y_train, TRAIN_LABELS)
    np.testing.assert_array_equal(X_test, TEST_PIXELS.reshape(3, 6) / 255.0)
    np.testing.assert_array_equal(y_test, TEST_LABELS)
    assert {X_train.dtype, X_test.dtype} == {np.dtype(np.float64)}
    assert {y_train.dtype, y_test.dtype} == {np.dtype(np.int64)}


@pytest.mark.parametrize(("limit", "n_train", "n_test"), [(1, 1, 1), (2, 2, 2), (3, 2, 3)])
def test_load_mnist_dataset_applies_limit_to_each_split(full_folder, limit, n_train, n_test):
    X_train, y_train, X_test, y_test = load_mnist_dataset(full_folder, limit=limit)

    assert X_train.shape == (n_train, 6) and X_test.shape == (n_test, 6)
    np.testing.assert_array_equal(y_train, TRAIN_LABELS[:n_train])
    np.testing.assert_array_equal(y_test, TEST_LABELS[:n_test])


def test_load_mnist_dataset_refuses_a_folder_with_only_the_train_pair(train_folder):
    with pytest.raises(ValueError, match="only the train pair") as caught:
        load_mnist_dataset(train_folder)

    assert "t10k-images-idx3-ubyte" in str(caught.value)


def test_load_mnist_dataset_names_the_missing_half_of_the_test_pair(train_folder):
    write(train_folder / NAMES["test", "images"], idx_bytes(TEST_PIXELS))

    with pytest.raises(FileNotFoundError, match="no MNIST test labels file"):
        load_mnist_dataset(train_folder)


def test_load_mnist_dataset_needs_the_train_pair(tmp_path):
    write_split(tmp_path, "test", TEST_PIXELS, TEST_LABELS)

    with pytest.raises(FileNotFoundError, match="no MNIST train images file"):
        load_mnist_dataset(tmp_path)
