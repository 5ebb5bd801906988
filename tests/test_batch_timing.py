"""`--eval-batch-size 0` (the CPU presets'): the evaluation batch is timed on this machine once,
remembered in the cache directory, printed, and changes nothing but the speed."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cifarlab.cli.main import main
from cifarlab.training import batch_timing
from cifarlab.training.batch_timing import TIMINGS_FILE, choose_eval_batch, timing_key

TINY = ["--widths", "8,16,16", "--batch-size", "50", "--micro-batch-size", "25", "--epochs", "1",
        "--train-eval-size", "0", "--seed", "3"]


def train(folder, run, *options):
    return main(["train", "fastnet", "--preset", "cpu85", "--data", str(folder), "--out", str(run), *TINY, *options])


def test_the_presets_time_the_evaluation_batch_once_and_print_it(learnable_folder, tmp_path, isolated_home, capsys):
    assert train(learnable_folder, tmp_path / "first") == 0
    printed = capsys.readouterr().out
    assert "evaluation batch" in printed and "the fastest of 100/250/500/1000 images per pass" in printed
    assert "timed now, remembered" in printed
    timings = json.loads((isolated_home / TIMINGS_FILE).read_text())
    (key, per_size), = timings.items()
    assert "torch" in key and set(per_size) == {"100", "250", "500", "1000"}
    assert all(ms > 0 for ms in per_size.values())
    fastest = min(per_size, key=per_size.get)
    assert f"evaluation batch {fastest}:" in printed

    assert train(learnable_folder, tmp_path / "second") == 0  # the same machine and network: not timed again
    assert "timed earlier on this machine" in capsys.readouterr().out
    assert json.loads((isolated_home / TIMINGS_FILE).read_text()) == timings


def test_a_given_evaluation_batch_wins_and_the_results_do_not_depend_on_it(learnable_folder, tmp_path,
                                                                           isolated_home, capsys):
    assert train(learnable_folder, tmp_path / "timed") == 0
    assert train(learnable_folder, tmp_path / "given", "--eval-batch-size", "7") == 0
    printed = capsys.readouterr().out
    assert printed.count("evaluation batch") == 1  # the given size is used as it is, without a timing
    timed, given = (json.loads((tmp_path / run / "metrics.json").read_text()) for run in ("timed", "given"))
    assert timed["test_accuracy"] == given["test_accuracy"]
    assert timed["test_loss"] == pytest.approx(given["test_loss"], rel=1e-5)


class FakeLearner:
    """What timing_key reads, without a network."""

    def __init__(self):
        import torch

        self.device, self.model = torch.device("cpu"), torch.nn.Linear(3, 2)
        self.autocast_dtype, self.memory_format = None, torch.contiguous_format


def test_a_remembered_timing_is_used_without_timing_again(tmp_path, monkeypatch):
    learner = FakeLearner()
    (tmp_path / TIMINGS_FILE).write_text(json.dumps({timing_key(learner): {"100": 3.0, "250": 2.0, "500": 1.5,
                                                                           "1000": 1.7}}))
    monkeypatch.setattr(batch_timing, "time_eval_batches", lambda *_: pytest.fail("timed again"))
    choice = choose_eval_batch(learner, np.zeros((4, 3), np.float32), tmp_path)
    assert choice.size == 500 and choice.cached


@pytest.mark.parametrize("content", ["{not json", "[1, 2]"])
def test_an_unreadable_timings_file_is_timed_again_and_rewritten(tmp_path, monkeypatch, content):
    (tmp_path / TIMINGS_FILE).write_text(content)
    monkeypatch.setattr(batch_timing, "time_eval_batches", lambda *_: {100: 2.0, 250: 1.0, 500: 1.1, 1000: 1.2})
    choice = choose_eval_batch(FakeLearner(), np.zeros((4, 3), np.float32), tmp_path)
    assert choice.size == 250 and not choice.cached
    assert list(json.loads((tmp_path / TIMINGS_FILE).read_text()).values()) == [{"100": 2.0, "250": 1.0,
                                                                                  "500": 1.1, "1000": 1.2}]
