"""Run (or reuse) every experiment of the study and write a Markdown report with figures.

Parts: 1 = NumPy MLP (Table 1, Figure 1); 2 = the MLP table (Figure 2) and its best run
(Table 2, Figure 3); 3 = the custom batch norm checks; 4 = the ConvNet (Table 3, Figure 4).
A part whose run directory already holds metrics for the same config is reused.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

from cifarlab.report.study import STUDY_NOTES, STUDY_TABLES
from cifarlab.train.configs import config_from_dict
from cifarlab.train.registry import get_model
from cifarlab.train.rundir import atomic_write_bytes, read_json

STUDY_BEST_MLP = {"hidden": (500, 500, 500), "lr": 3e-3, "batch_size": 250}
PARTS = (1, 2, 3, 4)


@dataclasses.dataclass(frozen=True)
class Budget:
    """How much of the study's protocol to run: scale 1.0 is the study's own."""

    scale: float = 1.0
    grid_points: int = 0  # 0: all 18 configurations of the MLP table
    train_eval_size: int | None = None  # None: each model's default
    evaluations: int = 0  # 0: the study's interval, scaled; else this many evaluations per run

    def shrink(self, cfg):
        if self.scale == 1.0 and self.train_eval_size is None and not self.evaluations:
            return cfg
        steps = max(2, round(cfg.steps * self.scale))
        every = -(-steps // self.evaluations) if self.evaluations else round(cfg.eval_every * self.scale)
        changes = {"steps": steps, "eval_every": max(1, min(steps, every))}
        if self.train_eval_size is not None:
            changes["train_eval_size"] = self.train_eval_size
        return dataclasses.replace(cfg, **changes)


def run_or_reuse(model: str, cfg, run_dir: Path, data: str | None, log) -> dict:
    """Train unless run_dir already finished this exact config."""
    from cifarlab.train.run import train_run

    if (run_dir / "metrics.json").exists() and (run_dir / "config.json").exists():
        # a field added after the run was made is filled with its default, which is what the run did
        saved = config_from_dict(type(cfg), read_json(run_dir / "config.json").get("config", {}))
        if saved == cfg:
            log(f"reusing {run_dir}")
            return read_json(run_dir / "metrics.json")
        shutil.rmtree(run_dir)
    log(f"training {model} into {run_dir} ({cfg.steps} steps)")
    return train_run(model, cfg, run_dir, data, progress=True, announce=True)


def table(title: str, metrics: dict, run_dir: Path, command: str) -> str:
    study = STUDY_TABLES[title]
    rows = [f"### {title}", "", f"Run: `{run_dir}` (`{command}`)", "",
            "| | test accuracy | test loss | train accuracy | train loss |", "|---|---|---|---|---|",
            "| study | " + " | ".join(_fmt(k, study[k]) for k in ("test_accuracy", "test_loss", "train_accuracy",
                                                                      "train_loss")) + " |",
            "| measured | " + " | ".join(_fmt(k, metrics[k]) for k in ("test_accuracy", "test_loss", "train_accuracy",
                                                                         "train_loss")) + " |", ""]
    if title in STUDY_NOTES:
        rows += [STUDY_NOTES[title], ""]
    return "\n".join(rows)


def _fmt(key: str, value: float) -> str:
    return f"{value:.2%}" if key.endswith("accuracy") else f"{value:.3f}"


def figure(source: Path, out_dir: Path, name: str, caption: str) -> str:
    shutil.copyfile(source, out_dir / name)
    return f"![{caption}]({name})\n\n*{caption}*\n"


def part_single_run(model: str, part: int, title: str, figure_name: str, caption: str,
                    out_dir, runs, budget, data, log):
    """A part that is one run with the model's study defaults: its table and its figure."""
    cfg = budget.shrink(get_model(model).config_cls())
    run_dir = runs / f"part{part}-{model}"
    metrics = run_or_reuse(model, cfg, run_dir, data, log)
    return [table(title, metrics, run_dir, f"cifarlab train {model}"),
            figure(run_dir / "curves.png", out_dir, figure_name, caption)]


def part_mlp(out_dir, runs, budget, data, log, experiments_dir: Path):
    from cifarlab.sweep.experiment import load_experiment
    from cifarlab.sweep.results import write_results
    from cifarlab.sweep.runner import default_storage, run_worker

    experiment = load_experiment(experiments_dir / "study-figure2.toml")
    points = experiment.points[: budget.grid_points] if budget.grid_points else experiment.points
    fixed = dict(experiment.fixed)
    entry = get_model("mlp")
    shrunk = budget.shrink(entry.config_cls(**{k: v for k, v in fixed.items()}))
    fixed.update(steps=shrunk.steps, eval_every=shrunk.eval_every, train_eval_size=shrunk.train_eval_size)
    name = experiment.name + ("" if shrunk.steps == experiment.fixed.get("steps") and points == experiment.points
                              else f"-s{shrunk.steps}-p{len(points)}")
    experiment = dataclasses.replace(experiment, name=name, fixed=fixed, points=points)
    sweep_dir = runs / "part2-sweep"
    study = run_worker(experiment, default_storage(sweep_dir, name), sweep_dir, data, log=log)
    markdown, _, _ = write_results(study, out_dir)
    best_cfg = budget.shrink(entry.config_cls(**STUDY_BEST_MLP))
    run_dir = runs / "part2-mlp-best"
    metrics = run_or_reuse("mlp", best_cfg, run_dir, data, log)
    title = "Table 2: best PyTorch MLP (study part 2)"
    return ["### Figure 2: the MLP configurations, best first", "",
            f"Sweep `{name}` of `experiments/study-figure2.toml` ({len(points)} configurations).", "", markdown,
            table(title, metrics, run_dir, "cifarlab train mlp --preset study-best"),
            figure(run_dir / "curves.png", out_dir, "figure3.png", "Figure 3: best MLP learning curves")]


def part_batchnorm(log):
    import torch

    from cifarlab.torch_nn.batchnorm import BatchNormAutograd, BatchNormFunction, BatchNormFunctional

    torch.manual_seed(0)
    x = torch.randn(16, 8, dtype=torch.float64, requires_grad=True)
    gamma = torch.randn(8, dtype=torch.float64, requires_grad=True)
    beta = torch.randn(8, dtype=torch.float64, requires_grad=True)
    passed = torch.autograd.gradcheck(lambda a, g, b: BatchNormFunction.apply(a, g, b, 1e-5), (x, gamma, beta))
    rows = ["### Part 3: custom batch normalisation", "",
            f"`torch.autograd.gradcheck` of the hand-written backward (float64): {'passed' if passed else 'FAILED'}.", "",
            "| form | mode | max abs. difference to torch.nn.BatchNorm1d (output, dL/dx) |", "|---|---|---|"]
    for name, form in (("autograd Module", BatchNormAutograd), ("Function Module", BatchNormFunctional)):
        ours, ref = form(8).double(), torch.nn.BatchNorm1d(8).double()
        for mode in ("train", "eval"):
            ours.train(mode == "train"), ref.train(mode == "train")
            data = torch.randn(16, 8, dtype=torch.float64) * 2 + 1
            a, b = data.clone().requires_grad_(True), data.clone().requires_grad_(True)
            ya, yb = ours(a), ref(b)
            probe = torch.randn_like(ya)
            (ya * probe).sum().backward(), (yb * probe).sum().backward()
            diff = max((ya - yb).abs().max().item(), (a.grad - b.grad).abs().max().item())
            rows.append(f"| {name} | {mode} | {diff:.1e} |")
    log("batch-norm checks done")
    return ["\n".join(rows) + "\n"]


def reproduce(out_dir: Path, data: str | None, parts=PARTS, budget: Budget = Budget(),
              experiments_dir: Path = Path("experiments"), log=print) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    runs = out_dir / "runs"
    sections = ["# cifarlab: reproduction of the study", "",
                f"Budget: {budget.scale:g} x the study's steps" + (" (quick smoke version)" if budget.scale < 1 else ""),
                ""]
    if 1 in parts:
        sections += part_single_run("numpy-mlp", 1, "Table 1: NumPy MLP (study part 1)", "figure1.png",
                                    "Figure 1: NumPy MLP learning curves", out_dir, runs, budget, data, log)
    if 2 in parts:
        sections += part_mlp(out_dir, runs, budget, data, log, experiments_dir)
    if 3 in parts:
        sections += part_batchnorm(log)
    if 4 in parts:
        sections += part_single_run("convnet", 4, "Table 3: VGG-like ConvNet (study part 4)", "figure4.png",
                                    "Figure 4: ConvNet learning curves", out_dir, runs, budget, data, log)
    report = out_dir / "REPORT.md"
    atomic_write_bytes(report, ("\n".join(sections) + "\n").encode())
    return report
