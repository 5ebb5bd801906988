"""The fast ConvNet: whitening layer, shapes, the CLI run with epoch budget and target accuracy."""

import json

import pytest
import torch

from cifarlab.cli.main import main
from cifarlab.torch_nn.fastnet import FastNet
from cifarlab.training.runtime import native_bf16
from cifarlab.training.schedules import lr_at

# the synthetic classes are per-pixel patterns that translation destroys: no augmentation here
TINY = ["--widths", "8,16,16", "--epochs", "3", "--batch-size", "50", "--eval-every", "3", "--warmup-steps", "2",
        "--train-eval-size", "0", "--no-augment", "--lr", "1.0", "--quiet"]


def test_whitening_makes_patch_channels_uncorrelated_with_unit_variance():
    torch.manual_seed(0)
    mixing = torch.randn(3, 3)
    images = torch.einsum("ij,bjhw->bihw", mixing, torch.randn(64, 3, 32, 32)).cumsum(-1)  # correlated, smooth
    model = FastNet(widths=(8, 8, 8))
    model.init_whitening(images)
    out = torch.nn.functional.conv2d(images, model.whiten.weight[:12])  # the 12 positive filters, no bias
    flat = out.permute(1, 0, 2, 3).reshape(12, -1).double()
    covariance = torch.cov(flat)
    torch.testing.assert_close(covariance, torch.eye(12, dtype=torch.float64), atol=0.02, rtol=0.02)
    assert bool(model.whitened) and not model.whiten.weight.requires_grad


def test_fastnet_maps_images_to_logits():
    assert FastNet()(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_linear_schedule_warms_up_then_decays_to_zero():
    values = [lr_at(step, 1.0, 10, "linear", warmup_steps=2) for step in range(10)]
    assert values[:2] == [0.5, 1.0] and values[2] == 1.0 and values[-1] == pytest.approx(1 / 8)
    assert all(a >= b for a, b in zip(values[1:], values[2:]))


def test_fastnet_trains_for_an_epoch_budget_and_evaluates_exactly(learnable_folder, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "fastnet", "--data", str(learnable_folder), "--out", str(run), *TINY]) == 0
    config = json.loads((run / "config.json").read_text())["config"]
    assert config["steps"] == 3 * (300 // 50)  # 3 epochs of 6 steps
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["step"] == 18 and metrics["test_accuracy"] > 0.3
    capsys.readouterr()
    assert main(["evaluate", str(run)]) == 0
    assert "reproduced exactly" in capsys.readouterr().out


def test_a_run_with_a_tta_fraction_is_re_evaluated_exactly(learnable_folder, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "fastnet", "--data", str(learnable_folder), "--out", str(run), *TINY,
                 "--tta-fraction", "0.5"]) == 0
    assert json.loads((run / "config.json").read_text())["config"]["tta_fraction"] == 0.5
    capsys.readouterr()
    assert main(["evaluate", str(run)]) == 0
    assert "reproduced exactly" in capsys.readouterr().out


def test_target_accuracy_stops_the_run(learnable_folder, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "fastnet", "--data", str(learnable_folder), "--out", str(run), *TINY,
                 "--epochs", "20", "--target-acc", "0.3"]) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["stopped_at"] < 120 and metrics["test_accuracy"] >= 0.3


def test_bad_widths_are_rejected(capsys):
    assert main(["train", "fastnet", "--widths", "8,16"]) == 2
    assert "three block widths" in capsys.readouterr().err


@pytest.mark.parametrize("bad, message", [(["--small-crop", "12"], "16 to 32 pixels"),
                                          (["--small-crop", "40"], "16 to 32 pixels"),
                                          (["--small-crop-epochs", "2"], "needs --small-crop SIZE"),
                                          (["--small-crop-growth"], "needs --small-crop SIZE"),
                                          (["--small-crop", "24", "--small-crop-epochs", "-1"], "must not be negative"),
                                          (["--small-crop", "24", "--no-augment"], "drop --no-augment"),
                                          (["--tta-fraction", "0"], "must be in (0, 1]"),
                                          (["--tta-fraction", "1.5"], "must be in (0, 1]"),
                                          (["--brightness", "-0.1"], "--brightness must not be negative"),
                                          (["--contrast", "1"], "--contrast must be in [0, 1)"),
                                          (["--brightness", "0.1", "--no-augment"], "drop --no-augment"),
                                          (["--skip-easiest", "1"], "--skip-easiest must be in [0, 1)"),
                                          (["--skip-from-epoch", "-1"], "--skip-from-epoch must not be negative")])
def test_bad_fastnet_options_are_one_line_errors(capsys, bad, message):
    assert main(["train", "fastnet", *bad]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_bf16_autocast_trains_on_cpu_and_fp16_asks_for_cuda(learnable_folder, tmp_path, capsys):
    run = tmp_path / "run"
    # bf16 is emulated (slow) on a CPU without it: no test-time augmentation, a sample of the training set
    assert main(["train", "fastnet", "--data", str(learnable_folder), "--out", str(run), *TINY,
                 "--precision", "bf16", "--no-tta", "--train-eval-size", "50"]) == 0
    assert json.loads((run / "metrics.json").read_text())["test_accuracy"] > 0.3
    capsys.readouterr()
    assert main(["train", "fastnet", "--data", str(learnable_folder), "--out", str(tmp_path / "r2"), *TINY,
                 "--precision", "fp16", "--device", "cpu"]) == 2
    assert "fp16 needs CUDA" in capsys.readouterr().err


def test_presets_are_offered_and_explicit_options_win(learnable_folder, tmp_path):
    run = tmp_path / "run"
    # --epochs 2 after TINY's 3: the preset's own value is 3, so only a value other than it shows who wins
    assert main(["train", "fastnet", "--preset", "cpu85", "--data", str(learnable_folder), "--out", str(run),
                 *TINY, "--epochs", "2"]) == 0
    record = json.loads((run / "config.json").read_text())
    config = record["config"]
    # the preset's own values (none of them fastnet's defaults) ...
    assert config["optimizer"] == "muon" and config["muon_lr"] == 0.12 and config["tta_fraction"] == 0.3
    assert config["micro_batch_size"] == 250 and config["flip"] == "alternate"
    assert record["runtime"]["precision"] == ("bf16" if native_bf16() else "fp32")  # the preset's auto, resolved
    # ... and the options given, which win over it (cpu85: widths 32,128,128, batch 500, 3 epochs, lr 0.7,
    # eval-every 0)
    assert config["widths"] == [8, 16, 16] and config["batch_size"] == 50 and config["epochs"] == 2.0
    assert config["lr"] == 1.0
    assert config["eval_every"] == 3


def test_a_renamed_preset_names_its_new_name(capsys):
    assert main(["train", "fastnet", "--preset", "cpu-peer-silu", "--steps", "1"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "cifarlab: error: preset 'cpu-peer-silu' of fastnet was renamed 'cpu-peer': use --preset cpu-peer"]


def flags_of_retired_preset(retired: str, tmp_path, capsys) -> list[str]:
    """The options the one-line answer to `--preset RETIRED` gives, checked to resolve to its recipe."""
    from cifarlab.training.fastnet.config import RETIRED_PRESETS
    from cifarlab.training.resolve import resolve

    assert main(["train", "fastnet", "--preset", retired, "--steps", "1"]) == 2
    message = capsys.readouterr().err.strip()
    assert "\n" not in message and "was retired; the same recipe is --preset" in message
    flags = message.split("the same recipe is ")[1].split()
    assert main(["train", "fastnet", *flags, "--print-config"]) == 0
    printed = tmp_path / "printed.toml"
    printed.write_text(capsys.readouterr().out)
    assert resolve("fastnet", config_file=printed) == resolve("fastnet", options=RETIRED_PRESETS[retired])
    return flags


def test_a_run_made_with_a_retired_presets_flags_evaluates(learnable_folder, tmp_path, capsys):
    flags = flags_of_retired_preset("cpu90", tmp_path, capsys)
    # a run made with it names no preset: it evaluates (and resumes) from its own config.json
    run = tmp_path / "run"
    tiny = [option for option in TINY if option != "--no-augment"]  # its small windows are augmentation
    assert main(["train", "fastnet", *flags, "--data", str(learnable_folder), "--out", str(run), *tiny,
                 "--small-crop-epochs", "1", "--no-pictures"]) == 0
    assert "preset" not in json.loads((run / "config.json").read_text())["config"]
    assert main(["evaluate", str(run)]) == 0
