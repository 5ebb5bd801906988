"""The blanks of the assignment, marked once in the solution's own source.

Each region a student fills in sits between the course's comment pair

    # PUT YOUR CODE HERE
    ...the solution...
    # END OF YOUR CODE

in cifarlab/assignment/solution/. The skeleton keeps the pair and puts `raise
NotImplementedError` between them, so the skeleton and the solution cannot drift apart.
"""

from __future__ import annotations

from importlib import resources

BEGIN, END = "# PUT YOUR CODE HERE", "# END OF YOUR CODE"


class MarkerError(ValueError):
    """A marker without its partner: the solution file is broken (a programming error)."""


def regions(source: str) -> list[tuple[int, int]]:
    """(begin line, end line) of every marked region, 0-based, markers included."""
    found, begin = [], None
    for number, line in enumerate(source.splitlines()):
        text = line.strip()
        if text == BEGIN:
            if begin is not None:
                raise MarkerError(f"line {number + 1}: '{BEGIN}' inside a region opened on line {begin + 1}")
            begin = number
        elif text == END:
            if begin is None:
                raise MarkerError(f"line {number + 1}: '{END}' without '{BEGIN}'")
            found.append((begin, number))
            begin = None
    if begin is not None:
        raise MarkerError(f"line {begin + 1}: '{BEGIN}' never closed")
    return found


def blank_out(source: str) -> str:
    """The skeleton of `source`: every marked region's body replaced by `raise NotImplementedError`."""
    lines = source.splitlines()
    for begin, end in reversed(regions(source)):
        indent = lines[begin][: len(lines[begin]) - len(lines[begin].lstrip())]
        lines[begin + 1:end] = [f"{indent}raise NotImplementedError"]
    return "\n".join(lines) + "\n"


def solution_source(name: str) -> str:
    """The text of one solution file (e.g. "modules.py"), from the installed package."""
    return (resources.files("cifarlab.assignment") / "solution" / name).read_text()
