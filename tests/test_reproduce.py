"""`cifarlab reproduce --quick` end to end on synthetic data."""

import re

from cifarlab.cli.main import main


def test_quick_reproduction_writes_every_table_and_figure(learnable_folder, tmp_path, capsys):
    out = tmp_path / "report"
    # --scale 0.002 under --quick: 3 steps for the MLPs, 10 for the ConvNet, 2 evaluations each
    assert main(["reproduce", "--quick", "--scale", "0.002", "--seeds", "2", "--data", str(learnable_folder),
                 "--out", str(out)]) == 0
    report = (out / "REPORT.md").read_text()
    for heading in ("Table 1", "Figure 2", "Table 2", "Part 3", "Table 3"):
        assert heading in report
    assert report.count("| study |") == 3 and report.count("| cifarlab, min - max |") == 3
    assert report.count("| cifarlab, mean ± SD (2 seeds) |") == 2 and "| cifarlab, mean ± SD (1 seed) |" in report
    assert report.count("Verdict: the study's") == 3
    assert report.count("Independent check:") == 3 and "45.05-48.50 %" in report
    assert "54.57%" in report and "77.75%" in report  # the study's figures beside ours
    # Table 1 measured the study's way: 50 disjoint 200-image batches of each of 2 runs
    assert re.search(r"over the \d+ disjoint batches \(a fixed random order .*\) of 2 runs, the accuracy has median "
                     r"[\d.]+% and 5-95 % range", report)
    assert "gradcheck` of the hand-written backward (float64): passed" in report
    assert "Per-class test accuracy of `part4-convnet-seed1`" in report and "| airplane |" in report
    for name in ("figure1.png", "figure3.png", "figure4.png", "figure4-confusion.png", "study-figure2-s3-p3.md"):
        assert (out / name).exists(), name
    assert report.count("| COMPLETE |") == 3
    assert sorted(p.name for p in (out / "runs").glob("part1-*")) == ["part1-numpy-mlp-seed1", "part1-numpy-mlp-seed2"]


def test_second_reproduction_reuses_finished_runs(learnable_folder, tmp_path, capsys):
    out = tmp_path / "report"
    arguments = ["reproduce", "--quick", "--scale", "0.01", "--parts", "1,3", "--seeds", "1",
                 "--data", str(learnable_folder), "--out", str(out)]
    main(arguments)
    capsys.readouterr()
    assert main(arguments) == 0
    assert "reusing" in capsys.readouterr().out


def test_bad_parts_are_rejected(capsys):
    assert main(["reproduce", "--parts", "1,7"]) == 2
    assert "--parts takes numbers" in capsys.readouterr().err


def test_zero_seeds_are_rejected(capsys):
    assert main(["reproduce", "--seeds", "0"]) == 2
    assert "--seeds must be at least 1" in capsys.readouterr().err


def test_spread_and_verdict_say_where_the_study_figure_lies():
    import numpy as np

    from cifarlab.report.spread import batch_accuracies, spread, verdict

    stats = spread([0.40, 0.44, 0.42])
    assert stats["mean"] == 0.42 and abs(stats["sd"] - 0.02) < 1e-12 and (stats["min"], stats["max"]) == (0.40, 0.44)
    assert "inside" in verdict(0.43, [0.40, 0.44, 0.42])
    assert "10.00 points above cifarlab's best seed" in verdict(0.54, [0.40, 0.44, 0.42])
    correct = np.zeros(10000, bool)
    correct[:5000] = True  # a test set listed class by class: the first five classes all right
    accuracies = batch_accuracies(correct)
    assert accuracies.shape == (50,) and accuracies.mean() == 0.5
    # class-mixed batches: each near 50 % (SD of a 200-image batch: 3.5 points), none one-class
    assert 0.35 < accuracies.min() and accuracies.max() < 0.65
