"""Readers for the on-disk forms of CIFAR-10, each returning one `CifarData`.

Supported sources:
- the official python-format archive `cifar-10-python.tar.gz`, or its extracted
  `cifar-10-batches-py/` directory (pickled batches);
- an image-folder layout `train/<class>/*` and `test/<class>/*`, as a directory or a
  .tar.gz, in any format Pillow reads; classes are taken in sorted order.
"""

from __future__ import annotations

import io
import os
import pickle
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cifarlab.errors import CifarlabError

IMAGE_SHAPE = (32, 32, 3)
PYTHON_TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
PYTHON_TEST_BATCH = "test_batch"
PYTHON_META = "batches.meta"
SPLITS = ("train", "test")


@dataclass(frozen=True)
class CifarData:
    """The whole data set as uint8 arrays.

    train_images: (N, 32, 32, 3) uint8, train_labels: (N,) int64; likewise for test.
    """

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    classes: tuple[str, ...]
    source: str = ""


def read_source(path: Path) -> CifarData:
    """Read any supported source at `path` (file or directory)."""
    if not path.exists():
        raise CifarlabError(f"data source {path} does not exist: pass --data PATH to a CIFAR-10 copy")
    if path.is_dir():
        if all((path / name).is_file() for name in (*PYTHON_TRAIN_BATCHES, PYTHON_TEST_BATCH)):
            return _read_python_batches(lambda name: (path / name).read_bytes(), str(path))
        nested = path / "cifar-10-batches-py"
        if nested.is_dir():
            return read_source(nested)
        return _read_image_folder_dir(path)
    if tarfile.is_tarfile(path):
        return _read_archive(path)
    raise CifarlabError(
        f"{path} is neither a directory nor a tar archive: pass --data a cifar-10-python.tar.gz, "
        "a cifar-10-batches-py/ directory, or an image folder with train/ and test/"
    )


# --- official python format -------------------------------------------------------------

def _unpickle(blob: bytes, name: str) -> dict:
    try:
        return pickle.loads(blob, encoding="bytes")
    except Exception as exc:  # pickle raises many types on corrupt input
        raise CifarlabError(f"cannot read CIFAR-10 batch {name!r} ({exc}): the copy is damaged, "
                            "fetch it again") from None


def _batch_arrays(batch: dict, name: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        flat = np.asarray(batch[b"data"], dtype=np.uint8)
        labels = np.asarray(batch[b"labels"], dtype=np.int64)
    except KeyError:
        raise CifarlabError(f"CIFAR-10 batch {name!r} lacks data or labels: the copy is damaged") from None
    # Rows are 3072 bytes: the red plane, then green, then blue, each 32x32 row-major.
    images = flat.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels


def _read_python_batches(read, source: str) -> CifarData:
    """`read(name) -> bytes` gives the content of one batch file."""
    train = [_batch_arrays(_unpickle(read(n), n), n) for n in PYTHON_TRAIN_BATCHES]
    test_images, test_labels = _batch_arrays(_unpickle(read(PYTHON_TEST_BATCH), PYTHON_TEST_BATCH), PYTHON_TEST_BATCH)
    meta = _unpickle(read(PYTHON_META), PYTHON_META)
    classes = tuple(name.decode() for name in meta[b"label_names"])
    return CifarData(
        train_images=np.concatenate([images for images, _ in train]),
        train_labels=np.concatenate([labels for _, labels in train]),
        test_images=test_images,
        test_labels=test_labels,
        classes=classes,
        source=source,
    )


# --- image folders ----------------------------------------------------------------------

def decode_image(blob: bytes, name: str) -> np.ndarray:
    """Decode one 32x32 image file to (32, 32, 3) uint8 RGB."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(blob)) as image:
            pixels = np.asarray(image.convert("RGB"))
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise CifarlabError(f"cannot decode image {name} ({exc}): remove or replace that file") from None
    if pixels.shape != IMAGE_SHAPE:
        raise CifarlabError(f"image {name} is {pixels.shape[1]}x{pixels.shape[0]}, expected 32x32")
    return pixels


def _assemble_image_folder(files: dict[tuple[str, str], list[tuple[str, bytes]]], source: str) -> CifarData:
    """`files[(split, class)]` lists (file name, content) pairs."""
    classes_by_split = {split: sorted({c for s, c in files if s == split}) for split in SPLITS}
    for split in SPLITS:
        if not classes_by_split[split]:
            raise CifarlabError(
                f"{source} has no {split}/<class>/ images: an image folder needs train/ and test/ "
                "directories with one sub-directory per class"
            )
    if classes_by_split["train"] != classes_by_split["test"]:
        only_train = set(classes_by_split["train"]) - set(classes_by_split["test"])
        only_test = set(classes_by_split["test"]) - set(classes_by_split["train"])
        raise CifarlabError(
            f"{source}: train/ and test/ have different class folders "
            f"(only in train: {sorted(only_train)}, only in test: {sorted(only_test)})"
        )
    classes = classes_by_split["train"]
    arrays = {}
    for split in SPLITS:
        images, labels = [], []
        for label, cls in enumerate(classes):
            for name, blob in sorted(files[(split, cls)]):
                images.append(decode_image(blob, f"{split}/{cls}/{name}"))
                labels.append(label)
        arrays[split] = (np.stack(images), np.asarray(labels, dtype=np.int64))
    return CifarData(*arrays["train"], *arrays["test"], classes=tuple(classes), source=source)


def _split_class_file(parts: tuple[str, ...]) -> tuple[str, str, str] | None:
    """Find `.../<split>/<class>/<file>` at the end of a path; None for other paths."""
    if len(parts) >= 3 and parts[-3] in SPLITS and not parts[-1].startswith("."):
        return parts[-3], parts[-2], parts[-1]
    return None


def _read_image_folder_dir(root: Path) -> CifarData:
    if not all((root / split).is_dir() for split in SPLITS):
        raise CifarlabError(
            f"{root} has no train/ and test/ directories: pass --data a CIFAR-10 archive, "
            "a cifar-10-batches-py/ directory, or an image folder with train/<class>/ and test/<class>/"
        )
    files: dict[tuple[str, str], list[tuple[str, bytes]]] = {}
    for split in SPLITS:
        for class_dir in sorted(p for p in (root / split).iterdir() if p.is_dir()):
            entries = files.setdefault((split, class_dir.name), [])
            for file in class_dir.iterdir():
                if file.is_file() and not file.name.startswith("."):
                    entries.append((file.name, file.read_bytes()))
    return _assemble_image_folder(files, str(root))


# --- archives ---------------------------------------------------------------------------

def _read_archive(path: Path) -> CifarData:
    """One pass over a tar archive holding either python batches or an image folder."""
    batches: dict[str, bytes] = {}
    images: dict[tuple[str, str], list[tuple[str, bytes]]] = {}
    try:
        with tarfile.open(path) as archive:
            for member in archive:
                if not member.isfile():
                    continue
                parts = tuple(p for p in member.name.split("/") if p)
                basename = parts[-1] if parts else ""
                placed = _split_class_file(parts)
                if basename in (*PYTHON_TRAIN_BATCHES, PYTHON_TEST_BATCH, PYTHON_META):
                    batches[basename] = archive.extractfile(member).read()
                elif placed is not None:
                    split, cls, name = placed
                    images.setdefault((split, cls), []).append((name, archive.extractfile(member).read()))
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        reason = str(exc) or type(exc).__name__
        raise CifarlabError(f"cannot read archive {path} ({reason}): it is truncated or damaged, "
                            "fetch it again") from None
    if batches:
        missing = [n for n in (*PYTHON_TRAIN_BATCHES, PYTHON_TEST_BATCH, PYTHON_META) if n not in batches]
        if missing:
            raise CifarlabError(f"archive {path} lacks CIFAR-10 batches {missing}: it is incomplete, fetch it again")
        return _read_python_batches(batches.__getitem__, str(path))
    return _assemble_image_folder(images, str(path))


def source_fingerprint(path: Path) -> str:
    """A content key for the cache: size and checksum of a file; for a directory, the
    relative path, size and modification time of every file (reading 60,000 small files
    to hash them would cost more than it saves)."""
    import hashlib

    digest = hashlib.blake2b(digest_size=16)
    if path.is_file():
        digest.update(str(path.stat().st_size).encode())
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 22), b""):
                digest.update(chunk)
    else:
        for root, dirs, names in os.walk(path):
            dirs.sort()
            for name in sorted(names):
                file = Path(root, name)
                stat = file.stat()
                digest.update(f"{file.relative_to(path)}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()
