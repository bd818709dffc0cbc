"""``emkit topics``: the topics of a corpus of texts, a model file and their summary.

The corpus is read and counted by :func:`emkit.io.corpus.read_corpus` (through
:func:`emkit.cli.data.read_texts`), split into training and held-out documents over one
vocabulary (:meth:`emkit.io.corpus.Corpus.split`), and the model fitted to the training
documents, a :class:`~emkit.io.corpus.Corpus` whose vocabulary becomes the model's
``feature_names_in_``: the model file keeps the words, over which ``emkit predict`` counts
new texts with the same token pattern and lowercasing (the options of the vocabulary choose
its words only). The summary's numbers are the face's methods (``top_words``,
``coherence``, ``heldout_log_likelihood``; :mod:`emkit.cli.summary`).

Ctrl-C during the fit stops it at its last whole point, as for ``emkit fit``: the model so
far is written, its summary printed, and the command exits with status 130.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings
from pathlib import Path
from typing import Any

from emkit.cli.data import read_texts
from emkit.cli.errors import EXIT_INTERRUPTED, PROG, CommandError, speaking
from emkit.cli.fit import print_warnings, says_interrupted
from emkit.cli.parser import MODEL_SUFFIX
from emkit.cli.progress import FitProgress, wanted
from emkit.cli.summary import quote, topic_scores, topics_summary

__all__ = ["FACES", "run"]

FACES = {
    "lda": "emkit.estimators.lda:LatentDirichletAllocation",
    "plsa": "emkit.estimators.plsa:PLSA",
    "unigrams": "emkit.estimators.mixtures:MultinomialMixture",
}
"""The face of every ``--model``, as ``module:class``, imported when it is used."""

# The options that set a face's parameters: for every model that takes the option, the
# parameter it sets. --topic-word-prior is every model's pseudo-count of a word in a topic:
# LDA's topic-word prior, PLSA's smoothing, and the concentration 1 + ETA of the unigrams'
# Dirichlet prior (whose M-step adds ETA to every count).
_OPTIONS: dict[str, dict[str, str]] = {
    "--learning-method": {"lda": "learning_method", "unigrams": "learning_method"},
    "--max-iter": {name: "max_iter" for name in FACES},
    "--doc-topic-prior": {"lda": "doc_topic_prior"},
    "--topic-word-prior": {"lda": "topic_word_prior", "plsa": "smoothing", "unigrams": "prior"},
    "--batch-size": {"lda": "batch_size", "unigrams": "batch_size"},
    "--n-init": {name: "n_init" for name in FACES},
    "--random-state": {name: "random_state" for name in FACES},
    "--n-jobs": {name: "n_jobs" for name in FACES},
}
# Options of the vocabulary, by the CountVectorizer parameter they set.
_VOCABULARY = {"min_df": "--min-df", "max_df": "--max-df", "max_features": "--max-features"}


def run(args: argparse.Namespace) -> int | None:
    """Read, split, fit, summarise and save; returns 130 when Ctrl-C stopped the fit."""
    from emkit.io.model_file import check_writable

    face = _face(args.model)
    estimator = face(n_components=args.topics, **_parameters(args))
    # The face's messages name its parameters as the options that set them.
    names = {names[args.model]: flag for flag, names in _OPTIONS.items() if args.model in names}
    names["n_components"] = "--topics"
    output = args.output or Path(args.corpus).stem + MODEL_SUFFIX
    # A save that cannot succeed is reported now, not after a long fit.
    check_writable(output)
    corpus = read_texts(args.corpus, args.column, options=_vocabulary(args))
    train, test, split = _split(corpus, args)
    if train.n_documents < args.topics:
        raise CommandError(
            f"{quote(args.corpus)} has {train.n_documents} training documents, fewer than the "
            f"{args.topics} topics asked for"
        )
    show = wanted(args.progress, args.quiet, sys.stderr)
    progress = FitProgress(int(estimator.n_init), int(estimator.max_iter), show=show)
    with warnings.catch_warnings(record=True) as caught, speaking(names):
        warnings.simplefilter("always")
        with progress:
            estimator.fit(train)
    interrupted = any(says_interrupted(warning) for warning in caught)
    if interrupted:
        # Saved before the summary, which a second Ctrl-C may cut short.
        print_warnings(caught, names, ())
        estimator.save(output)
        print(f"{PROG}: interrupted: the model so far is written to {output}", file=sys.stderr)
    lines = []
    with warnings.catch_warnings(record=True) as scoring:
        warnings.simplefilter("always")
        if not args.quiet:
            scores = topic_scores(estimator, train, test, args.top_words)
            lines = topics_summary(
                estimator, args.corpus, corpus, train, test, split, scores, args.top_words
            )
    print_warnings([*caught, *scoring], names, ())
    if not interrupted:
        estimator.save(output)
    if not args.quiet:
        lines.append(f"model written to {output}")
        print("\n".join(lines))
    return EXIT_INTERRUPTED if interrupted else None


def _face(model: str) -> type:
    module, _, name = FACES[model].partition(":")
    return getattr(importlib.import_module(module), name)


def _parameters(args: argparse.Namespace) -> dict[str, Any]:
    """The face's parameters the options set; CommandError for an option given to a model
    it does not apply to."""
    params: dict[str, Any] = {}
    for flag, names in _OPTIONS.items():
        value = getattr(args, flag.removeprefix("--").replace("-", "_"))
        if value is None:
            continue
        if args.model not in names:
            takers = " and ".join(names)
            raise CommandError(f"{flag} applies to --model {takers} only, not {args.model}")
        params[names[args.model]] = value
    eta = params.get(_OPTIONS["--topic-word-prior"].get(args.model, ""))
    if args.model != "lda" and eta == "auto":
        raise CommandError(f"--topic-word-prior auto applies to --model lda only, not {args.model}")
    if args.model != "lda":
        # LDA's default pseudo-count, 1/K, for every model: a word never seen with a topic
        # in training stays possible in a held-out document.
        word_prior = _OPTIONS["--topic-word-prior"][args.model]
        eta = params.get(word_prior, 1.0 / args.topics)
        params[word_prior] = 1.0 + eta if args.model == "unigrams" else eta
    return params


def _vocabulary(args: argparse.Namespace) -> dict[str, Any]:
    options: dict[str, Any] = {
        name: getattr(args, name) for name in _VOCABULARY if getattr(args, name) is not None
    }
    if args.stop_words is not None:
        options["stop_words"] = None if args.stop_words == "none" else args.stop_words
    return options


def _split(corpus: Any, args: argparse.Namespace) -> tuple[Any, Any, str]:
    """The training and held-out documents (None for none), and how they were drawn."""
    size = args.test_size
    if size == 0:
        return corpus, None, "--test-size 0"
    try:
        train, test = corpus.split(size, random_state=args.split_seed)
    except ValueError:
        n = corpus.n_documents
        raise CommandError(
            f"--test-size {size} leaves no documents for training or none held out of the "
            f"{n} of {quote(args.corpus)}; --test-size 0 holds none out"
        ) from None
    return train, test, f"--test-size {size:g}, --split-seed {args.split_seed}"
