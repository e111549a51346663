"""Writes one marked section of bench/REPORT.md (`<!-- NAME:begin -->` … `<!-- NAME:end -->`):
replaced where the markers are, else inserted after another marker line, else appended. Shared by
the report scripts that each own a section."""

from __future__ import annotations

from typing import Optional


def write(report: str, begin: str, end: str, section: str, after: Optional[str] = None) -> None:
    """`section` (which starts with `begin` and ends with `end` and a newline) into `report`."""
    text = open(report).read()
    if begin in text and end in text:
        a, b = text.index(begin), text.index(end) + len(end) + 1
        text = text[:a] + section + text[b:]
    elif after and after in text:
        a = text.index(after) + len(after) + 1
        text = text[:a] + "\n" + section + text[a:]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    with open(report, "w") as f:
        f.write(text)
