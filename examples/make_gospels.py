"""Write ``examples/data/gospels.csv``: the four gospels of the King James Bible (public
domain), one chapter a row (``chapter``, ``text``), 89 chapters, for the topic-model examples.

The text comes from Debian's ``bible-kjv`` package (``apt-get install bible-kjv``), whose
``bible -f`` command prints every verse on a line after its reference (``Mat1:1 The book
...``). Run: ``python examples/make_gospels.py``.
"""

from __future__ import annotations

import csv
import pathlib
import re
import subprocess

BOOKS = ("Mat", "Mark", "Luke", "John")
VERSE = re.compile(r"^(?P<book>[A-Za-z]+)(?P<chapter>\d+):\d+ (?P<text>.*)$")


def main() -> None:
    out = subprocess.run(
        ["bible", "-f", "Mat1:1-John21:25"], capture_output=True, text=True, check=True
    ).stdout
    chapters: dict[str, list[str]] = {}
    for line in out.splitlines():
        match = VERSE.match(line.strip())
        if match and match["book"] in BOOKS:
            chapters.setdefault(f"{match['book']} {match['chapter']}", []).append(match["text"])
    path = pathlib.Path(__file__).parent / "data" / "gospels.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["chapter", "text"])
        for name, verses in chapters.items():
            writer.writerow([name, " ".join(verses)])
    print(f"{path}: {len(chapters)} chapters")


if __name__ == "__main__":
    main()
