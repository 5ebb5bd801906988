"""The fast ConvNet recipe's parts: optimiser groups, identity-start convs, lookahead averaging,
whitening-bias freezing, flips, windows, jitter, TTA, and a killed fastnet run resuming to the
uninterrupted result. Learners are built as `cifarlab train fastnet` builds them."""

import numpy as np
import pytest
import torch
from torch import nn

from cifarlab.cli.main import main
from cifarlab.torch_nn.fastnet import FastNet, identity_start_conv
from cifarlab.training.fastnet.lookahead import Lookahead
from cifarlab.training.fastnet.recipe import least_confident
from cifarlab.training.registry import DataShape, get_model
from cifarlab.training.resolve import resolve
from cifarlab.training.runtime import Runtime
from cifarlab.training.torch_learner import TorchLearner

CPU = Runtime(device="cpu")


def fastnet_learner(train_size: int = 100, **options):
    """A fastnet learner on the CPU with `options` over the defaults (SGD, no warm-up, 10 steps)."""
    options = {"widths": (8, 8, 8), "steps": 10, "warmup_steps": 0, "lookahead_epochs": -1.0, **options}
    cfg, runtime = resolve("fastnet", {"device": "cpu", "precision": "fp32", **options})
    return get_model("fastnet").make_learner(cfg, DataShape(10, train_size), runtime)


def test_param_groups_cover_every_trainable_parameter_once():
    learner = fastnet_learner(widths=(8, 16, 16), bias_lr_scale=64.0)
    grouped = [id(p) for group in learner.param_groups for p in group.params]
    trainable = [id(p) for p in learner.model.parameters() if p.requires_grad]
    assert sorted(grouped) == sorted(trainable) and len(set(grouped)) == len(grouped)
    shifts = {id(m.bias) for m in learner.model.modules() if isinstance(m, nn.BatchNorm2d)}
    fast = [group for group in learner.param_groups if group.lr_scale == 64.0]
    assert len(fast) == 1 and {id(p) for p in fast[0].params} == shifts
    assert not any(m.weight.requires_grad for m in learner.model.modules() if isinstance(m, nn.BatchNorm2d))


def test_weight_decay_of_a_group_is_scaled():
    learner = fastnet_learner(widths=(8, 16, 16), bias_lr_scale=64.0, weight_decay=1e-3)
    assert [g["weight_decay"] for g in learner.optimizer.param_groups] == pytest.approx([1e-3 / 64, 1e-3, 1e-3])


def test_identity_start_conv_passes_its_first_channels_through():
    x = torch.randn(2, 4, 9, 9)
    out = identity_start_conv(4, 8)(x)
    torch.testing.assert_close(out[:, :4], x)
    assert out[:, 4:].abs().sum() > 0  # the other filters start random


def test_lookahead_moves_weights_to_their_running_average():
    layer = nn.Linear(3, 2, bias=False)
    lookahead = Lookahead(start_step=5, total_steps=20, every=5, base=0.9, power=1.0)
    lookahead.after_step(layer, 4)  # before the start: nothing happens
    assert lookahead.average is None
    lookahead.after_step(layer, 5)  # the start: the average begins at the current weights
    start = layer.weight.detach().clone()
    with torch.no_grad():
        layer.weight.add_(1.0)  # training moves the weights
    lookahead.after_step(layer, 7)  # not a multiple of `every`: nothing happens
    torch.testing.assert_close(layer.weight, start + 1.0)
    lookahead.after_step(layer, 10)
    decay = 0.9 ** 5 * (10 / 20)
    torch.testing.assert_close(layer.weight.detach(), start + (1 - decay))
    torch.testing.assert_close(lookahead.average[0], start + (1 - decay))


def test_whitening_bias_learns_for_the_first_epochs_only():
    learner = fastnet_learner(whiten_bias_epochs=2, batch_size=10)  # 100 images: 10 steps an epoch
    bias = learner.whitening_bias
    learner.step = 19
    assert learner.lr_scale(bias) == 1.0
    learner.step = 20
    assert learner.lr_scale(bias) == 0.0
    shifts = next(group for group in learner.param_groups if group.lr_scale == 64.0)
    assert learner.lr_scale(shifts) == 64.0 and learner.lookahead is None


TINY = ["--widths", "8,16,16", "--epochs", "3", "--batch-size", "50", "--eval-every", "4", "--warmup-steps", "2",
        "--train-eval-size", "0", "--no-augment", "--lr", "1.0", "--whiten-bias-epochs", "1", "--lookahead-epochs",
        "1", "--quiet", "--no-pictures"]


def test_killed_fastnet_run_resumes_to_the_uninterrupted_result(learnable_folder, tmp_path, kill_after_evaluations):
    """The lookahead average and the whitening-bias freeze are restored with the checkpoint."""
    assert main(["train", "fastnet", "--data", str(learnable_folder), "--out", str(tmp_path / "whole"), *TINY]) == 0
    arm, disarm = kill_after_evaluations
    arm(4)  # dies at step 16: resumes from step 12, with the lookahead average begun (step 10) and the bias frozen
    assert main(["train", "fastnet", "--data", str(learnable_folder), "--out", str(tmp_path / "killed"), *TINY]) == 130
    disarm()
    assert main(["train", "fastnet", "--resume", str(tmp_path / "killed"), "--quiet", "--no-pictures"]) == 0
    for name in ("test_loss.npy", "train_loss.npy", "test_accuracy.npy"):
        np.testing.assert_allclose(np.load(tmp_path / "whole" / name), np.load(tmp_path / "killed" / name),
                                   rtol=1e-6)


def test_translate_tta_averages_six_views_with_the_stated_weights():
    torch.manual_seed(0)
    learner = fastnet_learner(eval_batch_size=4)
    model = learner.model.eval()
    x = torch.randn(3, 3, 32, 32)
    padded = torch.nn.functional.pad(x, (1, 1, 1, 1), mode="reflect")
    with torch.no_grad():
        def both(v):
            return (model(v) + model(v.flip(-1))) / 2
        expected = both(x) / 2 + (both(padded[..., :32, :32]) + both(padded[..., 2:, 2:])) / 4
    torch.testing.assert_close(learner.logits(x.numpy()), expected, rtol=1e-5, atol=1e-5)


def test_a_tta_fraction_gives_the_views_to_the_least_confident_images_only():
    torch.manual_seed(0)
    x = torch.randn(10, 3, 32, 32).numpy()
    all_views = fastnet_learner(eval_batch_size=4).logits(x)  # every learner has the same seed: the same weights
    plain = fastnet_learner(eval_batch_size=4, tta=False).logits(x)
    logits = fastnet_learner(eval_batch_size=4, tta_fraction=0.3).logits(x)
    confidence = torch.softmax(plain, dim=1).amax(dim=1)
    unsure = set(confidence.argsort()[:3].tolist())
    for row in range(10):
        expected = all_views[row] if row in unsure else plain[row]
        torch.testing.assert_close(logits[row], expected, rtol=1e-5, atol=1e-5)
    assert not torch.allclose(all_views, plain)  # the views change the logits, so the test can tell


def test_without_translate_tta_averages_the_image_and_its_mirror_only():
    torch.manual_seed(0)
    learner = fastnet_learner(eval_batch_size=4, tta_translate=False)
    x = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        expected = (learner.model.eval()(x) + learner.model(x.flip(-1))) / 2
    torch.testing.assert_close(learner.logits(x.numpy()), expected, rtol=1e-5, atol=1e-5)


def test_least_confident_rows_are_sorted_and_break_ties_by_position():
    logits = torch.tensor([[5.0, 0.0], [0.0, 0.0], [1.0, 0.0], [0.0, 0.0], [0.0, 9.0]])
    assert least_confident(logits, 0.4).tolist() == [1, 3]
    assert least_confident(logits, 0.6).tolist() == [1, 2, 3]
    assert least_confident(logits, 0.05).tolist() == []


def test_batches_cut_from_staged_tensors_train_exactly_like_numpy_batches():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(12, 3, 32, 32)).astype(np.float32), rng.integers(0, 10, 12)
    learners = []
    for _ in range(2):
        learners.append(fastnet_learner(batch_size=6, flip="random"))
    as_arrays, as_tensors = learners
    staged_x, staged_y = as_tensors.stage(x, y)  # on the CPU: the arrays themselves
    tensor_x, tensor_y = torch.from_numpy(staged_x), torch.from_numpy(staged_y)
    for batch in (np.arange(6), np.arange(6, 12)):
        expected = float(as_arrays.train_step(x[batch], y[batch], 0.1))
        assert float(as_tensors.train_step(tensor_x[batch], tensor_y[batch], 0.1)) == pytest.approx(expected, rel=1e-6)
    for a, b in zip(as_arrays.model.parameters(), as_tensors.model.parameters()):
        torch.testing.assert_close(a, b)


def test_the_pictures_reuse_the_last_evaluations_logits_until_the_weights_change(tmp_path):
    """A run's pictures need the test set's probabilities right after its final evaluation:
    the same weights, so no second pass over the test set; after a step or a load, a new one."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(6, 3, 32, 32)).astype(np.float32), rng.integers(0, 10, 6)
    learner = fastnet_learner(batch_size=6, eval_batch_size=4)
    passes, real_logits = [], learner.logits
    learner.logits = lambda images: passes.append(len(images)) or real_logits(images)
    learner.evaluate(x, y)
    expected = torch.softmax(real_logits(x), dim=1).numpy()
    passes.clear()
    np.testing.assert_allclose(learner.probabilities(x), expected, rtol=1e-6)
    assert passes == []  # the evaluation's logits
    learner.probabilities(x.copy())
    assert passes == [6]  # other images (an equal copy counts as other): evaluated again
    learner.train_step(x, y, 0.1)
    learner.probabilities(x)
    assert passes == [6, 6]  # a step changed the weights
    other = fastnet_learner(batch_size=6, eval_batch_size=4)
    with torch.no_grad():
        for parameter in other.model.parameters():
            parameter.copy_(torch.randn_like(parameter))
    other.save(tmp_path / "other.pt", {"step": learner.step})  # other weights at the same step
    learner.evaluate(x, y)
    learner.load(tmp_path / "other.pt")
    loaded = learner.probabilities(x)
    assert passes == [6, 6, 6, 6]  # evaluated at this step, but with the weights before the load
    np.testing.assert_allclose(loaded, torch.softmax(other.logits(x), dim=1).numpy(), rtol=1e-5)


def test_micro_batches_give_the_whole_batch_gradient():
    """Without batch norm the parts' weighted gradients add up to the whole batch's."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(10, 3, 4, 4)).astype(np.float32), rng.integers(0, 3, 10)
    learners = []
    for micro in (0, 4):  # 4 + 4 + 2: unequal parts are weighted by their share
        torch.manual_seed(0)
        model = nn.Sequential(nn.Flatten(), nn.Linear(48, 16), nn.GELU(), nn.Linear(16, 3))
        cfg, runtime = resolve("mlp", {"batch_size": 10, "optimizer": "sgd", "lr": 0.1, "momentum": 0.9,
                                       "nesterov": True, "micro_batch_size": micro, "device": "cpu"})
        learners.append(TorchLearner(model, cfg, runtime))
    whole, parts = learners
    for _ in range(3):
        assert float(parts.train_step(x, y, 0.1)) == pytest.approx(float(whole.train_step(x, y, 0.1)), rel=1e-6)
    for a, b in zip(whole.model.parameters(), parts.model.parameters()):
        torch.testing.assert_close(a, b)


def test_alternating_flips_show_each_image_mirrored_in_every_other_epoch():
    x = np.arange(6 * 3 * 2 * 2, dtype=np.float32).reshape(6, 3, 2, 2)
    learner = fastnet_learner(train_size=6, batch_size=3, crop_padding=0)  # 2 steps an epoch
    staged, _ = learner.stage(x, np.zeros(6, dtype=np.int64))
    mirrored = [not np.array_equal(a, b) for a, b in zip(staged, x)]
    assert np.array_equal(staged[mirrored], x[mirrored][..., ::-1]) and 0 < sum(mirrored) < 6
    again, _ = learner.stage(x, np.zeros(6, dtype=np.int64))
    np.testing.assert_array_equal(again, staged)  # drawn from the seed: a resumed run stages the same
    batch = torch.from_numpy(staged[:3])
    for step, turned in [(0, False), (1, False), (2, True), (3, True), (4, False)]:
        learner.step = step
        expected = batch.flip(-1) if turned else batch
        torch.testing.assert_close(learner.augment(batch), expected)


def test_small_crops_for_the_first_steps_then_whole_images():
    learner = fastnet_learner(train_size=40, batch_size=4, small_crop=24, small_crop_epochs=0.3)  # 3 steps
    batch = torch.randn(4, 3, 32, 32)
    for step, side in [(0, 24), (2, 24), (3, 32), (7, 32)]:
        learner.step = step
        assert learner.augment(batch).shape[-2:] == (side, side)


def test_growing_windows_step_up_by_four_pixels_in_equal_shares_then_whole_images():
    learner = fastnet_learner(train_size=40, batch_size=4, small_crop=20, small_crop_epochs=0.6,
                              small_crop_growth=True)  # 6 steps of windows: 20, 20, 24, 24, 28, 28
    batch = torch.randn(4, 3, 32, 32)
    sides = []
    for step in range(8):
        learner.step = step
        sides.append(learner.augment(batch).shape[-1])
    assert sides == [20, 20, 24, 24, 28, 28, 32, 32]


def test_colour_jitter_comes_after_the_crop_and_only_when_asked():
    batch = torch.randn(4, 3, 32, 32)
    plain = fastnet_learner(batch_size=4, flip="random").augment(batch)
    jittered = fastnet_learner(batch_size=4, flip="random", brightness=0.2)
    offsets = jittered.augment(batch) - plain  # same crops (drawn first), then one offset per image
    assert float(offsets.abs().max()) > 0
    torch.testing.assert_close(offsets, offsets[:, :1, :1, :1].expand_as(offsets))


def test_silu_replaces_every_gelu():
    model = FastNet(widths=(8, 8, 8), activation="silu")
    kinds = {type(m) for m in model.modules()}
    assert nn.SiLU in kinds and nn.GELU not in kinds
    assert sum(isinstance(m, nn.SiLU) for m in model.modules()) == 7  # after the whitening, two per block


def test_frozen_whitening_bias_gets_no_gradient_and_training_is_unchanged():
    """Freezing by dropping the bias's gradient (one process) trains exactly like freezing by
    lr 0 (what DDP needs): the skipped gradients fed nothing else."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(8, 3, 32, 32)).astype(np.float32), rng.integers(0, 10, 8)
    learners = []
    for _ in range(2):
        learners.append(fastnet_learner(train_size=16, batch_size=8, whiten_bias_epochs=1, bias_lr_scale=4.0,
                                        augment=False))
    dropped, by_lr = learners
    by_lr.distributed = True  # freezes as under DDP: by lr 0 alone
    for step in range(6):
        assert float(dropped.train_step(x, y, 0.1)) == pytest.approx(float(by_lr.train_step(x, y, 0.1)), rel=1e-6)
        frozen = step >= 2
        assert (dropped.model.whiten.bias.grad is None) == frozen
        assert by_lr.model.whiten.bias.grad is not None
    for a, b in zip(dropped.model.parameters(), by_lr.model.parameters()):
        torch.testing.assert_close(a, b)


def test_killed_muon_run_with_micro_batches_and_alternating_flips_resumes_exactly(learnable_folder, tmp_path,
                                                                                 kill_after_evaluations):
    """Muon's momentum buffers, the flips' epoch parity, the augmentation draws (colour jitter's
    too) and --skip-easiest's last losses (it leaves images out from step 6 on) are restored."""
    recipe = [*TINY, "--augment", "--flip", "alternate", "--optimizer", "muon", "--micro-batch-size", "20",
              "--muon-lr", "0.1", "--brightness", "0.1", "--contrast", "0.1", "--skip-easiest", "0.3",
              "--skip-from-epoch", "1"]
    assert main(["train", "fastnet", "--data", str(learnable_folder), "--out", str(tmp_path / "whole"), *recipe]) == 0
    arm, disarm = kill_after_evaluations
    arm(2)  # dies at step 8, in the second epoch (6 steps each)
    killed = tmp_path / "killed"
    assert main(["train", "fastnet", "--data", str(learnable_folder), "--out", str(killed), *recipe]) == 130
    disarm()
    assert main(["train", "fastnet", "--resume", str(killed), "--quiet", "--no-pictures"]) == 0
    for name in ("test_loss.npy", "train_loss.npy", "test_accuracy.npy"):
        np.testing.assert_allclose(np.load(tmp_path / "whole" / name), np.load(killed / name), rtol=1e-6)
