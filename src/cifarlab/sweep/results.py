"""A study's trials as the study's Figure 2 table: one row per trial, best first."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from cifarlab.rundir.files import atomic_write_bytes

METRICS = ("test_accuracy", "test_loss", "train_accuracy", "train_loss")


def trial_rows(study) -> tuple[list[str], list[dict]]:
    """(option names that vary, rows) for the trials that ran (surplus grid claims left out)."""
    trials = [t for t in study.get_trials(deepcopy=False) if not t.user_attrs.get("surplus")]
    options = [t.user_attrs.get("options", {}) for t in trials]
    names = sorted({k for o in options for k in o})
    varying = [n for n in names if len({str(o.get(n)) for o in options}) > 1] or names
    rows = []
    for trial, opts in zip(trials, options):
        row = {"trial": trial.number, "state": trial.state.name, **{n: opts.get(n, "") for n in varying}}
        row.update({m: trial.user_attrs.get(m) for m in METRICS})
        row["seconds"] = trial.user_attrs.get("seconds")
        rows.append(row)
    rows.sort(key=lambda r: (r["test_accuracy"] is None, -(r["test_accuracy"] or 0.0), r["trial"]))
    return varying, rows


def _cell(name: str, value) -> str:
    if value is None or value == "":
        return "-"
    if name.endswith("accuracy"):
        return f"{value:.2%}"
    if name.endswith("loss"):
        return f"{value:.3f}"
    if name == "seconds":
        return f"{value:.0f}"
    return str(value)


def format_markdown(columns: list[str], rows: list[dict]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(c, row.get(c)) for c in columns) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def write_results(study, out_dir: Path) -> tuple[str, Path, Path]:
    """Markdown table (returned and written) and CSV, named after the study."""
    varying, rows = trial_rows(study)
    columns = ["trial", "state", *varying, *METRICS, "seconds"]
    markdown = format_markdown(columns, rows)
    md_path, csv_path = out_dir / f"{study.study_name}.md", out_dir / f"{study.study_name}.csv"
    atomic_write_bytes(md_path, markdown.encode())
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_bytes(csv_path, text.getvalue().encode())
    return markdown, md_path, csv_path
