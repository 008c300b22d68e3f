"""The MNIST loader: IDX files (gzip or raw), the bundled sample, MNIST_DIR."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from training import data


def test_the_bundled_sample_is_small_deterministic_and_balanced():
    sample = data.load_sample()
    assert sample.x_train.shape == (3000, 28, 28) and sample.x_test.shape == (2000, 28, 28)
    assert sample.x_train.dtype == np.uint8 and sample.y_train.dtype == np.uint8
    assert set(np.unique(sample.y_test)) == set(range(10))
    assert min(np.bincount(sample.y_train)) > 200
    assert data.SAMPLE_PATH.stat().st_size < 2 * 1024 * 1024
    again = data.load_sample()
    assert np.array_equal(sample.x_test, again.x_test)


def write_folder(folder, sample, *, gz: bool, dotted: bool = False):
    names = {
        "train-images-idx3-ubyte": sample.x_train,
        "train-labels-idx1-ubyte": sample.y_train,
        "t10k-images-idx3-ubyte": sample.x_test,
        "t10k-labels-idx1-ubyte": sample.y_test,
    }
    for name, array in names.items():
        if dotted:
            name = name.replace("-idx", ".idx")
        data.write_idx(folder / (name + (".gz" if gz else "")), array)


@pytest.mark.parametrize(("gz", "dotted"), [(True, False), (False, False), (False, True)])
def test_idx_folders_round_trip(tmp_path, gz, dotted):
    sample = data.load_sample()
    write_folder(tmp_path, sample, gz=gz, dotted=dotted)
    loaded = data.load_idx_folder(tmp_path)
    assert np.array_equal(loaded.x_train, sample.x_train)
    assert np.array_equal(loaded.y_test, sample.y_test)


def test_mnist_dir_is_read_from_the_environment(tmp_path, monkeypatch):
    write_folder(tmp_path, data.load_sample(), gz=True)
    monkeypatch.setenv("MNIST_DIR", str(tmp_path))
    assert data.load_mnist().source == str(tmp_path)
    assert data.load_best_available().source == str(tmp_path)


def test_without_a_folder_the_best_available_is_the_sample(monkeypatch, tmp_path):
    monkeypatch.delenv("MNIST_DIR", raising=False)
    assert data.load_best_available().source == "bundled sample"
    assert data.load_best_available(tmp_path / "missing").source == "bundled sample"


def test_a_file_that_is_not_idx_is_refused(tmp_path):
    path = tmp_path / "bad.gz"
    with gzip.open(path, "wb") as handle:
        handle.write(b"\x01\x02\x03\x04 not idx")
    with pytest.raises(ValueError, match="not an IDX"):
        data.read_idx(path)


def test_a_truncated_idx_file_is_refused(tmp_path):
    path = tmp_path / "short"
    data.write_idx(path, np.zeros((10, 28, 28), np.uint8))
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(ValueError, match="truncated"):
        data.read_idx(path)


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="train-images"):
        data.load_idx_folder(tmp_path)


@pytest.mark.skipif(not data.resolve_data_dir(), reason="MNIST_DIR is not set: the full set is not on this machine")
def test_the_full_mnist_set_matches_its_published_counts():
    full = data.load_mnist()
    assert full.x_train.shape == (60000, 28, 28) and full.x_test.shape == (10000, 28, 28)
    assert np.bincount(full.y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
