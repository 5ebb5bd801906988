"""Run (or reuse) every experiment of the study and write a Markdown report with figures.

Parts: 1 = NumPy MLP (Table 1, Figure 1); 2 = the MLP table (Figure 2) and its best run
(Table 2, Figure 3); 3 = the custom batch norm checks; 4 = the ConvNet (Table 3, Figure 4).
Tables are trained with several seeds and show the study's figure beside cifarlab's mean,
SD and range. A run whose directory already holds metrics for the same config is reused.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

from cifarlab.report.spread import batch_accuracies, batch_distribution_sentence, spread_table, verdict
from cifarlab.report.study import INDEPENDENT_CHECKS, STUDY_NOTES, STUDY_TABLES
from cifarlab.rundir.files import atomic_write_bytes, read_history, read_json
from cifarlab.training.configs import config_from_dict
from cifarlab.training.resolve import resolve
from cifarlab.training.runtime import Runtime

PARTS = (1, 2, 3, 4)
STUDY_BATCH = 200  # the study measured Table 1's test accuracy on one batch of 200 test images
TABLE_1 = "Table 1: NumPy MLP (study part 1)"
TABLE_2 = "Table 2: best PyTorch MLP (study part 2)"
TABLE_3 = "Table 3: VGG-like ConvNet (study part 4)"


@dataclasses.dataclass(frozen=True)
class Budget:
    """How much of the study's protocol to run: scale 1.0 is the study's own."""

    scale: float = 1.0
    grid_points: int = 0  # 0: all 18 configurations of the MLP table
    train_eval_size: int | None = None  # None: each model's default
    evaluations: int = 0  # 0: the study's interval, scaled; else this many evaluations per run
    seeds: int = 5  # seeds of Tables 1 and 2
    convnet_seeds: int = 1  # seeds of Table 3
    grid_seeds: int = 1  # seeds of each Figure 2 configuration
    fast: bool = False  # the ConvNet under bf16 autocast (see benchmarks/RESULTS.md)

    def shrink(self, cfg):
        if self.scale == 1.0 and self.train_eval_size is None and not self.evaluations:
            return cfg
        steps = max(2, round(cfg.steps * self.scale))
        every = -(-steps // self.evaluations) if self.evaluations else round(cfg.eval_every * self.scale)
        changes = {"steps": steps, "eval_every": max(1, min(steps, every)) if cfg.eval_every else 0}
        if self.train_eval_size is not None:
            changes["train_eval_size"] = self.train_eval_size
        return dataclasses.replace(cfg, **changes)


def run_or_reuse(model: str, cfg, run_dir: Path, data: str | None, log, runtime: Runtime | None = None) -> dict:
    """Train unless run_dir already finished this exact config (and precision)."""
    from cifarlab.training.run import train_run

    if (run_dir / "metrics.json").exists() and (run_dir / "config.json").exists():
        record = read_json(run_dir / "config.json")
        # a field added after the run was made takes the value the code had then
        saved = config_from_dict(type(cfg), record.get("config", {}))
        same_precision = runtime is None or (record.get("runtime") or {}).get("precision") == runtime.precision
        if saved == cfg and same_precision:
            log(f"reusing {run_dir}")
            return read_json(run_dir / "metrics.json")
        shutil.rmtree(run_dir)
    log(f"training {model} into {run_dir} ({cfg.steps} steps, seed {cfg.seed})")
    return train_run(model, cfg, run_dir, data, runtime, progress=True, announce=True)


def run_seeds(model: str, cfg, seeds: int, runs: Path, stem: str, data, log, runtime=None) -> list[tuple[Path, dict]]:
    """(run directory, metrics) for seeds 1..seeds of `cfg`."""
    results = []
    for seed in range(1, seeds + 1):
        run_dir = runs / f"{stem}-seed{seed}"
        results.append((run_dir, run_or_reuse(model, dataclasses.replace(cfg, seed=seed), run_dir, data, log,
                                              runtime)))
    return results


def seeded_table(title: str, results: list[tuple[Path, dict]], command: str) -> list[str]:
    """The table of a part trained with several seeds, and its verdict."""
    study = STUDY_TABLES[title]
    metrics = [m for _, m in results]
    where = results[0][0].parent
    rows = [f"### {title}", "", f"Runs: `{where}/{results[0][0].name.rsplit('-seed', 1)[0]}-seed*` "
            f"(`{command} --seed S`, S = 1..{len(results)})", "", *spread_table(study, metrics), "",
            verdict(study["test_accuracy"], [m["test_accuracy"] for m in metrics]), "",
            INDEPENDENT_CHECKS[title], ""]
    if title in STUDY_NOTES:
        rows += [STUDY_NOTES[title], ""]
    return rows


def seeds_figure(results: list[tuple[Path, dict]], out_dir: Path, name: str, caption: str) -> str:
    from cifarlab.rundir.curves import plot_histories
    from cifarlab.rundir.logs import StepLog

    labels = {f"seed {run_dir.name.rsplit('seed', 1)[1]}": run_dir for run_dir, _ in results}
    plot_histories({label: read_history(run_dir) for label, run_dir in labels.items()}, out_dir / name,
                   title=caption, step_logs={label: StepLog.read(run_dir) for label, run_dir in labels.items()})
    return f"![{caption}]({name})\n\n*{caption}*\n"


def study_batch_sentence(results: list[tuple[Path, dict]], data: str | None) -> str:
    """Table 1 measured the study's way: accuracy on each disjoint 200-image test batch."""
    import numpy as np

    from cifarlab.inference.reload import test_predictions

    accuracies, prepared = [], None
    for run_dir, _ in results:  # one training split, so one pipeline, for every seed
        probabilities, labels, prepared = test_predictions(run_dir, data, prepared)
        batch = min(STUDY_BATCH, len(labels))  # a test set smaller than the study's batch is one batch
        accuracies.append(batch_accuracies(probabilities.argmax(axis=1) == labels, batch))
    return batch_distribution_sentence(np.concatenate(accuracies), STUDY_TABLES[TABLE_1]["test_accuracy"],
                                       len(results), batch)


def confusion_section(run_dir: Path, data: str | None, out_dir: Path, name: str) -> list[str]:
    """Where a run goes wrong: its per-class accuracy and confusion matrix on the test set."""
    from cifarlab.inference.reload import test_predictions
    from cifarlab.rundir.analysis import confusion_matrix, per_class_table, plot_confusion

    probabilities, labels, prepared = test_predictions(run_dir, data)
    matrix = confusion_matrix(labels, probabilities.argmax(axis=1), len(prepared.classes))
    caption = f"Confusion matrix of `{run_dir.name}` on the test set"
    plot_confusion(out_dir / name, matrix, prepared.classes, caption.replace("`", ""))
    return [f"Per-class test accuracy of `{run_dir.name}`:", "", per_class_table(matrix, prepared.classes), "",
            f"![{caption}]({name})", "", f"*{caption}*", ""]


def part_numpy_mlp(out_dir, runs, budget, data, log):
    cfg = budget.shrink(resolve("numpy-mlp").config)
    results = run_seeds("numpy-mlp", cfg, budget.seeds, runs, "part1-numpy-mlp", data, log)
    return [*seeded_table(TABLE_1, results, "cifarlab train numpy-mlp"), study_batch_sentence(results, data), "",
            seeds_figure(results, out_dir, "figure1.png", "Figure 1: NumPy MLP learning curves")]


def part_mlp(out_dir, runs, budget, data, log, experiments_dir: Path):
    from cifarlab.sweep.experiment import load_experiment
    from cifarlab.sweep.results import write_results
    from cifarlab.sweep.runner import run_worker
    from cifarlab.sweep.storage_url import default_storage

    experiment = load_experiment(experiments_dir / "study-figure2.toml")
    points = experiment.points[: budget.grid_points] if budget.grid_points else experiment.points
    if budget.grid_seeds > 1:
        points = tuple({**point, "seed": seed} for point in points for seed in range(1, budget.grid_seeds + 1))
    fixed = dict(experiment.fixed)
    shrunk = budget.shrink(resolve("mlp", fixed).config)
    fixed.update(steps=shrunk.steps, eval_every=shrunk.eval_every, train_eval_size=shrunk.train_eval_size)
    name = experiment.name + ("" if shrunk.steps == experiment.fixed.get("steps") and points == experiment.points
                              else f"-s{shrunk.steps}-p{len(points)}")
    experiment = dataclasses.replace(experiment, name=name, fixed=fixed, points=points)
    sweep_dir = runs / "part2-sweep"
    study = run_worker(experiment, default_storage(sweep_dir, name), sweep_dir, data, log=log)
    markdown, _, _ = write_results(study, out_dir)
    results = run_seeds("mlp", budget.shrink(resolve("mlp", preset="study-best").config), budget.seeds, runs,
                        "part2-mlp-best", data, log)
    seeds = f", {budget.grid_seeds} seeds each" if budget.grid_seeds > 1 else ""
    return ["### Figure 2: the MLP configurations, best first", "",
            f"Sweep `{name}` of `experiments/study-figure2.toml` ({len(points)} runs{seeds}).", "", markdown,
            *seeded_table(TABLE_2, results, "cifarlab train mlp --preset study-best"),
            seeds_figure(results, out_dir, "figure3.png", "Figure 3: best MLP learning curves")]


def part_convnet(out_dir, runs, budget, data, log):
    cfg, runtime = resolve("convnet", {"precision": "bf16"} if budget.fast else {})
    cfg = budget.shrink(cfg)
    results = run_seeds("convnet", cfg, budget.convnet_seeds, runs, "part4-convnet" + ("-bf16" if budget.fast else ""),
                        data, log, runtime)
    command = "cifarlab train convnet" + (" --precision bf16" if budget.fast else "")
    return [*seeded_table(TABLE_3, results, command),
            seeds_figure(results, out_dir, "figure4.png", "Figure 4: ConvNet learning curves"),
            *confusion_section(results[0][0], data, out_dir, "figure4-confusion.png")]


def part_batchnorm(log):
    import torch

    from cifarlab.torch_nn.batchnorm import BatchNormAutograd, BatchNormFunction, BatchNormFunctional

    torch.manual_seed(0)
    x = torch.randn(16, 8, dtype=torch.float64, requires_grad=True)
    gamma = torch.randn(8, dtype=torch.float64, requires_grad=True)
    beta = torch.randn(8, dtype=torch.float64, requires_grad=True)
    passed = torch.autograd.gradcheck(lambda a, g, b: BatchNormFunction.apply(a, g, b, 1e-5), (x, gamma, beta))
    rows = ["### Part 3: custom batch normalisation", "",
            "`torch.autograd.gradcheck` of the hand-written backward (float64): "
            f"{'passed' if passed else 'FAILED'}.", "",
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
                f"Budget: {budget.scale:g} x the study's steps" + (" (quick smoke version)" if budget.scale < 1 else "")
                + f"; Tables 1-2 over {budget.seeds} seeds, Table 3 over {budget.convnet_seeds}"
                + (" (bf16 autocast)" if budget.fast else "") + ".", "",
                "Figures measured on the JPEG copy of CIFAR-10 (`../shared/data`) are not expected to equal the "
                "study's, which used the official data: on that copy the airbench94 reference recipe loses 3.4 "
                "points (94.0 % official, 90.63 % on the copy).", ""]
    if 1 in parts:
        sections += part_numpy_mlp(out_dir, runs, budget, data, log)
    if 2 in parts:
        sections += part_mlp(out_dir, runs, budget, data, log, experiments_dir)
    if 3 in parts:
        sections += part_batchnorm(log)
    if 4 in parts:
        sections += part_convnet(out_dir, runs, budget, data, log)
    report = out_dir / "REPORT.md"
    atomic_write_bytes(report, ("\n".join(sections) + "\n").encode())
    return report
