"""benchmarks/flop_share.py counts a run's training as passes over the training set of each
kind of image; --skip-easiest leaves a share of each batch out from its epoch on."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from flop_share import trained_epochs  # noqa: E402

from cifarlab.training.resolve import resolve  # noqa: E402


def recipe(**options):
    return resolve("fastnet", options, preset="cpu-peer")[0]


def test_without_skipping_every_epoch_is_one_pass():
    assert trained_epochs(0.0, 3.0, recipe(skip_easiest=0.0)) == 3.0


@pytest.mark.parametrize("start, end, passes", [(0.0, 3.0, 1.0 + 2.0 * 0.7),  # skipping begins inside the range
                                                (3.0, 9.0, 6.0 * 0.7),  # skipping throughout
                                                (0.0, 0.5, 0.5)])  # before skipping begins
def test_skipped_images_are_not_counted(start, end, passes):
    assert trained_epochs(start, end, recipe(skip_easiest=0.3, skip_from_epoch=1.0)) == pytest.approx(passes)
