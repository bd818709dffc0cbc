"""Write ``examples/data/casino.csv``: rolls of the occasionally dishonest casino.

The casino of Durbin, Eddy, Krogh and Mitchison (*Biological Sequence Analysis*, 1998) rolls a
fair die, and now and then swaps it for a loaded one that shows a six half the time (every
other face a tenth of the time). It swaps the fair die for the loaded one with probability
0.05 after a roll, and back with probability 0.10; the first roll of a session uses either die
with probability 1/2.

The file has two columns: ``sequence``, the session (1, 2, ...; the rows of one session are
consecutive and in the order rolled), and ``roll``, the face shown **minus one**, so that the
faces 1..6 are the symbol codes 0..5 that ``emkit fit --model hmm --emission categorical``
expects. Which die was used is not written; :func:`simulate` returns it.

Run with ``python examples/make_casino.py`` from the repository root; the fixed seed makes
the file the same on every run.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

SEED = 20240601
N_SESSIONS = 12
# Session lengths are drawn from this range (inclusive), so that sequences differ in length.
MIN_ROLLS, MAX_ROLLS = 200, 400

STARTPROB = np.array([0.5, 0.5])
# State 0 is the fair die, state 1 the loaded one.
TRANSMAT = np.array([[0.95, 0.05], [0.10, 0.90]])
EMISSIONPROB = np.array([[1 / 6] * 6, [0.1] * 5 + [0.5]])

OUTPUT = Path(__file__).resolve().parent / "data" / "casino.csv"


def simulate(seed: int = SEED) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Roll the casino's dice for ``N_SESSIONS`` sessions.

    Parameters
    ----------
    seed : int
        Seed of the random generator.

    Returns
    -------
    sequence : ndarray of int, shape (n_rolls,)
        Session of every roll, 1 .. N_SESSIONS, sessions one after another.
    roll : ndarray of int, shape (n_rolls,)
        Face shown minus one, 0 .. 5.
    loaded : ndarray of int, shape (n_rolls,)
        1 where the loaded die was rolled, 0 for the fair one.
    """
    rng = np.random.RandomState(seed)
    lengths = rng.randint(MIN_ROLLS, MAX_ROLLS + 1, size=N_SESSIONS)
    sequence, roll, loaded = [], [], []
    for session, n in enumerate(lengths, start=1):
        die = rng.choice(2, p=STARTPROB)
        for _ in range(n):
            sequence.append(session)
            loaded.append(die)
            roll.append(rng.choice(6, p=EMISSIONPROB[die]))
            die = rng.choice(2, p=TRANSMAT[die])
    return np.array(sequence), np.array(roll), np.array(loaded)


def write(path: Path = OUTPUT, seed: int = SEED) -> Path:
    """Write the rolls of :func:`simulate` as CSV with the columns ``sequence,roll``.

    Returns
    -------
    pathlib.Path
        The path written.
    """
    sequence, roll, _ = simulate(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["sequence", "roll"])
        writer.writerows(zip(sequence.tolist(), roll.tolist(), strict=True))
    return path


if __name__ == "__main__":
    print(f"wrote {write()}")
