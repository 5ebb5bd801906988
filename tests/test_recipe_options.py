"""Recipe options that change what a run computes: schedules, AdamW, label smoothing, dropout
seeds, a validation hold-out; and the runtime's guards (compile, fp16 on reload, evaluate's
tolerance across devices)."""

import json
import math

import numpy as np
import pytest
import torch

from cifarlab.cli.main import main
from cifarlab.errors import CifarlabError
from cifarlab.inference.reload import compare_with_saved
from cifarlab.training.registry import DataShape, get_model
from cifarlab.training.resolve import resolve
from cifarlab.training.runtime import Runtime, for_reloading
from cifarlab.training.schedules import lr_at
from cifarlab.training.torch_learner import check_compile

MLP = ["--pipeline", "standardize", "--hidden", "32", "--steps", "20", "--batch-size", "20", "--eval-every", "10",
       "--lr", "3e-3", "--train-eval-size", "0", "--quiet", "--no-pictures"]


def learner(model: str, **options):
    cfg, runtime = resolve(model, {"device": "cpu", **options})
    return get_model(model).make_learner(cfg, DataShape(10, 100), runtime)


def train(model, folder, out, *options):
    return main(["train", model, "--data", str(folder), "--out", str(out), *options])


def test_cosine_schedule_falls_from_the_peak_to_zero_after_warm_up():
    rates = [lr_at(step, 1.0, 110, "cosine", warmup_steps=10) for step in range(110)]
    assert rates[:10] == pytest.approx([(s + 1) / 10 for s in range(10)])
    assert rates[10] == 1.0 and rates[60] == pytest.approx(0.5) and rates[-1] == pytest.approx(
        0.5 * (1 + math.cos(math.pi * 99 / 100)))
    assert all(a >= b for a, b in zip(rates[10:], rates[11:]))


def test_step_schedule_divides_by_ten_at_half_and_three_quarters():
    rates = [lr_at(step, 1.0, 100, "step") for step in range(100)]
    assert rates[49] == 1.0 and rates[50] == pytest.approx(0.1) and rates[74] == pytest.approx(0.1)
    assert rates[75] == pytest.approx(0.01) and rates[99] == pytest.approx(0.01)


def test_adamw_decays_the_weights_apart_from_the_gradient():
    adam, adamw = learner("mlp", optimizer="adam", weight_decay=0.1), learner("mlp", optimizer="adamw",
                                                                              weight_decay=0.1)
    assert type(adamw.optimizer) is torch.optim.AdamW and type(adam.optimizer) is torch.optim.Adam
    assert adamw.optimizer.param_groups[0]["weight_decay"] == 0.1
    x, y = np.random.default_rng(0).normal(size=(200, 3, 32, 32)).astype(np.float32), np.arange(200) % 10
    adam.train_step(x, y, 1e-3), adamw.train_step(x, y, 1e-3)
    moved = [(a - b).abs().max() for a, b in zip(adam.model.parameters(), adamw.model.parameters())]
    assert max(moved) > 0  # the same start (seed), different updates


def test_label_smoothing_mixes_the_target_with_a_uniform_distribution():
    logits, targets = torch.randn(6, 10), torch.arange(6)
    smoothed = learner("fastnet", label_smoothing=0.2).loss(logits, targets)
    log_p = torch.log_softmax(logits, dim=1)
    expected = (0.8 * -log_p[torch.arange(6), targets] + 0.2 * -log_p.mean(dim=1)).mean()
    torch.testing.assert_close(smoothed, expected)
    plain = learner("fastnet", label_smoothing=0.0).loss(logits, targets)
    torch.testing.assert_close(plain, torch.nn.functional.cross_entropy(logits, targets))


def test_dropout_masks_follow_the_seed(learnable_folder, tmp_path):
    for name, seed in (("a", "1"), ("b", "1"), ("c", "2")):
        assert train("mlp", learnable_folder, tmp_path / name, *MLP, "--dropout", "0.5", "--seed", seed) == 0
    losses = {name: np.load(tmp_path / name / "train_loss.npy") for name in "abc"}
    np.testing.assert_array_equal(losses["a"], losses["b"])
    assert not np.array_equal(losses["a"], losses["c"])


def test_numpy_dropout_masks_follow_the_seed(learnable_folder, tmp_path):
    options = ["--hidden", "32", "--steps", "20", "--batch-size", "20", "--eval-every", "10", "--quiet", "--no-pictures",
               "--dropout", "0.5", "--pipeline", "standardize", "--init", "he", "--lr", "0.05"]
    for name, seed in (("a", "1"), ("b", "1"), ("c", "2")):
        assert train("numpy-mlp", learnable_folder, tmp_path / name, *options, "--seed", seed) == 0
    losses = {name: np.load(tmp_path / name / "train_loss.npy") for name in "abc"}
    np.testing.assert_array_equal(losses["a"], losses["b"])
    assert not np.array_equal(losses["a"], losses["c"])


def test_a_validation_hold_out_is_measured_and_kept_out_of_training(learnable_folder, tmp_path, capsys):
    assert train("mlp", learnable_folder, tmp_path / "run", *MLP, "--val-size", "60") == 0
    record = json.loads((tmp_path / "run" / "config.json").read_text())
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert record["train_size"] == 300 - 60  # the learnable set has 300 training images
    assert len(history["val_accuracy"]) == 2 and metrics["val_accuracy"] == history["val_accuracy"][-1]
    assert "val" in capsys.readouterr().out


def test_compile_is_refused_under_autocast_on_cuda_only():
    with pytest.raises(CifarlabError, match="--compile with bf16/fp16"):
        check_compile(Runtime(compile=True), "cuda", torch.bfloat16)
    check_compile(Runtime(compile=True), "cuda", None)  # fp32: allowed
    check_compile(Runtime(compile=True), "cpu", torch.bfloat16)  # the CPU: allowed


def test_an_fp16_run_reloads_in_fp32_where_there_is_no_cuda():
    assert for_reloading(Runtime(precision="fp16"), device="cpu").precision == "fp32"
    assert for_reloading(Runtime(precision="bf16"), device="cpu").precision == "bf16"


def test_evaluate_allows_rounding_differences_on_another_device_only():
    saved = {"test_accuracy": 0.8000}
    assert compare_with_saved(saved, {"test_accuracy": 0.8000}, "cpu fp32", "cpu fp32")[0]
    assert not compare_with_saved(saved, {"test_accuracy": 0.8001}, "cpu fp32", "cpu fp32")[0]
    assert compare_with_saved(saved, {"test_accuracy": 0.8040}, "cuda bf16", "cpu bf16")[0]
    assert not compare_with_saved(saved, {"test_accuracy": 0.8060}, "cuda bf16", "cpu bf16")[0]


X86_WITH_BF16 = "flags\t\t: fpu sse2 avx2 avx512f avx512_bf16 amx_tile\n"
X86_WITHOUT = "flags\t\t: fpu sse2 avx2 avx512f avx512bw\n"
ARM_WITH_BF16 = "Features\t: fp asimd sve bf16 i8mm\n"


def test_native_bf16_is_read_from_the_cpus_flags():
    from cifarlab.training.runtime import cpu_has_native_bf16

    assert cpu_has_native_bf16(X86_WITH_BF16, "x86_64") and cpu_has_native_bf16("flags : amx_bf16", "x86_64")
    assert not cpu_has_native_bf16(X86_WITHOUT, "x86_64")
    assert cpu_has_native_bf16(ARM_WITH_BF16, "aarch64") and not cpu_has_native_bf16("Features : fp asimd", "aarch64")


def test_the_cpu_is_named_with_its_family_and_model(monkeypatch):
    from cifarlab.training import runtime

    xeon = "processor\t: 0\ncpu family\t: 6\nmodel\t\t: 167\nmodel name\t: Intel(R) Xeon(R) Processor\n"
    monkeypatch.setattr(runtime, "cpuinfo", lambda: xeon)
    assert runtime.cpu_model_and_generation() == "Intel(R) Xeon(R) Processor (family 6, model 167)"


def test_class_constants_of_a_config_are_not_options():
    from cifarlab.training.resolve import coerce_option, option_types

    assert "BEFORE_FIELD" not in option_types("fastnet") and "muon_lr" in option_types("fastnet")
    with pytest.raises(CifarlabError, match="unknown option 'BEFORE_FIELD'"):
        coerce_option("fastnet", "BEFORE_FIELD", {})


@pytest.mark.parametrize("native, chosen", [(True, "bf16"), (False, "fp32")])
def test_precision_auto_on_a_cpu_is_bf16_only_where_it_is_native(learnable_folder, tmp_path, monkeypatch, capsys,
                                                                 native, chosen):
    from cifarlab.training import runtime

    monkeypatch.setattr(runtime, "native_bf16", lambda: native)
    run = tmp_path / "run"
    assert main(["train", "fastnet", "--data", str(learnable_folder), "--out", str(run), "--widths", "8,8,8",
                 "--steps", "2", "--batch-size", "50", "--eval-every", "0", "--precision", "auto", "--device", "cpu",
                 "--no-tta", "--train-eval-size", "50", "--quiet", "--no-pictures"]) == 0  # bf16 may be emulated: keep it short
    assert f"precision auto: {chosen} on this cpu" in capsys.readouterr().out
    assert json.loads((run / "config.json").read_text())["runtime"]["precision"] == chosen  # what it chose
    assert resolve("fastnet", preset="cpu85").runtime.precision == "auto"  # the CPU presets ask for auto


def test_a_run_saved_with_precision_auto_reloads_as_it_trained(learnable_folder, tmp_path, monkeypatch, capsys):
    """Before runs recorded their choice, auto meant fp32 on any CPU: such a run still reproduces
    exactly, in fp32, on a CPU with native bf16."""
    from cifarlab.training import runtime

    run = tmp_path / "run"
    assert main(["train", "mlp", "--data", str(learnable_folder), "--out", str(run), *MLP, "--device", "cpu"]) == 0
    record = json.loads((run / "config.json").read_text())
    record["runtime"]["precision"] = "auto"  # as such a run's config.json says
    (run / "config.json").write_text(json.dumps(record))
    monkeypatch.setattr(runtime, "native_bf16", lambda: True)
    capsys.readouterr()
    assert main(["evaluate", str(run), "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "re-evaluated on cpu fp32" in out and "reproduced exactly" in out
