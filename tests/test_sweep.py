"""Sweeps on Optuna with SQLite: experiment files, tables, pruning, resume after a kill."""

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from cifarlab.cli.main import main
from cifarlab.errors import CifarlabError
from cifarlab.sweep.experiment import load_experiment
from cifarlab.sweep.storage_url import default_storage

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"


def write_grid(path, name, points, pruner="none", steps=20, model="numpy-mlp"):
    lines = [f'[experiment]\nname = "{name}"\nmodel = "{model}"\nsampler = "grid"\npruner = "{pruner}"\n',
             f"[fixed]\nsteps = {steps}\nbatch_size = 20\neval_every = 10\ntrain_eval_size = 0\nhidden = \"16\"\n"
             'pipeline = "standardize"\ninit = "he"\n']
    for point in points:
        lines.append("[[points]]\n" + "".join(f"{k} = {v}\n" for k, v in point.items()))
    path.write_text("\n".join(lines))
    return path


def load(sweep_dir, name):
    return optuna.load_study(study_name=name, storage=default_storage(sweep_dir, name))


@pytest.mark.parametrize("name", ["study-figure2", "mlp-grid", "mlp-tpe"])
def test_shipped_experiments_parse(name):
    experiment = load_experiment(EXPERIMENTS / f"{name}.toml")
    assert experiment.name == name and experiment.model == "mlp"


def test_study_table_has_18_distinct_configurations():
    experiment = load_experiment(EXPERIMENTS / "study-figure2.toml")
    assert len(experiment.points) == 18
    assert len({tuple(sorted(p.items())) for p in experiment.points}) == 18
    assert {"hidden": (500, 500, 500), "neg_slope": 0.02, "lr": 3e-3, "batch_size": 250} in experiment.points


def test_grid_section_expands_to_the_product():
    assert len(load_experiment(EXPERIMENTS / "mlp-grid.toml").points) == 16


@pytest.mark.parametrize("text, message", [
    ('[experiment]\nname="x"\nmodel="mlp"\nsampler="annealing"', "sampler must be one of"),
    ('[experiment]\nname="x"\nmodel="mlp"\nsampler="grid"\n[fixed]\nlearning_rate=1', "unknown option 'learning_rate'"),
    ('[experiment]\nname="x"\nmodel="mlp"\nsampler="grid"', "needs [[points]] or [grid]"),
    ('[experiment]\nname="x"\nmodel="mlp"\nsampler="tpe"\ntrials=3', "needs a [space]"),
    ('[experiment]\nmodel="mlp"', "needs a 'name'"),
    ('not toml at all [', "not valid TOML"),
])
def test_bad_experiment_files_are_explained(tmp_path, text, message):
    (tmp_path / "e.toml").write_text(text)
    with pytest.raises(CifarlabError, match=message.replace("[", r"\[").replace("(", r"\(")):
        load_experiment(tmp_path / "e.toml")


def test_grid_sweep_runs_every_point_and_writes_the_table(learnable_folder, tmp_path, capsys):
    points = [{"lr": 0.05}, {"lr": 0.01}, {"lr": 0.001}]
    exp = write_grid(tmp_path / "g.toml", "tiny-grid", points)
    sweep_dir = tmp_path / "sweeps"
    assert main(["sweep", str(exp), "--data", str(learnable_folder), "--sweep-dir", str(sweep_dir)]) == 0
    study = load(sweep_dir, "tiny-grid")
    complete = study.get_trials(states=(TrialState.COMPLETE,))
    assert sorted(t.user_attrs["options"]["lr"] for t in complete) == [0.001, 0.01, 0.05]
    rows = list(csv.DictReader((sweep_dir / "tiny-grid.csv").open()))
    assert len(rows) == 3 and [r["state"] for r in rows] == ["COMPLETE"] * 3
    accuracies = [float(r["test_accuracy"]) for r in rows]
    assert accuracies == sorted(accuracies, reverse=True)
    assert all((Path(t.user_attrs["run_dir"]) / "metrics.json").exists() for t in complete)
    out = capsys.readouterr().out
    assert "| trial | state | lr | test_accuracy" in out


def test_results_command_reprints_the_table(learnable_folder, tmp_path, capsys):
    exp = write_grid(tmp_path / "g.toml", "again", [{"lr": 0.05}, {"lr": 0.02}])
    sweep_dir = tmp_path / "sweeps"
    main(["sweep", "run", str(exp), "--data", str(learnable_folder), "--sweep-dir", str(sweep_dir)])
    capsys.readouterr()
    assert main(["sweep", "results", "again", "--sweep-dir", str(sweep_dir)]) == 0
    assert capsys.readouterr().out.count("| COMPLETE |") == 2


def test_unknown_study_is_a_clear_error(tmp_path, capsys):
    assert main(["sweep", "results", "nope", "--sweep-dir", str(tmp_path)]) == 2
    assert "no study 'nope'" in capsys.readouterr().err


def test_bad_data_path_fails_before_any_trial(tmp_path, capsys):
    exp = write_grid(tmp_path / "g.toml", "nodata", [{"lr": 0.05}])
    assert main(["sweep", str(exp), "--data", str(tmp_path / "missing"), "--sweep-dir", str(tmp_path / "s")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "s" / "nodata.db").exists()


def test_bad_storage_url_is_a_one_line_error(tmp_path, capsys):
    assert main(["sweep", "results", "x", "--storage", "nonsense://nowhere"]) == 2
    err = capsys.readouterr().err
    assert "cannot open sweep storage nonsense://nowhere" in err and "Traceback" not in err


def test_an_invalid_grid_point_is_a_one_line_error_before_any_trial(learnable_folder, tmp_path, capsys):
    exp = write_grid(tmp_path / "g.toml", "invalid", [{"lr": 0.05}, {"nesterov": "true", "momentum": 0.0}])
    sweep_dir = tmp_path / "s"
    assert main(["sweep", str(exp), "--data", str(learnable_folder), "--sweep-dir", str(sweep_dir)]) == 2
    err = capsys.readouterr().err
    assert "point 2" in err and "--nesterov needs" in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (sweep_dir / "invalid").exists()


def test_a_programming_error_in_the_storage_keeps_its_traceback(tmp_path, monkeypatch):
    from cifarlab.sweep import runner

    def broken(*args, **kwargs):
        raise KeyError("a bug, not a user mistake")

    monkeypatch.setattr(runner, "PatientRDBStorage", broken)
    open_storage = runner.open_storage
    with pytest.raises(KeyError):
        open_storage(default_storage(tmp_path, "x"), heartbeat=None)


def test_a_torch_experiment_may_set_the_runtime(tmp_path):
    (tmp_path / "e.toml").write_text('[experiment]\nname="x"\nmodel="mlp"\nsampler="grid"\n'
                                     '[fixed]\ndevice="cpu"\nthreads=1\n[[points]]\nlr=0.1\n')
    from cifarlab.training.resolve import resolve

    experiment = load_experiment(tmp_path / "e.toml")
    cfg, runtime = resolve("mlp", {**experiment.fixed, **experiment.points[0]})
    assert cfg.lr == 0.1 and runtime.device == "cpu" and runtime.threads == 1


def test_median_pruner_stops_a_trial_that_lags(learnable_folder, tmp_path):
    # two good trials first, then one whose lr is too small to learn: below the median at its first report
    points = [{"lr": 0.05}, {"lr": 0.05, "seed": 2}, {"lr": 1e-7}]
    exp = write_grid(tmp_path / "p.toml", "pruned", points, pruner="median", steps=60)
    main(["sweep", str(exp), "--data", str(learnable_folder), "--sweep-dir", str(tmp_path / "s")])
    study = load(tmp_path / "s", "pruned")
    states = {t.user_attrs["options"]["lr"]: t.state for t in study.get_trials()}
    assert states[1e-7] == TrialState.PRUNED and states[0.05] == TrialState.COMPLETE
    lagging = [t for t in study.get_trials() if t.user_attrs["options"]["lr"] == 1e-7][0]
    assert max(lagging.intermediate_values) < 60  # stopped before the last evaluation


def test_a_killed_worker_is_resumed_and_no_trial_is_lost(learnable_folder, tmp_path):
    points = [{"lr": 0.05, "steps": 40000}, {"lr": 0.02}, {"lr": 0.01}]  # the first trial is slow
    exp = write_grid(tmp_path / "k.toml", "killed", points)
    sweep_dir = tmp_path / "sweeps"
    command = [sys.executable, "-m", "cifarlab", "sweep", str(exp), "--data", str(learnable_folder),
               "--sweep-dir", str(sweep_dir), "--heartbeat", "1"]
    worker = subprocess.Popen(command, env={**os.environ}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # wait until the slow trial has started training
            if (sweep_dir / "killed" / "trial-0000" / "config.json").exists():
                break
            time.sleep(0.2)
        else:
            pytest.fail("the worker never started its first trial")
        worker.send_signal(signal.SIGKILL)
    finally:
        worker.wait()
    assert load(sweep_dir, "killed").get_trials()[0].state == TrialState.RUNNING
    time.sleep(2.5)  # past the grace period of 2 heartbeats
    small = exp.read_text().replace("steps = 40000", "steps = 20")  # finish the retried point quickly
    exp.write_text(small)
    assert main(["sweep", str(exp), "--data", str(learnable_folder), "--sweep-dir", str(sweep_dir),
                 "--heartbeat", "1"]) == 0
    trials = load(sweep_dir, "killed").get_trials()
    assert trials[0].state == TrialState.FAIL
    completed = [t.user_attrs["point"] for t in trials if t.state == TrialState.COMPLETE]
    assert sorted(completed) == [0, 1, 2]


@pytest.mark.parametrize("through", ["--storage", "CIFARLAB_STORAGE"])
def test_an_unreachable_storage_is_named_without_its_password(learnable_folder, tmp_path, monkeypatch, capsys, through):
    secret = "S3cret-Pw-4711"
    url = f"postgresql+psycopg2://alice:{secret}@127.0.0.1:1/cifarlab"
    exp = write_grid(tmp_path / "e.toml", "unreachable", [{"lr": 0.05}])
    arguments = ["sweep", str(exp), "--data", str(learnable_folder), "--sweep-dir", str(tmp_path / "s"),
                 "--db-patience", "0"]
    if through == "--storage":
        arguments += ["--storage", url]
    else:
        monkeypatch.setenv("CIFARLAB_STORAGE", url)
    assert main(arguments) == 2
    captured = capsys.readouterr()
    assert secret not in captured.out + captured.err and "storage postgresql+psycopg2://alice:***@127.0.0.1:1/cifarlab" in captured.out
    assert "unreachable" in captured.err
