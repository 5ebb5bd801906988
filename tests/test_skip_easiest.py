"""fastnet --skip-easiest: which images a batch keeps, what the learner remembers of each
image's loss, and what a run records of the images it trained on."""

import json

import numpy as np
import torch
import torch.nn.functional as F

from cifarlab.cli.main import main
from cifarlab.training.fastnet.selection import LastLosses, hardest
from cifarlab.training.registry import DataShape, get_model
from cifarlab.training.resolve import resolve


def test_hardest_keeps_the_highest_losses_in_batch_order():
    losses = np.array([0.5, 3.0, 1.0, 2.0, 0.1, np.inf], dtype=np.float32)
    batch = np.array([4, 1, 0, 5, 3, 2])
    assert hardest(batch, losses, keep_share=0.5).tolist() == [1, 5, 3]  # losses 3.0, inf, 2.0
    assert hardest(batch, losses, keep_share=1.0).tolist() == batch.tolist()


def test_ties_keep_the_earlier_image_and_at_least_one_is_kept():
    losses = np.ones(4, dtype=np.float32)
    assert hardest(np.array([2, 0, 3, 1]), losses, keep_share=0.5).tolist() == [2, 0]
    assert hardest(np.array([2, 0, 3, 1]), losses, keep_share=0.01).tolist() == [2]


def test_an_image_left_out_is_kept_the_next_time():
    memory = LastLosses(4)
    memory.record(np.arange(4), np.array([0.1, 0.2, 3.0, 4.0], dtype=np.float32))
    assert memory.choose(np.arange(4), keep_share=0.5).tolist() == [2, 3]
    assert np.isinf(memory.values[[0, 1]]).all()  # left out: first in line the next time
    memory.record(np.array([2, 3]), np.array([0.01, 0.02], dtype=np.float32))
    assert memory.choose(np.arange(4), keep_share=0.5).tolist() == [0, 1]


def test_last_losses_round_trip_through_a_weights_only_checkpoint(tmp_path):
    memory = LastLosses(3)
    memory.record(np.array([1]), np.array([0.7], dtype=np.float32))
    torch.save(memory.state_dict(), tmp_path / "state.pt")
    restored = LastLosses(3)
    restored.load_state_dict(torch.load(tmp_path / "state.pt", weights_only=True))
    np.testing.assert_array_equal(restored.values, memory.values)


def test_a_step_records_each_trained_images_loss_before_the_update():
    cfg, runtime = resolve("fastnet", {"device": "cpu", "precision": "fp32", "widths": (8, 8, 8), "steps": 4,
                                       "batch_size": 20, "warmup_steps": 0, "lookahead_epochs": -1.0,
                                       "augment": False, "skip_easiest": 0.25, "skip_from_epoch": 1.0})
    learner = get_model("fastnet").make_learner(cfg, DataShape(10, 40), runtime)  # 2 steps per epoch
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(40, 3, 32, 32, generator=generator).numpy()
    y = torch.randint(0, 10, (40,), generator=generator).numpy()
    staged_x, staged_y = learner.stage(x, y)
    for step, batch in enumerate([np.arange(20), np.arange(20, 40), np.arange(20)]):
        chosen = learner.choose(batch)
        assert len(chosen) == (20 if step < 2 else 15)  # the first epoch keeps every image
        if step == 2:  # before the step: the losses it will compute, on the weights of step 2
            learner.model.train()
            with torch.no_grad():
                inputs = learner.to_device(staged_x[chosen])
                expected = F.cross_entropy(learner.model(inputs), torch.from_numpy(y[chosen]),
                                           label_smoothing=cfg.label_smoothing, reduction="none")
        loss = float(learner.train_step(staged_x[chosen], staged_y[chosen], 0.1))
    left_out = np.setdiff1d(np.arange(20), chosen)
    assert np.isinf(learner.last_losses.values[left_out]).all()
    np.testing.assert_allclose(learner.last_losses.values[chosen], expected.numpy(), rtol=1e-4)
    assert abs(loss - float(expected.mean())) < 1e-5  # the step's loss is their mean


def test_a_run_that_leaves_images_out_is_re_evaluated_exactly(learnable_folder, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "fastnet", "--data", str(learnable_folder), "--out", str(run), "--widths", "8,16,16",
                 "--epochs", "2", "--batch-size", "50", "--no-augment", "--quiet", "--no-pictures",
                 "--skip-easiest", "0.4", "--skip-from-epoch", "1"]) == 0
    assert json.loads((run / "config.json").read_text())["config"]["skip_easiest"] == 0.4
    capsys.readouterr()
    assert main(["evaluate", str(run)]) == 0
    assert "reproduced exactly" in capsys.readouterr().out
