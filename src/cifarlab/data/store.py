"""Find the data source, decode it once, and cache the uint8 arrays.

Source order: the `data` argument (`--data PATH`), then the CIFARLAB_DATA environment
variable, then the official archive in the cache directory (downloaded when missing).
The cache directory is $CIFARLAB_HOME, else ~/.cache/cifarlab.
"""

from __future__ import annotations

import json
import os
import sys
import shutil
import tempfile
from pathlib import Path

import numpy as np

from cifarlab.data import download as dl
from cifarlab.data.sources import CifarData, read_source, source_fingerprint
from cifarlab.errors import CifarlabError

CACHE_VERSION = 1  # bump when the cached layout changes


def cifarlab_home() -> Path:
    return Path(os.environ.get("CIFARLAB_HOME") or Path.home() / ".cache" / "cifarlab")


def resolve_source(data: str | os.PathLike | None = None, download: bool = True, progress: bool = True) -> Path:
    """Return the path of the source to read, downloading the official archive if needed."""
    given = data or os.environ.get("CIFARLAB_DATA")
    if given:
        path = Path(given).expanduser()
        if not path.exists():
            origin = "--data" if data else "CIFARLAB_DATA"
            raise CifarlabError(f"{origin} {path} does not exist: pass --data PATH to a CIFAR-10 copy")
        return path
    home = cifarlab_home()
    for candidate in (home / "cifar-10-batches-py", home / dl.OFFICIAL_NAME):
        if candidate.exists():
            return candidate
    if not download:
        raise CifarlabError(f"no CIFAR-10 copy in {home}: pass --data PATH, or run `cifarlab data prepare` "
                            "with network access")
    return dl.download(dl.OFFICIAL_URL, home / dl.OFFICIAL_NAME, dl.OFFICIAL_MD5, progress=progress)


ARRAYS = ("train_images", "train_labels", "test_images", "test_labels")


def cache_path(source: Path, home: Path | None = None) -> Path:
    """The cache entry (a directory) for the content of `source`."""
    key = source_fingerprint(source)
    return (home or cifarlab_home()) / "cache" / f"cifar10-v{CACHE_VERSION}-{key}"


def _save_cache(data: CifarData, path: Path, replace_broken: bool = False) -> None:
    """Write one .npy per array plus meta.json into a temporary directory, then rename it:
    a reader sees either the whole entry or none. `replace_broken`: an unreadable entry at
    `path` is moved aside first (and deleted), so that it is rebuilt once, not on every load."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    stale = partial.with_name(partial.name + ".stale")
    try:
        for name in ARRAYS:
            np.save(partial / f"{name}.npy", getattr(data, name))
        meta = {"classes": list(data.classes), "source": data.source}
        (partial / "meta.json").write_text(json.dumps(meta, indent=2))
        if replace_broken and path.is_dir():
            os.replace(path, stale)
        try:
            os.replace(partial, path)
        except OSError:
            if not path.is_dir():  # another process may have finished the same entry first
                raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)
        shutil.rmtree(stale, ignore_errors=True)


def _load_cache(path: Path) -> CifarData | None:
    """Memory-mapped, so a warm load costs milliseconds; callers copy what they change."""
    try:
        meta = json.loads((path / "meta.json").read_text())
        arrays = {name: np.load(path / f"{name}.npy", mmap_mode="r") for name in ARRAYS}
        return CifarData(**arrays, classes=tuple(meta["classes"]), source=meta["source"])
    except (OSError, KeyError, ValueError):
        return None  # unreadable cache: rebuild it


def load_cifar10(data: str | os.PathLike | None = None, cache: bool = True, progress: bool = True,
                 must_cache: bool = False) -> CifarData:
    """Load CIFAR-10 from `data` (see module doc), through the decoded-array cache. When the cache
    cannot be written (a full disk), the data is returned uncached with one line on stderr, or
    with `must_cache` a CifarlabError says why."""
    source = resolve_source(data, progress=progress)
    if not cache:
        return read_source(source)
    cached_file = cache_path(source)
    loaded = _load_cache(cached_file) if cached_file.exists() else None
    if loaded is None:
        broken = cached_file.exists()
        loaded = read_source(source)
        try:
            _save_cache(loaded, cached_file, replace_broken=broken)
        except OSError as error:  # a full disk (numpy's message carries no errno), a read-only one, ...
            why = f"the decoded data could not be cached ({error}); {_space_wanted(loaded, cached_file)}"
            if must_cache:
                raise CifarlabError(why) from None
            print(f"cifarlab: {why}; using it uncached", file=sys.stderr)
    return loaded


def _space_wanted(data: CifarData, entry: Path) -> str:
    """What caching `data` at `entry` needs against what its disk has, in words."""
    needed = sum(getattr(data, name).nbytes for name in ARRAYS)
    free = shutil.disk_usage(entry.parent).free if entry.parent.is_dir() else 0
    return (f"the cache needs {needed / 2**20:,.0f} MB and {entry.parent} has {free / 2**20:,.0f} MB free "
            f"(CIFARLAB_HOME can point to a roomier disk)")
