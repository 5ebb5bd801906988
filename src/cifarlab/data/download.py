"""Fetch the official CIFAR-10 archive, verify its md5, and write it atomically."""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from pathlib import Path

from cifarlab.errors import CifarlabError

OFFICIAL_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
OFFICIAL_MD5 = "c58f30108f718f92721af3b95e74349a"
OFFICIAL_NAME = "cifar-10-python.tar.gz"


def file_md5(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 22), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download(url: str, target: Path, md5: str, progress: bool = True, timeout: float = 30.0) -> Path:
    """Download `url` to `target` through a temporary file; the file appears only once
    its md5 matches, so an interrupted or corrupt download leaves nothing behind."""
    from tqdm.auto import tqdm

    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.part")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(partial, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=f"downloading {target.name}",
                      disable=not progress) as bar:
                for chunk in iter(lambda: response.read(1 << 20), b""):
                    out.write(chunk)
                    bar.update(len(chunk))
        actual = file_md5(partial)
        if actual != md5:
            raise CifarlabError(
                f"downloaded {url} has md5 {actual}, expected {md5}: the download is corrupt; "
                "try again, or pass --data PATH to a verified copy"
            )
        os.replace(partial, target)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise CifarlabError(
            f"cannot download CIFAR-10 from {url} ({getattr(exc, 'reason', exc)}): "
            "without network access, pass --data PATH (or set CIFARLAB_DATA) to a local copy"
        ) from None
    finally:
        partial.unlink(missing_ok=True)
    return target
