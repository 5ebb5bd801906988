"""Numbers with their spread over seeds, and the plain sentence that compares them with the
study's figure. Pure functions: the reproduction report calls them with measured metrics."""

from __future__ import annotations

import statistics

import numpy as np

METRICS = ("test_accuracy", "test_loss", "train_accuracy", "train_loss")
# The JPEG copy's measured cost (shared/peers/README.md): the published airbench94 recipe
# reaches 94.0 % on the official data and 90.63 % on the copy.
JPEG_COST_POINTS = 94.0 - 90.63


def spread(values: list[float]) -> dict:
    """mean, sd (sample standard deviation; None for one value), min and max."""
    return {"mean": statistics.fmean(values), "sd": statistics.stdev(values) if len(values) > 1 else None,
            "min": min(values), "max": max(values), "n": len(values)}


def fmt(key: str, value: float | None, points: bool = False) -> str:
    """Accuracies in %, losses with three decimals; `points`: a difference of accuracies."""
    if value is None:
        return "-"
    if key.endswith("accuracy"):
        return f"{100 * value:.2f}" + (" pts" if points else "%")
    return f"{value:.3f}"


def spread_table(study: dict, runs: list[dict]) -> list[str]:
    """Markdown rows: the study's figures, our mean +- SD, and our min - max over the runs."""
    stats = {key: spread([run[key] for run in runs]) for key in METRICS}
    return ["| | test accuracy | test loss | train accuracy | train loss |", "|---|---|---|---|---|",
            "| study | " + " | ".join(fmt(k, study[k]) for k in METRICS) + " |",
            f"| cifarlab, mean ± SD ({len(runs)} seed{'s' if len(runs) > 1 else ''}) | "
            + " | ".join(f"{fmt(k, stats[k]['mean'])} ± {fmt(k, stats[k]['sd'], points=True)}" for k in METRICS)
            + " |",
            "| cifarlab, min - max | " + " | ".join(f"{fmt(k, stats[k]['min'])} - {fmt(k, stats[k]['max'])}"
                                                  for k in METRICS) + " |"]


def verdict(study_accuracy: float, accuracies: list[float]) -> str:
    """One sentence: is the study's test accuracy inside our spread, or how far outside."""
    s = spread(accuracies)
    seeds = f"{s['n']} seed{'s' if s['n'] > 1 else ''}"
    if s["min"] <= study_accuracy <= s["max"]:
        return (f"Verdict: the study's {study_accuracy:.2%} lies inside cifarlab's spread "
                f"({s['min']:.2%} - {s['max']:.2%} over {seeds}).")
    side, gap = (("above", study_accuracy - s["max"]) if study_accuracy > s["max"]
                 else ("below", s["min"] - study_accuracy))
    sd = f" ± {100 * s['sd']:.2f}" if s["sd"] is not None else ""
    return (f"Verdict: the study's {study_accuracy:.2%} lies {100 * gap:.2f} points {side} cifarlab's "
            f"{'best' if side == 'above' else 'worst'} seed (mean {s['mean']:.2%}{sd} over {seeds}); for "
            f"scale, the JPEG copy itself costs the airbench94 reference {JPEG_COST_POINTS:.1f} points "
            "(94.0 % official, 90.63 % here).")


def batch_accuracies(correct: np.ndarray, batch: int = 200, seed: int = 0) -> np.ndarray:
    """Accuracy of each disjoint `batch`-image block of the test set taken in a fixed random
    order (the study measured its Table 1 on one such batch of the official, class-mixed test
    order; an image-folder copy lists the test set class by class, so its own order would give
    one-class batches). correct: (N,) bool; a remainder smaller than `batch` is left out."""
    shuffled = correct[np.random.default_rng(seed).permutation(len(correct))]
    usable = len(correct) - len(correct) % batch
    return shuffled[:usable].reshape(-1, batch).mean(axis=1)


def batch_distribution_sentence(accuracies: np.ndarray, study_accuracy: float, runs: int, batch: int = 200) -> str:
    low, median, high = np.percentile(accuracies, [5, 50, 95])
    above = float(np.mean(accuracies >= study_accuracy - 1e-12))
    return (f"Measured the study's way, on one {batch}-image test batch: over the {len(accuracies)} disjoint batches "
            f"(a fixed random order of the test set, classes mixed as in the official order) "
            f"of {runs} run{'s' if runs > 1 else ''}, the accuracy has median {median:.2%} and 5-95 % range "
            f"{low:.2%} - {high:.2%}; {above:.1%} of the batches read {study_accuracy:.2%} or more.")
