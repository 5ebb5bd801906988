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


def test_the_command_reads_a_record_and_says_when_nothing_matches(tmp_path):
    record = tmp_path / "runs.jsonl"
    common = {"cpu": "Intel Xeon", "native_bf16": True, "threads": 2, "peer_options": [], "train_options": [],
              "data": "d", "seconds": 10.0, "wall": 11.0, "call": "c", "date": "2026-12-02 06:00 UTC"}
    entries = [{**common, "run": "peer airbench94_cpu", "seed": s, "code": "p", "accuracy": 0.90 + s / 1000}
               for s in range(3)]
    entries += [{**common, "run": "fastnet:cpu-peer", "seed": s, "code": "a", "accuracy": 0.95, "seconds": 5.0}
                for s in range(3)]
    record.write_text("".join(json.dumps(entry) + "\n" for entry in entries))
    table = subprocess.run([sys.executable, str(BENCHMARKS / "seed_spread.py"), str(record)], capture_output=True,
                           text=True, check=True).stdout
    assert "| fastnet:cpu-peer | a | 3 | 95.00% | 95.00% | 0.00 | +4.90 +- 0.06 | 0.50x (1 call) | 100% |" in table
    missing = subprocess.run([sys.executable, str(BENCHMARKS / "seed_spread.py"), str(record), "--cpu", "EPYC"],
                             capture_output=True, text=True)
    assert missing.returncode == 2 and "no recorded runs" in missing.stderr.splitlines()[-1]


def test_pooled_codes_count_as_one_run(tmp_path):
    record = tmp_path / "runs.jsonl"
    common = {"cpu": "Intel Xeon", "native_bf16": True, "threads": 2, "peer_options": [], "train_options": [],
              "data": "d", "seconds": 10.0, "wall": 11.0, "call": "c", "run": "fastnet:cpu-peer"}
    entries = [{**common, "seed": s, "code": code, "accuracy": 0.9, "date": date}
               for s, code, date in [(1, "old", "2026-12-01 10:00 UTC"), (2, "new", "2026-12-02 10:00 UTC")]]
    record.write_text("".join(json.dumps(entry) + "\n" for entry in entries))
    command = [sys.executable, str(BENCHMARKS / "seed_spread.py"), str(record)]
    apart = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    together = subprocess.run(command + ["--pool", "old,new"], capture_output=True, text=True, check=True).stdout
    assert "| fastnet:cpu-peer | old | 1 |" in apart and "| fastnet:cpu-peer | new | 1 |" in apart
    assert "| fastnet:cpu-peer | old+new | 2 |" in together


@pytest.mark.parametrize("seeds", [0, -1])
def test_fewer_than_one_seed_is_refused(tmp_path, seeds):
    record = tmp_path / "runs.jsonl"
    record.write_text("")
    refused = subprocess.run([sys.executable, str(BENCHMARKS / "seed_spread.py"), str(record), "--seeds", str(seeds)],
                             capture_output=True, text=True)
    assert refused.returncode == 2 and "--seeds must be at least 1" in refused.stderr
