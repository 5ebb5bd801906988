"""The run directory every trainer writes and every reader (evaluate, predict, plot) reads.

    config.json    model name, resolved config, seed, code version, data source, normalisation
    history.json   the learning curves as one table (also history.csv)
    *.npy          steps, train/test accuracy and loss arrays (the study's format)
    metrics.json   final metrics (the study's tables)
    weights        model.npz (NumPy) or checkpoint.pt (torch)
    curves.png     accuracy and loss, train vs test, over steps

Every file is written under a temporary name and renamed, so a killed run never leaves
a half-written file.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from cifarlab.errors import CifarlabError

CURVES = ("train_accuracy", "train_loss", "test_accuracy", "test_loss")
WEIGHTS = {"numpy": "model.npz", "torch": "checkpoint.pt"}  # the checkpoint's file name, by engine


def holds_checkpoint(run_dir: Path) -> bool:
    """Whether `run_dir` holds a run that got as far as its first checkpoint."""
    return (run_dir / "config.json").is_file() and any((run_dir / name).is_file() for name in WEIGHTS.values())


@dataclass
class History:
    """Learning curves, one entry per evaluation."""

    step: list[int] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)  # wall time of the loop so far, evaluations included
    eval_seconds: list[float] = field(default_factory=list)  # the part of it spent evaluating

    def append(self, **values) -> None:
        for name, value in values.items():
            getattr(self, name).append(value)

    def truncate(self, last_step: int) -> None:
        """Drop entries after `last_step` (resuming from an earlier checkpoint)."""
        keep = sum(s <= last_step for s in self.step)
        for name in asdict(self):
            del getattr(self, name)[keep:]

    def latest(self) -> dict[str, float]:
        return {name: values[-1] for name, values in asdict(self).items() if values}


def atomic_write_bytes(path: Path, payload: bytes) -> None:
    """Write `payload` to `path` through a temporary name in the same directory: a reader sees
    the old file or the new one, never half of one. An OS error (a full disk, a read-only or
    vanished directory) is a CifarlabError that names the file; the old file stays as it was."""
    temporary = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        with os.fdopen(handle, "wb") as out:
            out.write(payload)
        os.replace(temporary, path)
    except OSError as exc:
        raise CifarlabError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)  # gone already once renamed


def atomic_write_json(path: Path, value) -> None:
    atomic_write_bytes(path, (json.dumps(value, indent=2, default=_json_default) + "\n").encode())


def _json_default(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def atomic_save_npy(path: Path, array: np.ndarray) -> None:
    buffer = io.BytesIO()
    np.save(buffer, array)
    atomic_write_bytes(path, buffer.getvalue())


def git_version() -> str:
    """The commit the code came from ('unknown' outside a git checkout), '+dirty' if modified."""
    here = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=here, capture_output=True,
                                text=True, timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                               capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (commit + ("+dirty" if dirty else "")) if commit else "unknown"


def write_history(run_dir: Path, history: History) -> None:
    table = asdict(history)
    atomic_write_json(run_dir / "history.json", table)
    columns = [name for name, values in table.items() if values]
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(columns)
    writer.writerows(zip(*(table[c] for c in columns)))
    atomic_write_bytes(run_dir / "history.csv", text.getvalue().encode())
    atomic_save_npy(run_dir / "steps.npy", np.asarray(history.step))
    for name in CURVES:
        atomic_save_npy(run_dir / f"{name}.npy", np.asarray(getattr(history, name), dtype=np.float64))


def read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise CifarlabError(f"{path} not found: is {path.parent} a cifarlab run directory?") from None
    except json.JSONDecodeError as exc:
        raise CifarlabError(f"{path} is not valid JSON ({exc})") from None


def read_history(run_dir: Path) -> History:
    return History(**read_json(run_dir / "history.json"))


def default_run_dir(model: str) -> Path:
    """runs/<model>-<date>-<time>, with -2, -3, ... where runs started within the same second
    (a notebook cell that trains several models)."""
    from datetime import datetime

    stem = Path("runs") / f"{model}-{datetime.now():%Y%m%d-%H%M%S}"
    run_dir, number = stem, 1
    while run_dir.exists():
        number += 1
        run_dir = stem.with_name(f"{stem.name}-{number}")
    return run_dir
