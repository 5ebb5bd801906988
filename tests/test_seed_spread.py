"""benchmarks/seed_spread.py: how often a side-by-side of a few seeds each would pass, from the
seeds recorded, and the difference of the means with its standard error."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))
from seed_spread import chance_at_or_above, difference  # noqa: E402


def test_a_preset_clearly_above_always_passes_and_one_clearly_below_never():
    reference = [0.905, 0.906, 0.907]
    assert chance_at_or_above([0.915, 0.916], reference, seeds=3) == 1.0
    assert chance_at_or_above([0.895, 0.896], reference, seeds=3) == 0.0


def test_the_same_seeds_on_both_sides_pass_a_little_over_half_the_time():
    # equal medians count as a pass ("at or above"), so a twin passes somewhat more than half the time
    seeds = [0.9040, 0.9052, 0.9059, 0.9063, 0.9071]
    chance = chance_at_or_above(seeds, seeds, seeds=3)
    assert 0.5 < chance < 0.7
    assert chance == chance_at_or_above(seeds, seeds, seeds=3)  # the same draws each call


def test_the_difference_of_means_is_in_points_with_welchs_standard_error():
    ours, reference = [0.91, 0.93], [0.90, 0.90, 0.90]
    # means 92 and 90 %; variances 2 points^2 / 2 seeds and 0: standard error 1 point
    assert difference(ours, reference) == "+2.00 +- 1.00"
    assert difference([0.91], reference) == "-"


def write_record(path: Path, *runs: dict) -> Path:
    """A JSON-lines record of these runs, each on one machine and call unless it says otherwise."""
    common = {"cpu": "Intel Xeon", "native_bf16": True, "threads": 2, "peer_options": [], "train_options": [],
              "data": "d", "seconds": 10.0, "wall": 11.0, "call": "c", "date": "2026-12-02 06:00 UTC"}
    path.write_text("".join(json.dumps({**common, **run}) + "\n" for run in runs))
    return path


def seed_spread(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(BENCHMARKS / "seed_spread.py"), *args], capture_output=True,
                          text=True, check=check)


def test_the_command_reads_a_record_and_says_when_nothing_matches(tmp_path):
    record = write_record(
        tmp_path / "runs.jsonl",
        *[{"run": "peer airbench94_cpu", "seed": s, "code": "p", "accuracy": 0.90 + s / 1000} for s in range(3)],
        *[{"run": "fastnet:cpu-peer", "seed": s, "code": "a", "accuracy": 0.95, "seconds": 5.0} for s in range(3)])
    table = seed_spread(str(record)).stdout
    assert "| fastnet:cpu-peer | a | 3 | 95.00% | 95.00% | 0.00 | +4.90 +- 0.06 | 0.50x (1 call) | 100% |" in table
    missing = seed_spread(str(record), "--cpu", "EPYC", check=False)
    assert missing.returncode == 2 and "no recorded runs" in missing.stderr.splitlines()[-1]


def test_pooled_codes_count_as_one_run(tmp_path):
    record = write_record(
        tmp_path / "runs.jsonl",
        *[{"run": "fastnet:cpu-peer", "seed": s, "code": code, "accuracy": 0.9, "date": date}
          for s, code, date in [(1, "old", "2026-12-01 10:00 UTC"), (2, "new", "2026-12-02 10:00 UTC")]])
    apart = seed_spread(str(record)).stdout
    together = seed_spread(str(record), "--pool", "old,new").stdout
    assert "| fastnet:cpu-peer | old | 1 |" in apart and "| fastnet:cpu-peer | new | 1 |" in apart
    assert "| fastnet:cpu-peer | old+new | 2 |" in together


@pytest.mark.parametrize("seeds", [0, -1])
def test_fewer_than_one_seed_is_refused(tmp_path, seeds):
    refused = seed_spread(str(write_record(tmp_path / "runs.jsonl")), "--seeds", str(seeds), check=False)
    assert refused.returncode == 2 and "--seeds must be at least 1" in refused.stderr


def test_a_file_that_is_not_a_record_gets_one_line(tmp_path):
    notes = tmp_path / "notes.md"
    notes.write_text("# not a record\n")
    refused = seed_spread(str(notes), check=False)
    assert refused.returncode == 2 and "line 1: not a run recorded" in refused.stderr.splitlines()[-1]
