"""Every run works with every command: the recipe is saved, the runtime is chosen where a
command runs, checks come before the run directory, and messages say what is really there."""

import json

import pytest

from cifarlab.cli.main import main

MLP = ["--pipeline", "standardize", "--hidden", "32", "--steps", "20", "--batch-size", "20", "--eval-every", "10", "--lr", "3e-3",
       "--train-eval-size", "0", "--quiet", "--no-pictures"]
FASTNET = ["--widths", "8,16,16", "--batch-size", "50", "--eval-every", "3", "--warmup-steps", "2",
           "--train-eval-size", "0", "--no-augment", "--lr", "1.0", "--quiet", "--no-pictures"]


def train(model, folder, out, *options):
    return main(["train", model, "--data", str(folder), "--out", str(out), *options])


@pytest.fixture
def mlp_run(learnable_folder, tmp_path):
    assert train("mlp", learnable_folder, tmp_path / "run", *MLP) == 0
    return tmp_path / "run"


def test_the_runtime_is_saved_apart_from_the_recipe(mlp_run):
    import torch

    record = json.loads((mlp_run / "config.json").read_text())
    device = "cuda" if torch.cuda.is_available() else "cpu"  # "auto", resolved where the run trained
    assert record["runtime"] == {"device": device, "threads": 0, "distributed": False, "precision": "fp32",
                                 "compile": False, "reuse_memory": True}
    assert not {"device", "threads", "distributed", "precision", "compile", "reuse_memory"} & set(record["config"])


def test_a_run_trained_on_cuda_is_evaluated_and_used_on_a_cpu(mlp_run, learnable_folder, capsys):
    record = json.loads((mlp_run / "config.json").read_text())
    record["runtime"]["device"] = "cuda"  # as a GPU machine writes it
    (mlp_run / "config.json").write_text(json.dumps(record))
    capsys.readouterr()
    assert main(["evaluate", str(mlp_run), "--device", "cpu", "--threads", "1"]) == 0
    out = capsys.readouterr().out
    assert "re-evaluated on cpu fp32" in out and "reproduced exactly" in out
    image = learnable_folder / "test" / "ship" / "0001.png"
    assert main(["predict", str(mlp_run), str(image), "--device", "cpu"]) == 0
    assert capsys.readouterr().out.count("%") == 3


def test_a_run_saved_with_the_runtime_in_its_config_still_loads(mlp_run, capsys):
    """Runs written before the split kept device, precision, ... among the config's fields."""
    record = json.loads((mlp_run / "config.json").read_text())
    record["config"].update(record.pop("runtime"), device="cuda", distributed=True)
    (mlp_run / "config.json").write_text(json.dumps(record))
    capsys.readouterr()
    assert main(["evaluate", str(mlp_run), "--device", "cpu"]) == 0
    assert "reproduced exactly" in capsys.readouterr().out


def test_evaluate_fails_when_the_metrics_differ(mlp_run, capsys):
    metrics = json.loads((mlp_run / "metrics.json").read_text())
    metrics["test_accuracy"] = metrics["test_accuracy"] - 0.25
    (mlp_run / "metrics.json").write_text(json.dumps(metrics))
    capsys.readouterr()
    assert main(["evaluate", str(mlp_run)]) == 1
    assert "DIFFERS" in capsys.readouterr().out


def test_evaluate_on_cuda_without_cuda_is_a_clear_error(mlp_run, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert main(["evaluate", str(mlp_run), "--device", "cuda"]) == 2
    assert "no CUDA device" in capsys.readouterr().err


def test_an_existing_file_as_out_is_a_clear_error(learnable_folder, tmp_path, capsys):
    occupied = tmp_path / "notes.txt"
    occupied.write_text("mine")
    assert train("numpy-mlp", learnable_folder, occupied, *MLP) == 2
    err = capsys.readouterr().err
    assert "is a file, not a run directory" in err and "Traceback" not in err
    assert occupied.read_text() == "mine"


def test_a_batch_larger_than_the_training_set_leaves_no_run_directory(learnable_folder, tmp_path, capsys):
    assert train("numpy-mlp", learnable_folder, tmp_path / "run", *MLP, "--batch-size", "5000") == 2
    assert "between 1 and the training set size 300" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_a_run_diverging_before_its_first_checkpoint_says_so_and_leaves_nothing(learnable_folder, tmp_path, capsys):
    assert train("numpy-mlp", learnable_folder, tmp_path / "run", *MLP, "--lr", "1e30") == 2
    err = capsys.readouterr().err
    assert "before the first evaluation" in err and "no checkpoint" in err and "(step 0)" not in err
    assert "removed" in err and not (tmp_path / "run").exists()


def test_fastnet_prints_its_resolved_steps(learnable_folder, tmp_path, capsys):
    assert train("fastnet", learnable_folder, tmp_path / "run", *FASTNET, "--epochs", "2") == 0
    printed = json.loads(capsys.readouterr().out.splitlines()[0].split(": ", 1)[1].split(" runtime ")[0])
    assert printed["steps"] == 2 * (300 // 50) and printed["epochs"] == 2


def test_an_explicit_step_budget_is_kept(learnable_folder, tmp_path):
    assert train("fastnet", learnable_folder, tmp_path / "run", *FASTNET, "--steps", "5") == 0
    config = json.loads((tmp_path / "run" / "config.json").read_text())["config"]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert config["steps"] == 5 and config["epochs"] == 0 and metrics["step"] == 5


def test_steps_and_epochs_together_are_refused(learnable_folder, tmp_path, capsys):
    assert train("fastnet", learnable_folder, tmp_path / "run", *FASTNET, "--steps", "5", "--epochs", "2") == 2
    assert "not both" in capsys.readouterr().err


def test_every_model_takes_an_epoch_budget(learnable_folder, tmp_path):
    at = MLP.index("--steps")
    without_steps = MLP[:at] + MLP[at + 2:]
    assert train("numpy-mlp", learnable_folder, tmp_path / "run", *without_steps, "--epochs", "2") == 0
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["step"] == 2 * (300 // 20)


def test_evaluating_only_at_the_end_is_explicit(learnable_folder, tmp_path):
    assert train("numpy-mlp", learnable_folder, tmp_path / "run", *MLP, "--eval-every", "0") == 0
    assert json.loads((tmp_path / "run" / "history.json").read_text())["step"] == [20]


@pytest.mark.parametrize("option", [["--target-acc", "0.5"], ["--early-stop", "2"]])
def test_end_only_evaluation_refuses_options_that_act_at_evaluations(learnable_folder, tmp_path, capsys, option):
    assert train("numpy-mlp", learnable_folder, tmp_path / "run", *MLP, "--eval-every", "0", *option) == 2
    assert "evaluates only at the end" in capsys.readouterr().err


def test_the_course_pipeline_survives_save_evaluate_and_predict(learnable_folder, tmp_path, capsys):
    import numpy as np

    from cifarlab.data.preprocess import mean_image
    from cifarlab.data.store import load_cifar10

    run = tmp_path / "run"
    assert train("mlp", learnable_folder, run, *MLP, "--pipeline", "course", "--lr", "1e-4") == 0
    record = json.loads((run / "config.json").read_text())
    assert record["config"]["pipeline"] == "course" and record["normalization"]["pipeline"] == "course"
    np.testing.assert_array_equal(np.load(run / record["normalization"]["mean_image"]),
                                  mean_image(load_cifar10(str(learnable_folder)).train_images))
    capsys.readouterr()
    assert main(["evaluate", str(run)]) == 0
    assert "reproduced exactly" in capsys.readouterr().out
    # predict prepares a training image as training did: the saved model's confident answer holds
    image = learnable_folder / "train" / "horse" / "0003.png"
    assert main(["predict", str(run), str(image)]) == 0
    assert capsys.readouterr().out.split(": ", 1)[1].startswith("horse")


def test_the_course_init_has_std_1e_4():
    from cifarlab.numpy_nn import build_mlp

    weights = build_mlp(3072, (100,), 10, seed=0, init="course").parameters()
    first = weights["0.weight"]
    # 307,200 draws: the sample std is within 0.5 % of 1e-4 with overwhelming probability
    assert first.std() == pytest.approx(1e-4, rel=0.005) and abs(first.mean()) < 1e-6
    assert not weights["0.bias"].any() and weights["2.weight"].std() == pytest.approx(1e-4, rel=0.05)


@pytest.mark.parametrize("model, pipeline", [("numpy-mlp", "course"), ("mlp", "course"), ("fastnet", "standardize")])
def test_the_study_models_prepare_their_inputs_the_course_way(learnable_folder, tmp_path, model, pipeline):
    """By default the study's models subtract the training set's per-pixel mean image from the
    raw 0-255 pixels and nothing else (fastnet standardises per channel)."""
    import numpy as np

    from cifarlab.data.store import load_cifar10

    budget = ["--steps", "2", "--batch-size", "50", "--eval-every", "0", "--quiet", "--no-pictures"]
    narrow = ["--widths", "8,16,16"] if model == "fastnet" else []  # the default widths only cost time here
    assert train(model, learnable_folder, tmp_path / "run", *budget, *narrow) == 0
    record = json.loads((tmp_path / "run" / "config.json").read_text())
    assert record["normalization"]["pipeline"] == pipeline
    if pipeline == "course":
        images = load_cifar10(str(learnable_folder), progress=False).train_images
        mean_image = np.load(tmp_path / "run" / "mean_image.npy")
        np.testing.assert_allclose(mean_image, images.astype(np.float64).mean(axis=0), rtol=1e-5)
    else:
        assert not (tmp_path / "run" / "mean_image.npy").exists() and len(record["normalization"]["std"]) == 3


def test_options_reach_the_model(learnable_folder, tmp_path):
    from cifarlab.inference.reload import reload_learner
    from cifarlab.torch_nn.batchnorm import BatchNormFunctional

    assert train("mlp", learnable_folder, tmp_path / "run", *MLP, "--hidden", "24,12", "--batch-norm", "function",
                 "--dropout", "0.3", "--activation", "relu") == 0
    _, _, _, learner, _ = reload_learner(tmp_path / "run", "cpu")
    layers = list(learner.model.net)
    kinds = [type(m).__name__ for m in layers]
    assert kinds == ["Linear", "BatchNormFunctional", "ReLU", "Dropout"] * 2 + ["Linear"]
    assert [m.out_features for m in layers if type(m).__name__ == "Linear"] == [24, 12, 10]
    assert isinstance(layers[1], BatchNormFunctional) and layers[3].p == 0.3


def test_resume_refuses_a_changed_recipe_but_takes_a_runtime(mlp_run, capsys):
    assert main(["train", "mlp", "--resume", str(mlp_run), "--lr", "0.1"]) == 2
    assert "--lr cannot change a run being resumed" in capsys.readouterr().err


def test_a_killed_run_resumes_with_another_thread_count_to_the_same_result(learnable_folder, tmp_path,
                                                                          kill_after_evaluations):
    """The runtime is chosen again on resuming; the recipe, and so the result, are the run's."""
    import numpy as np

    assert train("mlp", learnable_folder, tmp_path / "whole", *MLP, "--dropout", "0.2") == 0
    arm, disarm = kill_after_evaluations
    arm(2)  # dies after the step-20 curves, before its checkpoint: resumes from step 10
    assert train("mlp", learnable_folder, tmp_path / "killed", *MLP, "--dropout", "0.2") == 130
    disarm()
    assert main(["train", "mlp", "--resume", str(tmp_path / "killed"), "--threads", "1", "--device", "cpu",
                 "--quiet", "--no-pictures"]) == 0
    for name in ("test_loss.npy", "train_accuracy.npy"):
        np.testing.assert_allclose(np.load(tmp_path / "whole" / name), np.load(tmp_path / "killed" / name), rtol=1e-5)
    assert json.loads((tmp_path / "killed" / "metrics.json").read_text())["step"] == 20
