"""Load MNIST from IDX files, the bundled sample, or Keras's download."""

from __future__ import annotations

import functools
import gzip
import hashlib
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training.runtime import import_keras

SAMPLE_PATH = Path(__file__).resolve().parent / "sample" / "mnist_sample.npz"
# Where Debian's package dataset-fashion-mnist puts its IDX files.
FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")

# The standard names, with the dot-separated spelling some mirrors use.
_FILE_STEMS = {
    "train_images": ("train-images-idx3-ubyte", "train-images.idx3-ubyte"),
    "train_labels": ("train-labels-idx1-ubyte", "train-labels.idx1-ubyte"),
    "test_images": ("t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"),
    "test_labels": ("t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"),
}

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


@dataclass(frozen=True)
class Dataset:
    """Images as uint8 (N, 28, 28), white ink on black, and labels as uint8 (N,)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file, gzip-compressed or raw, into an array."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        data = handle.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError(f"{path} is not an IDX file (bad magic number).")
    type_code, ndim = data[2], data[3]
    if type_code not in _IDX_DTYPES:
        raise ValueError(f"{path} has an unknown IDX data type 0x{type_code:02x}.")
    header_end = 4 + 4 * ndim
    shape = struct.unpack(f">{ndim}I", data[4:header_end])
    array = np.frombuffer(data, dtype=_IDX_DTYPES[type_code], offset=header_end)
    if array.size != int(np.prod(shape)):
        raise ValueError(f"{path} is truncated: header says {shape}, found {array.size} values.")
    return array.reshape(shape)


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write a uint8 array as an IDX file; gzip it when the name ends in .gz."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as handle:
        handle.write(header + array.tobytes())


def _find_file(folder: Path, key: str) -> Path:
    for stem in _FILE_STEMS[key]:
        for candidate in (folder / f"{stem}.gz", folder / stem):
            if candidate.exists():
                return candidate
    raise FileNotFoundError(f"No {_FILE_STEMS[key][0]}[.gz] in {folder}.")


def load_idx_folder(folder: str | os.PathLike) -> Dataset:
    """Load the four standard MNIST files from a folder."""
    folder = Path(folder)
    arrays = {key: read_idx(_find_file(folder, key)) for key in _FILE_STEMS}
    return Dataset(
        x_train=arrays["train_images"],
        y_train=arrays["train_labels"],
        x_test=arrays["test_images"],
        y_test=arrays["test_labels"],
        source=str(folder),
    )


def load_sample() -> Dataset:
    """Load the small deterministic sample shipped in the repository."""
    with np.load(SAMPLE_PATH) as sample:
        return Dataset(
            x_train=sample["x_train"],
            y_train=sample["y_train"],
            x_test=sample["x_test"],
            y_test=sample["y_test"],
            source="bundled sample",
        )


def load_keras_download() -> Dataset:
    """Load MNIST through Keras, which downloads it on first use."""
    keras = import_keras()
    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    return Dataset(x_train, y_train, x_test, y_test, source="keras download")


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path | None:
    """Return the folder to read: the argument, else $MNIST_DIR, else None."""
    chosen = data_dir or os.environ.get("MNIST_DIR")
    return Path(chosen) if chosen else None


def load_mnist(data_dir: str | os.PathLike | None = None) -> Dataset:
    """Load full MNIST from `data_dir` or $MNIST_DIR, else through Keras."""
    folder = resolve_data_dir(data_dir)
    if folder is not None:
        return load_idx_folder(folder)
    return load_keras_download()


def load_best_available(data_dir: str | os.PathLike | None = None) -> Dataset:
    """Load full MNIST where a folder is configured, else the bundled sample.

    Used where work must go on without internet (retraining's replay set,
    tests): it never tries a download.
    """
    folder = resolve_data_dir(data_dir)
    if folder is not None and folder.is_dir():
        try:
            return load_idx_folder(folder)
        except FileNotFoundError:
            pass
    return load_sample()


def load_fashion_test(folder: str | os.PathLike = FASHION_DIR) -> np.ndarray | None:
    """Return Fashion-MNIST's 10,000 test images, uint8 (N, 28, 28), or None where it is not installed.

    For checks only: pictures of clothing that are not digits, drawn white on black like MNIST.
    Nothing may train or fit on them, so that they stay a fair test of kinds never seen.
    """
    path = Path(folder) / "t10k-images-idx3-ubyte.gz"
    if not path.exists():
        return None
    return np.ascontiguousarray(read_idx(path), dtype=np.uint8)


def _digest(image: np.ndarray) -> bytes:
    return hashlib.blake2b(np.ascontiguousarray(image).tobytes(), digest_size=8).digest()


@functools.cache
def _test_fingerprints() -> frozenset[bytes]:
    """Return digests of the 2,000 MNIST test images in the bundled sample, to recognise test images by."""
    with np.load(SAMPLE_PATH) as sample:
        return frozenset(_digest(image) for image in sample["x_test"])


def training_images_only(mnist_train: np.ndarray) -> np.ndarray:
    """Return the caller's MNIST training images, refusing any other array: the test set must stay unseen."""
    array = np.asarray(mnist_train)
    if array.ndim != 3 or array.shape[1:] != (28, 28) or array.dtype != np.uint8 or len(array) == 0:
        raise ValueError(
            f"mnist_train must be MNIST training images, uint8 (N, 28, 28); got {array.dtype} {array.shape}."
        )
    # A tripwire, not a proof: the sample holds a fifth of the test set, so any sizeable share of it is caught.
    fingerprints = _test_fingerprints()
    if any(_digest(image) in fingerprints for image in array):
        raise ValueError("mnist_train holds MNIST test images; pass training images only (Dataset.x_train).")
    return array
