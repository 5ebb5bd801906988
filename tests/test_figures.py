"""One home per figure: every figure that README.md, docs/, notebooks/ and src/ quote is in
benchmarks/records/figures.toml, with its machine, date, commit and command, and the tables that
show them are generated from it (benchmarks/figures.py)."""

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "figures.py"


@pytest.fixture(scope="module")
def figures():
    spec = importlib.util.spec_from_file_location("figures", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def records(figures):
    return figures.load_records()


def test_every_record_says_where_its_figures_come_from(figures, records):
    assert figures.record_problems(records) == []


def test_every_quoted_figure_is_in_the_records(figures, records):
    assert figures.unknown_figures(records) == []


def test_the_generated_tables_are_current(figures, records):
    assert figures.stale_files(records) == []


def test_a_figure_changed_by_hand_is_caught(figures, records):
    readme = (SCRIPT.parents[1] / "README.md").read_text()
    table_value = records["record"]["cpu85"]["figures"]["accuracy"]  # inside the generated presets table
    assert table_value in readme
    edited = readme.replace(table_value, "86.07 %", 1)
    assert figures.regenerated(edited, records) != edited
    prose_value = records["record"]["table1"]["figures"]["mean"]  # in README's prose
    edited = readme.replace(prose_value, "46.69 %")
    known = figures.known_figures(records)
    assert [figure for _, figure in figures.figures_in(edited) if figure not in known] == ["46.69 %"]


@pytest.mark.parametrize("text, found", [
    ("86.06 % in 60.8 s, 0.13x the time, 14.6 ms a step, 2.5 min", ["86.06 %", "60.8 s", "0.13x", "14.6 ms", "2.5 min"]),
    ("ranges: 58.12-58.34 % and 0.56–0.57x", ["58.12-58.34 %", "0.56-0.57x"]),
    ("settings are not figures: 30 %, 4 epochs, 64x faster, 1 + 0.3 x 6 views, {value:>9.2%}", []),
])
def test_what_counts_as_a_figure(figures, text, found):
    assert [figure for _, figure in figures.figures_in(text)] == found


def test_a_record_without_its_machine_is_refused(figures, records):
    broken = {"machines": records["machines"],
              "record": {"x": {"id": "x", "kind": "measured", "date": "2026-12-07", "commit": "abc", "command": "c",
                               "results": "r", "figures": {"time": "1.0 s"}}}}
    assert figures.record_problems(broken) == ["record x: no machine", "record x: machine None is not in [machines]"]


def test_a_record_of_a_preset_no_longer_offered_must_say_it_is_retired(figures, records):
    current = dict(records["record"]["cpu85"], id="y")
    gone = dict(current, id="z", preset="fastnet --preset cpu90")
    listed = {"machines": records["machines"], "record": {"y": current, "z": gone}}
    assert figures.record_problems(listed) == ["record z: 'fastnet --preset cpu90' is not offered: mark the record retired"]
    listed["record"]["z"] = dict(gone, retired="merged into cpu-peer")
    assert figures.record_problems(listed) == []
    assert "cpu90" not in figures.presets_table(listed)


def test_the_tables_say_what_a_preset_is_for_in_the_words_of_help(figures, records):
    from cifarlab.training.registry import get_model

    table = figures.presets_table(records)
    fastnet = get_model("fastnet").preset_purposes
    assert f"| `fastnet --preset cpu85` | {fastnet['cpu85']} |" in table
    assert f"| `fastnet` | {fastnet['airbench94']} |" in table  # a bare model: its defaults' preset


def test_a_ratio_to_the_plain_reference_is_shown_beside_the_tuned_one(figures, records):
    table = figures.presets_table(records)
    both = [record for record in records["record"].values() if "plain_ratio" in record["figures"] and "retired" not in record]
    assert both, "no current record has a ratio to the plain reference"
    for record in both:
        assert f"{record['figures']['ratio']} of its time" in table
        assert f"{record['figures']['plain_ratio']} of the reference as it is" in table
