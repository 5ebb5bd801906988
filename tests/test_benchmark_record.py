"""benchmarks/versus_peer.py keeps finished runs in a file so that a comparison too long for
one machine's uptime can be completed later: a recorded run is reused only on the same machine, options
and code."""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from versus_peer import KEY_FIELDS, Record, code_hash, parse_run, record_key, within_calls  # noqa: E402

KEY = {"cpu": "AMD EPYC (family 23, model 1)", "native_bf16": False, "threads": 2}


def result(accuracy):
    return lambda: {"accuracy": accuracy, "seconds": 10.0, "wall": 12.0}


def never():
    raise AssertionError("a recorded run was run again")


def test_a_recorded_run_is_reused_on_the_same_machine_and_code(tmp_path):
    path = str(tmp_path / "runs.jsonl")
    first = Record(path, KEY).get_or_run("peer", 0, "abc", result(0.9))
    again = Record(path, KEY).get_or_run("peer", 0, "abc", never)
    assert again == first and again["accuracy"] == 0.9 and again["cpu"] == KEY["cpu"] and "date" in again


@pytest.mark.parametrize("change", [{"cpu": "Intel Xeon"}, {"native_bf16": True}, {"threads": 4}])
def test_another_machine_or_options_run_again(tmp_path, change):
    path = str(tmp_path / "runs.jsonl")
    Record(path, KEY).get_or_run("peer", 0, "abc", result(0.9))
    assert Record(path, {**KEY, **change}).get_or_run("peer", 0, "abc", result(0.8))["accuracy"] == 0.8
    assert len(Path(path).read_text().splitlines()) == 2


def test_other_code_or_another_seed_runs_again(tmp_path):
    path = str(tmp_path / "runs.jsonl")
    record = Record(path, KEY)
    record.get_or_run("fastnet:cpu85", 1, "abc", result(0.86))
    assert Record(path, KEY).get_or_run("fastnet:cpu85", 1, "def", result(0.87))["accuracy"] == 0.87
    assert Record(path, KEY).get_or_run("fastnet:cpu85", 2, "abc", result(0.85))["accuracy"] == 0.85
    assert [json.loads(line)["seed"] for line in Path(path).read_text().splitlines()] == [1, 1, 2]


def test_without_a_file_a_run_is_measured_and_returned():
    assert Record(None, KEY).get_or_run("peer", 0, "abc", result(0.9))["accuracy"] == 0.9


def test_a_record_key_has_the_fields_seed_spread_groups_by(tmp_path):
    data = tmp_path / "images.tar.gz"
    data.write_bytes(b"12345")
    key = record_key(2, ["--bf16"], ["--threads", "2"], data)
    assert tuple(key) == KEY_FIELDS
    assert key["data"] == "images.tar.gz (5 bytes)" and key["train_options"] == ["--threads", "2"]


def test_the_code_hash_follows_the_code_not_its_docstrings_or_comments(tmp_path):
    code = tmp_path / "a.py"

    def hash_of(text: str) -> str:
        code.write_text(text)
        return code_hash([code])

    before = hash_of('"""A module."""\ndef f(x):\n    """Doubles."""\n    return 2 * x\n')
    assert len(before) == 12
    assert hash_of('"""A module, described again."""\n\n\ndef f(x):  # a comment\n    return 2 * x\n') == before
    assert hash_of('"""A module."""\ndef f(x):\n    """Doubles."""\n    return 3 * x\n') != before
    assert hash_of('def f(x):\n    """Only a docstring."""\n') == hash_of("def f(x):\n    pass\n")


def test_each_run_names_its_call_and_time_ratios_pair_runs_of_one_call(tmp_path):
    path = str(tmp_path / "runs.jsonl")
    assert Record(path, KEY, call="monday").get_or_run("peer", 0, "abc", result(0.9))["call"] == "monday"

    def run(call, seconds):
        return {"call": call, "seconds": seconds}

    # the peer ran 100 s on a fast machine and 200 s on a slow one: pairs compare within a call only
    peer = [run("fast", 100.0), run("slow", 200.0), run("alone", 150.0)]
    ours = [run("fast", 60.0), run("slow", 100.0), run("slow", 140.0), run("later", 10.0)]
    assert within_calls(ours, peer) == "0.60x (2 calls)"  # median of 0.60 and 120 / 200
    assert within_calls([run("later", 10.0), {"seconds": 5.0}], peer) == "- (no call ran both)"


def test_a_run_is_a_model_and_preset_with_options_of_its_own():
    assert parse_run("fastnet:cpu85") == ("fastnet", "cpu85", [])
    assert parse_run("fastnet:cpu-peer --epochs 10 --note 'two words'") == (
        "fastnet", "cpu-peer", ["--epochs", "10", "--note", "two words"])


@pytest.mark.parametrize("run", ["cpu85", "fastnet:a:b", "", "fastnet:cpu85 --note 'unclosed"])
def test_a_run_without_one_model_and_preset_or_with_open_quotes_is_refused(run):
    with pytest.raises(ValueError):
        parse_run(run)


def test_the_reference_can_be_given_cifarlabs_memory_setting(monkeypatch):
    from versus_peer import memory_kept_environment

    from cifarlab.process.memory_reuse import NEVER_TRIM, starting_values

    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.malloc.arena_max=2")  # the user's own setting is kept
    environment = memory_kept_environment()
    assert environment["GLIBC_TUNABLES"].startswith("glibc.malloc.arena_max=2:")
    monkeypatch.setenv("GLIBC_TUNABLES", environment["GLIBC_TUNABLES"])
    assert starting_values() == (0, NEVER_TRIM)  # what keep_freed_memory sets in cifarlab's own process


def test_each_row_gives_its_time_ratio_to_each_reference():
    from versus_peer import summary

    plain = [{"accuracy": 0.906, "seconds": 600.0, "wall": 610.0, "call": "c"}]
    kept = [{"accuracy": 0.906, "seconds": 500.0, "wall": 510.0, "call": "c"}]
    ours = [{"accuracy": 0.907, "seconds": 250.0, "wall": 255.0, "call": "c"}]
    row = summary("fastnet:cpu-peer", [1], ours, [plain, kept])
    assert "| 0.42x (wall 0.42x; within a call 0.42x (1 call)) | 0.50x (wall 0.50x; within a call 0.50x (1 call)) |" in row
    assert summary("reference, memory kept", [0], kept, [plain, kept]).endswith("| 0.83x (wall 0.84x; within a call "
                                                                              "0.83x (1 call)) | 1 |")
