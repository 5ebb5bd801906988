"""Image files of any size and format as CIFAR-10-shaped arrays (for predictions)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cifarlab.errors import CifarlabError


def load_image_32(path: Path) -> tuple[np.ndarray, tuple[int, int]]:
    """(32, 32, 3) uint8 and the original (width, height)."""
    from PIL import Image, UnidentifiedImageError

    if path.is_dir():
        raise CifarlabError(f"{path} is a directory: give image files (e.g. {path}/*.png)")
    if not path.is_file():
        raise CifarlabError(f"image {path} does not exist")
    try:
        with Image.open(path) as image:
            size = image.size
            rgb = image.convert("RGB").resize((32, 32), Image.Resampling.BICUBIC)
            return np.asarray(rgb), size
    except (UnidentifiedImageError, OSError) as exc:
        raise CifarlabError(f"{path} is not an image Pillow can read ({exc})") from None
