"""`cifarlab reproduce --quick` end to end on synthetic data."""

from cifarlab.cli.main import main


def test_quick_reproduction_writes_every_table_and_figure(learnable_folder, tmp_path, capsys):
    out = tmp_path / "report"
    # --scale 0.002 under --quick: 3 steps for the MLPs, 10 for the ConvNet, 2 evaluations each
    assert main(["reproduce", "--quick", "--scale", "0.002", "--data", str(learnable_folder), "--out", str(out)]) == 0
    report = (out / "REPORT.md").read_text()
    for heading in ("Table 1", "Figure 2", "Table 2", "Part 3", "Table 3"):
        assert heading in report
    assert report.count("| study |") == 3 and report.count("| measured |") == 3
    assert "54.57%" in report and "77.75%" in report  # the study's figures beside ours
    assert "gradcheck` of the hand-written backward (float64): passed" in report
    for name in ("figure1.png", "figure3.png", "figure4.png", "study-figure2-s3-p3.md"):
        assert (out / name).exists(), name
    assert report.count("| COMPLETE |") == 3


def test_second_reproduction_reuses_finished_runs(learnable_folder, tmp_path, capsys):
    out = tmp_path / "report"
    arguments = ["reproduce", "--quick", "--scale", "0.01", "--parts", "1,3", "--data", str(learnable_folder),
                 "--out", str(out)]
    main(arguments)
    capsys.readouterr()
    assert main(arguments) == 0
    assert "reusing" in capsys.readouterr().out


def test_bad_parts_are_rejected(capsys):
    assert main(["reproduce", "--parts", "1,7"]) == 2
    assert "--parts takes numbers" in capsys.readouterr().err
