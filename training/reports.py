"""Print a measurement report as JSON, and keep a copy where asked."""

from __future__ import annotations

import json


def print_report(report: dict, path: str | None = None) -> None:
    """Print `report` as indented JSON and, given a path, write the same text there."""
    text = json.dumps(report, indent=2)
    print(text)
    if path:
        with open(path, "w") as out:
            out.write(text)
