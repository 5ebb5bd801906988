"""The one home of every figure the project quotes: benchmarks/records/figures.toml.

    python benchmarks/figures.py           # rewrite the generated tables where documents hold them
    python benchmarks/figures.py --check   # exit 1 if a table is stale or a document quotes a
                                           # figure that is not in the records (tests run this)

A generated table sits between `<!-- figures: NAME -->` and `<!-- /figures -->` in a Markdown
file. Everywhere else (README.md, docs/, notebooks/, src/) a figure may be written by hand, but
only as the records hold it: a figure is a decimal number with a unit (86.06 %, 0.58x, 60.8 s,
14.6 ms, 2.5 min, or a range such as 58.12-58.34 %). Whole numbers are left out of the check:
they are too often settings (30 %, 4 epochs, 64x) to tell apart from measurements.
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RECORDS = ROOT / "benchmarks" / "records" / "figures.toml"
QUOTING = ("README.md", "docs/*.md", "notebooks/*.py", "notebooks/*.ipynb", "src/cifarlab/**/*.py")
NUMBER = r"\d[\d,]*\.\d+"
UNIT = r"(?:\s?(?:%|s|ms|min)|x)"  # "0.58x", but "0.3 x 6" is a product
FIGURE = re.compile(rf"(?<![\w.>:/+-]){NUMBER}(?:\s?[-–]\s?{NUMBER})?{UNIT}(?!\w)")
RECORDED = re.compile(rf"\d[\d,.]*(?:\s?[-–]\s?\d[\d,.]*)?{UNIT}")  # in the records whole numbers too
BLOCK = re.compile(r"(<!-- figures: (?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- /figures -->)", re.S)
MACHINE_FIELDS = ("machine", "date", "commit", "command", "results")


def load_records(path: Path = RECORDS) -> dict:
    """{"machines": {name: description}, "record": {id: record}} from the TOML file."""
    data = tomllib.loads(path.read_text())
    return {"machines": data["machines"], "record": {record["id"]: record for record in data["record"]}}


def normalised(figure: str) -> str:
    return re.sub(r"\s+", " ", figure.replace("–", "-"))


def known_figures(records: dict) -> set[str]:
    return {normalised(value) for record in records["record"].values() for value in record["figures"].values()}


def figures_in(text: str) -> list[tuple[int, str]]:
    """(line number, figure) of every figure in `text`."""
    return [(number, normalised(match.group(0))) for number, line in enumerate(text.splitlines(), 1)
            for match in FIGURE.finditer(line)]


def quoting_files(root: Path = ROOT) -> list[Path]:
    return sorted({path for pattern in QUOTING for path in root.glob(pattern)})


def unknown_figures(records: dict, root: Path = ROOT) -> list[str]:
    """'file:line: figure' for each quoted figure that the records do not hold."""
    known = known_figures(records)
    return [f"{path.relative_to(root)}:{line}: {figure}" for path in quoting_files(root)
            for line, figure in figures_in(path.read_text()) if figure not in known]


def record_problems(records: dict) -> list[str]:
    """Records that do not say where their figures come from."""
    problems = []
    for name, record in records["record"].items():
        needed = MACHINE_FIELDS if record["kind"] == "measured" else ("source",)
        problems += [f"record {name}: no {field}" for field in needed if not record.get(field)]
        if record["kind"] == "measured" and record.get("machine") not in records["machines"]:
            problems.append(f"record {name}: machine {record.get('machine')!r} is not in [machines]")
        problems += [f"record {name}: {key} = {value!r} is not a figure" for key, value in record["figures"].items()
                     if not RECORDED.fullmatch(value)]
        if "preset" in record and "retired" not in record and not offered(record["preset"]):
            problems.append(f"record {name}: {record['preset']!r} is not offered: mark the record retired")
    return problems


def named_preset(preset: str):
    """(the model's registry entry, the preset's name) of "MODEL --preset NAME"; a bare MODEL runs
    its defaults, the preset with no options of its own."""
    from cifarlab.training.registry import get_model

    model, _, name = preset.partition(" --preset ")
    entry = get_model(model)
    return entry, name or next(preset_name for preset_name, options in entry.presets.items() if not options)


def offered(preset: str) -> bool:
    """Whether "MODEL --preset NAME" (or a bare MODEL, its defaults) is a preset cifarlab offers now."""
    entry, name = named_preset(preset)
    return name in entry.presets


def purpose(preset: str) -> str:
    """What an offered preset is for, in the words of `cifarlab train --help` (one text for both)."""
    entry, name = named_preset(preset)
    return entry.preset_purposes[name]


# --- the generated tables -------------------------------------------------------------------

def presets_table(records: dict, only: str = "") -> str:
    """One row per preset and machine: accuracy, time, ratio to the reference, where and when."""
    rows = ["| preset | for | seeds | test accuracy (median) | time | against the reference | machine | date | commit |",
            "|---|---|---|---|---|---|---|---|---|"]
    for record in records["record"].values():
        if "preset" not in record or "retired" in record or not record["preset"].startswith(only):
            continue
        figures = record["figures"]
        accuracy = figures["accuracy"] + (f" ({figures['range']})" if "range" in figures else "")
        against = "-"
        if "ratio" in figures:
            given = " (given the memory setting)" if record.get("reference") == "memory kept" else ""
            against = f"{figures['ratio']} of its time{given}, its accuracy {figures['reference_accuracy']}"
            if "plain_ratio" in figures:
                against += f"; {figures['plain_ratio']} of the reference as it is"
        elif "original_time" in figures:
            against = f"the original: {figures['original_time']}, {figures['original_accuracy']}"
        time = figures.get("time", "-") + (f" ({record['time_of']})" if "time_of" in record else "")
        preset = f"`{record['preset']}`" + (f" (measured as {record['measured_as']})" if "measured_as" in record else "")
        rows.append(f"| {preset} | {purpose(record['preset'])} | {record['seeds']} | {accuracy} | {time} | "
                    f"{against} | {records['machines'][record['machine']]} | {record['date']} | {record['commit']} |")
    return "\n".join(rows) + "\n"


def test_suite_sentence(records: dict) -> str:
    record = records["record"]["test-suite"]
    return (f"`python -m pytest` runs everything: {record['passed']} tests passed in {record['figures']['time']} "
            f"on a {records['machines'][record['machine']]} ({record['date']}, commit {record['commit']}; "
            f"[RESULTS](benchmarks/RESULTS.md#test-suite)).\n")


TABLES = {
    "presets": presets_table,
    "fastnet-presets": lambda records: presets_table(records, only="fastnet"),
    "test-suite": test_suite_sentence,
}


def regenerated(text: str, records: dict) -> str:
    """`text` with every generated block rendered anew from the records."""
    def render(match: re.Match) -> str:
        if match["name"] not in TABLES:
            raise SystemExit(f"unknown generated block {match['name']!r}: one of {', '.join(TABLES)}")
        return match.group(1) + TABLES[match["name"]](records) + match.group(4)

    return BLOCK.sub(render, text)


def stale_files(records: dict, root: Path = ROOT) -> list[Path]:
    return [path for path in quoting_files(root) if path.suffix == ".md"
            and regenerated(path.read_text(), records) != path.read_text()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 on any problem")
    args = parser.parse_args()
    records = load_records()
    problems = record_problems(records) + unknown_figures(records)
    if args.check:
        problems += [f"{path.relative_to(ROOT)}: a generated table is stale (run benchmarks/figures.py)"
                     for path in stale_files(records)]
    else:
        for path in stale_files(records):
            path.write_text(regenerated(path.read_text(), records))
            print(f"rewritten: {path.relative_to(ROOT)}")
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
