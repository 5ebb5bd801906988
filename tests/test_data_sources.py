"""Every supported source form reads back the exact labels and pixels that were written."""

import tarfile

import numpy as np
import pytest

from cifarlab.data.sources import read_source
from cifarlab.data.synthetic import make_synthetic, tar_directory, write_image_folder, write_python_batches
from cifarlab.errors import CifarlabError


def assert_same(data, expected):
    assert data.classes == expected.classes
    np.testing.assert_array_equal(data.train_labels, expected.train_labels)
    np.testing.assert_array_equal(data.test_labels, expected.test_labels)
    np.testing.assert_array_equal(data.train_images, expected.train_images)
    np.testing.assert_array_equal(data.test_images, expected.test_images)


def test_python_batches_directory_round_trips(tmp_path, tiny):
    assert_same(read_source(write_python_batches(tiny, tmp_path / "cifar-10-batches-py")), tiny)


def test_python_archive_round_trips(tmp_path, tiny):
    folder = write_python_batches(tiny, tmp_path / "batches")
    archive = tar_directory(folder, tmp_path / "cifar-10-python.tar.gz", arcname="cifar-10-batches-py")
    assert_same(read_source(archive), tiny)


def test_directory_holding_extracted_batches_is_found(tmp_path, tiny):
    write_python_batches(tiny, tmp_path / "parent" / "cifar-10-batches-py")
    assert_same(read_source(tmp_path / "parent"), tiny)


@pytest.mark.parametrize("suffix", [".png", ".bmp", ".tiff"])
def test_lossless_image_folder_round_trips(tmp_path, tiny, suffix):
    assert_same(read_source(write_image_folder(tiny, tmp_path / "folder", suffix)), tiny)


def test_image_folder_archive_round_trips(tmp_path, tiny_png_folder, tiny):
    assert_same(read_source(tar_directory(tiny_png_folder, tmp_path / "folder.tar.gz")), tiny)


def test_image_folder_archive_with_top_directory_round_trips(tmp_path, tiny_png_folder, tiny):
    assert_same(read_source(tar_directory(tiny_png_folder, tmp_path / "f.tar.gz", arcname="cifar10")), tiny)


def test_jpeg_folder_keeps_labels_and_approximate_pixels(tmp_path, tiny):
    data = read_source(write_image_folder(tiny, tmp_path / "jpeg", ".jpg"))
    np.testing.assert_array_equal(data.train_labels, tiny.train_labels)
    # lossy, but each decoded image is still nearest to its own original
    decoded = data.train_images.reshape(len(data.train_images), -1).astype(float)
    original = tiny.train_images.reshape(len(tiny.train_images), -1).astype(float)
    distances = ((decoded[:, None, :] - original[None, :, :]) ** 2).sum(-1)
    np.testing.assert_array_equal(distances.argmin(axis=1), np.arange(len(decoded)))


def test_classes_are_sorted_and_labels_follow_them(tmp_path):
    data = make_synthetic(2, 1, classes=("zebra", "apple", "mango"), seed=2)
    loaded = read_source(write_image_folder(data, tmp_path / "f"))
    assert loaded.classes == ("apple", "mango", "zebra")
    # the zebra images (label 0 when written) now carry label 2
    np.testing.assert_array_equal(loaded.train_images[loaded.train_labels == 2], data.train_images[data.train_labels == 0])


def test_missing_path_is_a_user_error(tmp_path):
    with pytest.raises(CifarlabError, match="does not exist"):
        read_source(tmp_path / "nowhere")


def test_directory_without_train_and_test_is_rejected(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(CifarlabError, match="no train/ and test/"):
        read_source(tmp_path / "empty")


def test_different_class_folders_are_rejected(tmp_path, tiny_png_folder):
    (tiny_png_folder / "test" / "truck").rename(tiny_png_folder / "test" / "lorry")
    with pytest.raises(CifarlabError, match="different class folders"):
        read_source(tiny_png_folder)


def test_unreadable_image_is_named(tiny_png_folder):
    (tiny_png_folder / "train" / "cat" / "0001.png").write_bytes(b"not an image")
    with pytest.raises(CifarlabError, match="train/cat/0001.png"):
        read_source(tiny_png_folder)


def test_wrong_image_size_is_named(tiny_png_folder):
    from PIL import Image

    Image.new("RGB", (16, 16)).save(tiny_png_folder / "test" / "dog" / "0000.png")
    with pytest.raises(CifarlabError, match="16x16, expected 32x32"):
        read_source(tiny_png_folder)


def test_truncated_archive_is_rejected(tmp_path, tiny_png_folder):
    archive = tar_directory(tiny_png_folder, tmp_path / "folder.tar.gz")
    blob = archive.read_bytes()
    archive.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(CifarlabError, match="truncated or damaged"):
        read_source(archive)


def test_archive_missing_a_batch_is_rejected(tmp_path, tiny):
    folder = write_python_batches(tiny, tmp_path / "batches")
    (folder / "test_batch").unlink()
    with pytest.raises(CifarlabError, match="test_batch"):
        read_source(tar_directory(folder, tmp_path / "a.tar.gz", arcname="cifar-10-batches-py"))


def test_plain_file_is_rejected(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(CifarlabError, match="neither a directory nor a tar archive"):
        read_source(tmp_path / "notes.txt")


def test_uncompressed_tar_is_accepted(tmp_path, tiny_png_folder, tiny):
    archive = tmp_path / "folder.tar"
    with tarfile.open(archive, "w") as tar:
        for child in tiny_png_folder.iterdir():
            tar.add(child, arcname=child.name)
    assert_same(read_source(archive), tiny)
