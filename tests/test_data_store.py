"""Source resolution, the decoded-array cache, and the verified download."""

import os

import numpy as np
import pytest

from cifarlab.data import download as dl
from cifarlab.data import store
from cifarlab.data.synthetic import tar_directory, write_image_folder
from cifarlab.errors import CifarlabError


def cache_entries(home):
    folder = home / "cache"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_second_load_reads_the_cache_not_the_source(tiny_png_folder, isolated_home, monkeypatch, tiny):
    store.load_cifar10(tiny_png_folder)
    assert len(cache_entries(isolated_home)) == 1
    monkeypatch.setattr(store, "read_source", lambda path: pytest.fail("source decoded again"))
    again = store.load_cifar10(tiny_png_folder)
    np.testing.assert_array_equal(again.train_images, tiny.train_images)
    assert again.classes == tiny.classes


def test_changed_source_gets_a_new_cache_entry(tmp_path, tiny_png_folder, isolated_home):
    archive = tar_directory(tiny_png_folder, tmp_path / "a.tar.gz")
    first = store.load_cifar10(archive)
    (tiny_png_folder / "train" / "cat" / "0000.png").unlink()
    tar_directory(tiny_png_folder, archive)
    second = store.load_cifar10(archive)
    assert len(second.train_labels) == len(first.train_labels) - 1
    assert len(cache_entries(isolated_home)) == 2


def test_no_partial_cache_entry_after_a_failed_decode(tiny_png_folder, isolated_home):
    (tiny_png_folder / "train" / "cat" / "0001.png").write_bytes(b"junk")
    with pytest.raises(CifarlabError):
        store.load_cifar10(tiny_png_folder)
    assert cache_entries(isolated_home) == []


def test_environment_variable_names_the_source(tiny_png_folder, monkeypatch):
    monkeypatch.setenv("CIFARLAB_DATA", str(tiny_png_folder))
    assert store.resolve_source(None) == tiny_png_folder


def test_explicit_argument_beats_the_environment(tiny_png_folder, tmp_path, monkeypatch):
    monkeypatch.setenv("CIFARLAB_DATA", str(tmp_path / "elsewhere"))
    assert store.resolve_source(tiny_png_folder) == tiny_png_folder


def test_missing_environment_path_names_the_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("CIFARLAB_DATA", str(tmp_path / "gone"))
    with pytest.raises(CifarlabError, match="CIFARLAB_DATA"):
        store.resolve_source(None)


def test_official_archive_in_home_is_used_without_download(isolated_home, tmp_path, monkeypatch):
    isolated_home.mkdir()
    (isolated_home / dl.OFFICIAL_NAME).write_bytes(b"x")
    monkeypatch.setattr(dl, "download", lambda *a, **k: pytest.fail("should not download"))
    assert store.resolve_source(None) == isolated_home / dl.OFFICIAL_NAME


def test_download_verifies_md5_and_renames(tmp_path):
    payload = tmp_path / "remote.bin"
    payload.write_bytes(b"cifar bytes")
    target = tmp_path / "home" / "archive.tar.gz"
    dl.download(payload.as_uri(), target, dl.file_md5(payload), progress=False)
    assert target.read_bytes() == b"cifar bytes"


def test_md5_mismatch_leaves_no_file(tmp_path):
    payload = tmp_path / "remote.bin"
    payload.write_bytes(b"tampered")
    target = tmp_path / "home" / "archive.tar.gz"
    with pytest.raises(CifarlabError, match="md5"):
        dl.download(payload.as_uri(), target, "0" * 32, progress=False)
    assert os.listdir(target.parent) == []


def test_unreachable_address_suggests_data_option(tmp_path):
    with pytest.raises(CifarlabError, match="--data PATH"):
        dl.download("http://127.0.0.1:9/cifar.tar.gz", tmp_path / "a.tar.gz", "0" * 32, progress=False, timeout=5)


def test_no_network_and_no_local_data_fails_cleanly(monkeypatch):
    monkeypatch.setattr(dl, "OFFICIAL_URL", "http://127.0.0.1:9/cifar-10-python.tar.gz")
    with pytest.raises(CifarlabError, match="pass --data PATH"):
        store.load_cifar10(None, progress=False)


def test_jpeg_archive_loads_through_cache(tmp_path, tiny):
    folder = write_image_folder(tiny, tmp_path / "jpeg", ".jpg")
    archive = tar_directory(folder, tmp_path / "jpeg.tar.gz")
    data = store.load_cifar10(archive)
    assert data.train_images.shape == (len(tiny.train_labels), 32, 32, 3)


def _disk_full(*args, **kwargs):
    raise OSError("Not enough free space to write 153600000 bytes after offset 128")  # numpy's words, no errno


def test_a_full_cache_disk_leaves_the_data_usable_with_one_line_and_no_partial_entry(
        tiny_png_folder, isolated_home, monkeypatch, capsys, tiny):
    monkeypatch.setattr(store.np, "save", _disk_full)
    data = store.load_cifar10(tiny_png_folder)
    assert np.array_equal(data.train_images, tiny.train_images)
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("cifarlab: the decoded data could not be cached")
    assert "the cache needs" in err and "MB free" in err and err.endswith("using it uncached")
    assert list((isolated_home / "cache").iterdir()) == []


def test_data_prepare_on_a_full_disk_exits_2_with_one_line(tiny_png_folder, isolated_home, monkeypatch, capsys):
    from cifarlab.cli.main import main

    monkeypatch.setattr(store.np, "save", _disk_full)
    assert main(["data", "prepare", "--data", str(tiny_png_folder)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("cifarlab: error: the decoded data could not be cached")
    assert list((isolated_home / "cache").iterdir()) == []
