"""`cifarlab data` end to end: output, exit codes, one-line errors."""

import subprocess
import sys


def cifarlab(*args, env=None):
    return subprocess.run([sys.executable, "-m", "cifarlab", *map(str, args)], capture_output=True, text=True, env=env)


def test_data_info_prints_counts_per_class(tiny_png_folder):
    result = cifarlab("data", "info", "--data", tiny_png_folder)
    assert result.returncode == 0, result.stderr
    assert "train: 50 images, test: 20 images" in result.stdout
    assert "cat" in result.stdout and "channel mean" in result.stdout


def test_bad_data_path_is_one_line_and_exit_2(tmp_path):
    result = cifarlab("data", "info", "--data", tmp_path / "missing")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "does not exist" in result.stderr and "Traceback" not in result.stderr


def test_prepare_reports_the_cache_entry(tiny_png_folder, isolated_home):
    result = cifarlab("data", "prepare", "--data", tiny_png_folder)
    assert result.returncode == 0, result.stderr
    assert str(isolated_home / "cache") in result.stdout
