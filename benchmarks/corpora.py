"""Real text corpora for the topic-model benchmarks, written by others, counted one way.

Three corpora, each a list of texts from its loader:

* ``lee``: the Lee background corpus (Lee, Pincombe & Welsh 2005), 300 news articles from
  the Australian Broadcasting Corporation, one per line of ``lee_background.cor``, which the
  gensim wheel ships as test data (``gensim.test.utils.datapath('lee_background.cor')``).
* ``kjv``: the King James Bible, one document per chapter (1,189 chapters, 31,102 verses),
  from Debian's ``bible-kjv`` package. The package holds no plain text: ``/usr/lib/
  bible.data`` is a compressed database that its ``bible`` command reads. ``bible -f
  Gen1:1-Rev22:21`` (``-f`` turns its pretty-printing off) dumps every verse on a line of
  its own, after its reference (``Ge1:1 In the beginning ...``, ``1Sa3:4 ...``,
  ``Rev22:21 ...``); the verses of one book and chapter are joined into one document, and
  the references left out.
* ``fortunes``: the fortune cookies of Debian's ``fortunes`` package (``fortunes-min`` and
  ``fortunes``), one document per cookie: every plain file of ``/usr/share/games/fortunes``
  that has a ``.dat`` index beside it, cut at the lines that hold ``%`` alone; the
  backspace overstrikes some cookies use for underlining and bold (``_\\bw``) are removed.

Setting them up (once, on a machine with the package registries)::

    pip install gensim                          # into the venv; for benchmarks only
    apt-get install -y bible-kjv fortunes       # /usr/bin/bible, /usr/share/games/fortunes

Every corpus is then counted by :func:`emkit.io.corpus.corpus_from_texts` with
:data:`emkit.io.corpus.TOPIC_MODEL_DEFAULTS` (lowercase, words of two or more letters,
English stop words, ``min_df=2``, ``max_df=0.95``) and split 90/10 with the fixed seed
:data:`SEED` (:meth:`emkit.io.corpus.Corpus.split`): the vocabulary is that of the whole
corpus, the held-out documents those the seed draws.

Usage::

    PYTHONPATH=src python benchmarks/corpora.py            # sizes of the three corpora
    PYTHONPATH=src python benchmarks/corpora.py kjv        # one of them

and from a benchmark: ``train, test = corpora.prepared("kjv")``.
"""

from __future__ import annotations

import argparse
import pathlib
import re
import shutil
import subprocess
import sys
from collections.abc import Callable

from emkit.io.corpus import Corpus, corpus_from_texts

SEED = 0
"""Seed of every corpus's 90/10 split."""
TEST_SIZE = 0.1

FORTUNES = pathlib.Path("/usr/share/games/fortunes")
# A verse line of `bible -f`: book abbreviation (may begin with a digit), chapter, verse.
_VERSE = re.compile(r"^(?P<book>\d?[A-Za-z]+)(?P<chapter>\d+):(?P<verse>\d+) (?P<text>.*)$")
_OVERSTRIKE = re.compile(r"[^\x08]\x08")


def lee() -> tuple[list[str], list[str]]:
    """The 300 documents of the Lee background corpus and their names (``line 1``, ...).

    Raises
    ------
    RuntimeError
        When gensim, whose wheel holds the file, is not installed.
    """
    try:
        from gensim.test.utils import datapath
    except ImportError:
        raise RuntimeError("the Lee corpus comes with gensim: pip install gensim") from None
    lines = pathlib.Path(datapath("lee_background.cor")).read_text(encoding="utf-8").splitlines()
    kept = [(i, line) for i, line in enumerate(lines, start=1) if line.strip()]
    return [line for _, line in kept], [f"line {i}" for i, _ in kept]


def kjv() -> tuple[list[str], list[str]]:
    """The chapters of the King James Bible (1,189 documents, the verses of a chapter joined
    by spaces, without their numbers) and their names (``Ge1``, ..., ``Rev22``).

    Raises
    ------
    RuntimeError
        When the ``bible`` command (Debian's bible-kjv) is not installed, or its output is
        not one verse a line.
    """
    command = shutil.which("bible")
    if command is None:
        raise RuntimeError(
            "the KJV corpus comes from Debian's bible-kjv: apt-get install bible-kjv"
        )
    dump = subprocess.run(
        [command, "-f", "Gen1:1-Rev22:21"], capture_output=True, check=True, text=True
    ).stdout
    chapters: dict[str, list[str]] = {}
    for number, line in enumerate(dump.splitlines(), start=1):
        if not line.strip():
            continue
        verse = _VERSE.match(line)
        if verse is None:
            raise RuntimeError(f"line {number} of `bible -f` is not a verse: {line[:60]!r}")
        chapters.setdefault(verse["book"] + verse["chapter"], []).append(verse["text"])
    return [" ".join(verses) for verses in chapters.values()], list(chapters)


def fortunes(folder: pathlib.Path = FORTUNES) -> tuple[list[str], list[str]]:
    """Every fortune cookie of ``folder`` and its name (``file:index``), the files in order
    of name.

    Raises
    ------
    RuntimeError
        When the folder holds no fortune files (Debian's fortunes is not installed).
    """
    files = sorted(p for p in folder.glob("*") if p.is_file() and p.with_suffix(".dat").exists())
    files = [p for p in files if not p.suffix]
    if not files:
        raise RuntimeError(f"no fortune files in {folder}: apt-get install fortunes")
    texts, names = [], []
    for path in files:
        raw = path.read_text(encoding="utf-8", errors="replace")
        cookies = re.split(r"^%$", raw, flags=re.MULTILINE)
        for i, cookie in enumerate(cookies):
            cookie = _unstruck(cookie).strip()
            if cookie:
                texts.append(cookie)
                names.append(f"{path.name}:{i}")
    return texts, names


def _unstruck(text: str) -> str:
    """``text`` without overstrikes: a character and the backspace after it are removed,
    pair by pair, so that ``___\b\b\band`` (an underlined 'and') leaves ``and``."""
    while "\x08" in text:
        shorter = _OVERSTRIKE.sub("", text)
        if shorter == text:  # a backspace at the start: nothing to strike
            return text.replace("\x08", "")
        text = shorter
    return text


LOADERS: dict[str, Callable[[], tuple[list[str], list[str]]]] = {
    "lee": lee,
    "kjv": kjv,
    "fortunes": fortunes,
}


def counted(name: str) -> Corpus:
    """The corpus ``name`` ('lee', 'kjv' or 'fortunes') counted with the topic-model
    defaults."""
    texts, names = LOADERS[name]()
    return corpus_from_texts(texts, names)


def prepared(name: str) -> tuple[Corpus, Corpus]:
    """Training and held-out parts (90/10, seed :data:`SEED`) of the corpus ``name``."""
    return counted(name).split(TEST_SIZE, random_state=SEED)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"of {', '.join(LOADERS)}")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(LOADERS))
    if unknown:
        parser.error(f"unknown corpora {unknown}; choose from {', '.join(LOADERS)}")
    for name in args.names or list(LOADERS):
        corpus = counted(name)
        train, test = corpus.split(TEST_SIZE, random_state=SEED)
        print(
            f"{name}: {corpus.n_documents} documents, {corpus.n_words} words, "
            f"{int(corpus.counts.sum())} tokens, {corpus.counts.nnz} non-zeros; "
            f"train {train.n_documents}, test {test.n_documents} (seed {SEED})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
