"""``emkit topics``, and ``emkit predict`` and ``emkit info`` of its models: a corpus of three
clear themes read from a text file, a folder and a CSV column; the summary's numbers against
the Python API (and NumPy) on the same split; the model file's vocabulary; the topic
proportions of new texts; and the errors of bad input."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest
from sklearn.feature_extraction.text import CountVectorizer

import emkit
from cli_support import run_cli
from emkit.io.corpus import TOPIC_MODEL_DEFAULTS, read_corpus

THEMES = {
    "space": "planet orbit rocket star galaxy moon telescope astronaut comet nebula".split(),
    "cooking": "recipe oven flour sugar butter bake dough kitchen spoon pastry".split(),
    "football": "goal match team player referee stadium league score coach penalty".split(),
}
K = 3


def _documents(n=36, seed=0):
    rng = np.random.RandomState(seed)
    themes = list(THEMES.values())
    # "the" and "and" are stop words: the vocabulary leaves them out.
    return [" ".join(["the", *rng.choice(themes[i % K], size=10), "and"]) + "." for i in range(n)]


@pytest.fixture
def texts():
    return _documents()


@pytest.fixture
def line_file(tmp_path, texts):
    path = tmp_path / "docs.txt"
    path.write_text("\n".join(texts) + "\n")
    return path


@pytest.fixture
def folder(tmp_path, texts):
    path = tmp_path / "docs"
    path.mkdir()
    for i, text in enumerate(texts):
        (path / f"doc{i:02d}.txt").write_text(text)
    return path


@pytest.fixture
def table(tmp_path, texts):
    path = tmp_path / "docs.csv"
    with path.open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["id", "text"])
        writer.writerows([i, text] for i, text in enumerate(texts))
    return path


def _face(model):
    """The face and parameters that emkit topics -k 3 --random-state 0 fits."""
    if model == "lda":
        return emkit.LatentDirichletAllocation(K, random_state=0)
    if model == "plsa":
        return emkit.PLSA(K, random_state=0, smoothing=1 / K)
    return emkit.MultinomialMixture(K, random_state=0, prior=1 + 1 / K)


def _ok(capsys, *argv):
    code, out, err = run_cli(capsys, *argv)
    assert code == 0, err
    assert err == ""
    return out


def _fail(capsys, *argv):
    """A command that must fail with one error line; returns the message."""
    code, out, err = run_cli(capsys, *argv)
    assert code == 2, (out, err)
    assert out == ""
    assert err.startswith("emkit: error: ") and err.count("\n") == 1, err
    return err.removeprefix("emkit: error: ").rstrip("\n")


def _topic_table(out):
    """The rows of the table of topics: (numbers, words) by topic."""
    lines = out.splitlines()
    start = next(
        i for i, line in enumerate(lines) if line.split()[:1] == ["topic"] and "top words" in line
    )
    header = lines[start].split()
    numeric = header.index("top")
    rows = []
    for line in lines[start + 1 :]:
        fields = line.split()
        if not fields or not fields[0].isdigit():
            break
        rows.append((fields[1:numeric], fields[numeric:]))
    return header[:numeric], rows


def _field(out, label):
    (line,) = [line for line in out.splitlines() if line.startswith(f"{label}  ")]
    return line[len(label) :].strip()


def _num(value):
    return f"{float(value):.6g}"


def _reference_sizes(reference, model, train):
    """Shares of the training words by the documents' proportions, or of the documents."""
    counts = train.counts
    if model == "unigrams":
        return np.asarray(reference.predict_proba(counts)).mean(axis=0)
    theta = np.asarray(reference.transform(counts), dtype=np.float64)
    words = np.asarray(counts.sum(axis=1), dtype=np.float64).ravel()
    return theta.T @ words / words.sum()


@pytest.mark.parametrize("model", ["lda", "plsa", "unigrams"])
def test_topics_of_a_line_file_equal_the_python_api(tmp_path, capsys, line_file, model):
    out = _ok(
        capsys,
        "topics",
        line_file,
        "--topics",
        K,
        "--model",
        model,
        "--random-state",
        0,
        "-o",
        tmp_path / "m.emkit",
    )
    corpus = read_corpus(line_file)
    train, test = corpus.split(0.1, random_state=0)
    reference = _face(model).fit(train)

    header, rows = _topic_table(out)
    assert header == ["topic", "size", "UMass", "NPMI"]
    assert len(rows) == K
    # Every topic's top words are those of one theme, and every theme has its topic.
    themes = set()
    for _, words in rows:
        assert len(words) == 10
        (theme,) = [name for name, vocabulary in THEMES.items() if set(words) <= set(vocabulary)]
        themes.add(theme)
    assert themes == set(THEMES)
    assert [words for _, words in rows] == reference.top_words(10).tolist()

    sizes = np.array([float(numbers[0]) for numbers, _ in rows])
    assert abs(sizes.sum() - 1.0) < 1e-5
    expected = _reference_sizes(reference, model, train)
    assert [numbers[0] for numbers, _ in rows] == [_num(v) for v in expected]
    umass = reference.coherence(train, measure="umass", top_n=10)
    npmi = reference.coherence(train, measure="npmi", top_n=10)
    assert [numbers[1] for numbers, _ in rows] == [_num(v) for v in umass]
    assert [numbers[2] for numbers, _ in rows] == [_num(v) for v in npmi]
    assert _field(out, "mean coherence") == f"UMass {_num(umass.mean())}, NPMI {_num(npmi.mean())}"

    heldout = reference.heldout_log_likelihood(test)
    assert np.isfinite(heldout)
    assert _field(out, "held-out").startswith(
        f"log-likelihood per word {_num(heldout)}, perplexity {_num(math.exp(-heldout))} "
    )
    assert _field(out, "split").startswith("32 documents for training (320 words), 4 documents")
    assert _field(out, "corpus") == (
        f"{str(line_file)!r}: 36 documents, 360 words, a vocabulary of 30 words"
    )

    # The model file keeps the vocabulary, and the fitted topics are the API's.
    loaded = emkit.load(tmp_path / "m.emkit")
    assert type(loaded) is type(reference)
    np.testing.assert_array_equal(loaded.feature_names_in_, corpus.vocabulary)
    np.testing.assert_allclose(
        loaded.topic_word_distribution(), reference.topic_word_distribution(), rtol=1e-12
    )


def test_a_folder_and_a_table_column_give_the_fit_of_the_line_file(
    tmp_path, capsys, line_file, folder, table
):
    argv = ["--topics", K, "--random-state", 0]
    outs = [
        _ok(capsys, "topics", line_file, *argv, "-o", tmp_path / "a.emkit"),
        _ok(capsys, "topics", folder, *argv, "-o", tmp_path / "b.emkit"),
        _ok(capsys, "topics", table, "--column", "text", *argv, "-o", tmp_path / "c.emkit"),
    ]
    # The same documents in the same order: all but the lines that name the files agree.
    kept = [
        [line for line in out.splitlines() if not line.startswith(("corpus", "model written"))]
        for out in outs
    ]
    assert kept[0] == kept[1] == kept[2]
    assert _topic_table(outs[0])[1]


def test_options_reach_the_face_and_the_vocabulary(tmp_path, capsys, line_file):
    out = _ok(
        capsys,
        "topics",
        line_file,
        "-k",
        2,
        "--max-iter",
        4,
        "--doc-topic-prior",
        "auto",
        "--topic-word-prior",
        0.05,
        "--max-features",
        12,
        "--test-size",
        0,
        "--top-words",
        3,
        "--random-state",
        1,
        "-o",
        tmp_path / "m.emkit",
    )
    model = emkit.load(tmp_path / "m.emkit")
    params = model.get_params()
    assert params["max_iter"] == 4 and params["random_state"] == 1
    assert params["doc_topic_prior"] == "auto" and params["topic_word_prior"] == 0.05
    corpus = read_corpus(line_file, max_features=12)
    np.testing.assert_array_equal(model.feature_names_in_, corpus.vocabulary)
    reference = emkit.LatentDirichletAllocation(
        2, max_iter=4, doc_topic_prior="auto", topic_word_prior=0.05, random_state=1
    ).fit(corpus)
    np.testing.assert_allclose(model.components_, reference.components_, rtol=1e-12)
    assert [words for _, words in _topic_table(out)[1]] == reference.top_words(3).tolist()
    assert _field(out, "held-out") == "no documents held out (--test-size 0)"
    assert _field(out, "split").startswith("36 documents for training")
    assert _field(out, "iterations") == "4 iterations of at most 4"
    # Coherence takes at least two top words.
    assert "top 3 words" in _field(out, "coherence")


def test_online_learning(tmp_path, capsys, line_file):
    argv = ["-k", 2, "--learning-method", "online", "--batch-size", 8, "--random-state", 0]
    out = _ok(capsys, "topics", line_file, *argv, "-o", tmp_path / "m.emkit")
    assert out.startswith(
        "emkit topics: latent Dirichlet allocation, 2 topics, online variational Bayes\n"
    )
    train = read_corpus(line_file).split(0.1, random_state=0)[0]
    reference = emkit.LatentDirichletAllocation(
        2, learning_method="online", batch_size=8, random_state=0
    ).fit(train)
    assert [words for _, words in _topic_table(out)[1]] == reference.top_words(10).tolist()


def test_stop_words_none_keeps_them(tmp_path, capsys, line_file):
    _ok(
        capsys,
        "topics",
        line_file,
        "-k",
        2,
        "--stop-words",
        "none",
        "--max-df",
        1.0,
        "--random-state",
        0,
        "-o",
        tmp_path / "m.emkit",
        "--quiet",
    )
    words = set(emkit.load(tmp_path / "m.emkit").feature_names_in_)
    assert {"the", "and"} <= words


@pytest.mark.parametrize(
    ("model", "suffix", "extra"),
    [("lda", ".csv", ()), ("plsa", ".parquet", ()), ("unigrams", ".csv", ("--texts",))],
)
def test_predict_writes_the_proportions_of_new_texts(
    tmp_path, capsys, line_file, model, suffix, extra
):
    model_file = tmp_path / "m.emkit"
    _ok(capsys, "topics", line_file, "-k", K, "--model", model, "--random-state", 0,
        "-o", model_file, "--quiet")  # fmt: skip
    fitted = emkit.load(model_file)
    new = _documents(7, seed=1)
    new[3] = "nothing of the vocabulary here"
    corpus_file = tmp_path / "new.txt"
    # A blank line is no document: the names are the lines of the others.
    corpus_file.write_text("\n".join(new[:2]) + "\n\n" + "\n".join(new[2:]) + "\n")
    out_file = tmp_path / f"out{suffix}"
    assert _ok(capsys, "predict", model_file, corpus_file, *extra, "-o", out_file) == ""

    import pandas as pd

    table = pd.read_parquet(out_file) if suffix == ".parquet" else pd.read_csv(out_file)
    assert list(table.columns) == ["document", *(f"topic{k}" for k in range(K))]
    assert table["document"].tolist() == [1, 2, 4, 5, 6, 7, 8]
    counter = CountVectorizer(
        vocabulary=list(fitted.feature_names_in_),
        token_pattern=TOPIC_MODEL_DEFAULTS["token_pattern"],
    )
    counts = counter.transform(new)
    assert counts[3].sum() == 0
    expected = fitted.predict_proba(counts) if model == "unigrams" else fitted.transform(counts)
    np.testing.assert_array_equal(table.iloc[:, 1:].to_numpy(), expected)
    np.testing.assert_allclose(table.iloc[:, 1:].sum(axis=1), 1.0)


def test_predict_names_files_and_rows(tmp_path, capsys, line_file, folder, table):
    model_file = tmp_path / "m.emkit"
    _ok(capsys, "topics", line_file, "-k", K, "--random-state", 0, "-o", model_file, "-q")
    code, out, err = run_cli(capsys, "predict", model_file, folder)
    assert code == 0, err
    rows = list(csv.reader(out.splitlines()))
    assert rows[0][0] == "document"
    assert [row[0] for row in rows[1:]] == [f"doc{i:02d}.txt" for i in range(36)]
    code, out, err = run_cli(capsys, "predict", model_file, table, "--column", "text")
    assert code == 0, err
    by_line = list(csv.reader(_ok(capsys, "predict", model_file, line_file).splitlines()))
    rows = list(csv.reader(out.splitlines()))
    assert [row[0] for row in rows[1:]] == [str(i) for i in range(36)]
    # The same documents: the same proportions, whatever names them.
    assert [row[1:] for row in rows] == [row[1:] for row in by_line]


@pytest.mark.parametrize("model", ["lda", "unigrams"])
def test_info_prints_the_topics(tmp_path, capsys, line_file, model):
    model_file = tmp_path / "m.emkit"
    out = _ok(capsys, "topics", line_file, "-k", K, "--model", model, "--random-state", 0,
              "-o", model_file)  # fmt: skip
    info = _ok(capsys, "info", model_file)
    words = [w for _, w in _topic_table(out)[1]]
    header, rows = _topic_table(info[info.index("\ntopics (top 10 words") :])
    assert [w for _, w in rows] == words
    fitted = emkit.load(model_file)
    if model == "unigrams":
        # The mixture's weights: its share of the training documents.
        assert header == ["topic", "size"]
        assert [numbers[0] for numbers, _ in rows] == [_num(w) for w in fitted.weights_]
    else:
        assert header == ["topic"]
        assert "vocabulary      30 words (astronaut, bake, butter," in info
        assert "latent Dirichlet allocation, 3 topics, batch variational Bayes" in info


# --------------------------------------------------------------------------------------- #
# Bad input
# --------------------------------------------------------------------------------------- #


def test_errors_of_the_corpus(tmp_path, capsys, line_file, table):
    missing = tmp_path / "nope.txt"
    assert _fail(capsys, "topics", missing, "-k", 2) == f"no such file or folder: {str(missing)!r}"
    message = _fail(capsys, "topics", table, "-k", 2, "-o", tmp_path / "m.emkit")
    assert message.endswith(
        "has 2 columns ('id', 'text'); say which holds the texts with --column NAME"
    )
    message = _fail(capsys, "topics", table, "-k", 2, "--column", "body")
    assert message.endswith("has no column 'body'; its columns are 'id', 'text'")
    message = _fail(capsys, "topics", line_file, "-k", 2, "--column", "text")
    assert message.startswith("--column 'text' names a column of a table")
    blank = tmp_path / "blank.txt"
    blank.write_text("\n  \n\n")
    assert "holds no documents" in _fail(capsys, "topics", blank, "-k", 2)
    message = _fail(capsys, "topics", line_file, "-k", 2, "--min-df", 40)
    assert message.startswith(
        f"no word of the documents of {str(line_file)!r} is left in the vocabulary (--min-df 40, "
    )
    assert "--min-df 1 words of one document" in message
    assert not (tmp_path / "m.emkit").exists()


def test_errors_of_the_options(tmp_path, capsys, line_file):
    code, out, err = run_cli(capsys, "topics", line_file, "--topics", 0)
    assert code == 2 and out == ""
    assert "argument --topics/-k: expected a whole number >= 1, got '0'" in err
    assert _fail(
        capsys, "topics", line_file, "-k", 2, "--model", "plsa", "--doc-topic-prior", 1
    ) == ("--doc-topic-prior applies to --model lda only, not plsa")
    assert _fail(capsys, "topics", line_file, "-k", 2, "--model", "plsa", "--batch-size", 5) == (
        "--batch-size applies to --model lda and unigrams only, not plsa"
    )
    message = _fail(capsys, "topics", line_file, "-k", 2, "--topic-word-prior", 0)
    assert message.startswith("--topic-word-prior must be")
    assert _fail(capsys, "topics", line_file, "-k", 40) == (
        f"{str(line_file)!r} has 32 training documents, fewer than the 40 topics asked for"
    )
    assert _fail(capsys, "topics", line_file, "-k", 2, "--test-size", 36).startswith(
        "--test-size 36 leaves no documents for training"
    )
    code, _, err = run_cli(capsys, "topics", line_file, "-k", 2, "--test-size", 1.0)
    assert code == 2 and "the fit needs documents too" in err


def test_errors_of_predict(tmp_path, capsys, line_file):
    model_file = tmp_path / "m.emkit"
    _ok(capsys, "topics", line_file, "-k", K, "--random-state", 0, "-o", model_file, "-q")
    assert _fail(capsys, "predict", model_file, line_file, "--proba") == (
        f"--proba applies to models of rows; {str(model_file)!r} holds a "
        "LatentDirichletAllocation, whose predictions are the topic proportions of texts"
    )
    missing = tmp_path / "none.txt"
    assert (
        _fail(capsys, "predict", model_file, missing) == f"no such file or folder: {str(missing)!r}"
    )
    # A mixture of unigrams reads rows of counts too: texts need --texts.
    _ok(capsys, "topics", line_file, "-k", K, "--model", "unigrams", "-o", model_file, "-q")
    assert _fail(capsys, "predict", model_file, line_file).endswith(
        f"; if {str(line_file)!r} holds texts, give --texts"
    )
    # A model of rows reads no texts.
    rows = tmp_path / "rows.csv"
    rng = np.random.default_rng(0)
    rows.write_text("a,b\n" + "".join(f"{x},{y}\n" for x, y in rng.normal(size=(20, 2))))
    gmm = tmp_path / "gmm.emkit"
    _ok(capsys, "fit", rows, "--model", "gmm", "-k", 2, "-o", gmm, "-q", "--random-state", 0)
    assert _fail(capsys, "predict", gmm, line_file, "--texts") == (
        f"--texts needs a model of texts (emkit topics); {str(gmm)!r} holds a GaussianMixture, "
        "which reads rows of numbers"
    )


def test_the_unigram_mixture_reads_a_corpus(line_file):
    corpus = read_corpus(line_file)
    train, test = corpus.split(0.1, random_state=0)
    from_corpus = emkit.MultinomialMixture(K, random_state=0, prior=1.5).fit(train)
    from_counts = emkit.MultinomialMixture(K, random_state=0, prior=1.5).fit(train.counts)
    np.testing.assert_array_equal(from_corpus.feature_names_in_, corpus.vocabulary)
    assert not hasattr(from_counts, "feature_names_in_")
    np.testing.assert_array_equal(from_corpus.probs_, from_counts.probs_)
    np.testing.assert_array_equal(
        from_corpus.predict_proba(test), from_counts.predict_proba(test.counts)
    )
    # New counts over the vocabulary are checked by their width; another vocabulary refused.
    np.testing.assert_array_equal(from_corpus.predict(test.counts), from_corpus.predict(test))
    other = read_corpus(line_file, max_features=5)
    with pytest.raises(ValueError, match="is not the one MultinomialMixture was fitted to"):
        from_corpus.predict(other)
    # The plug-in held-out likelihood, by brute force over the documents' words.
    theta = from_corpus.predict_proba(test)
    dense = test.counts.toarray()
    expected = np.sum(dense * np.log(theta @ from_corpus.probs_)) / dense.sum()
    assert from_corpus.heldout_log_likelihood(test) == pytest.approx(expected, rel=1e-12)


def test_progress_goes_to_standard_error(tmp_path, capsys, line_file):
    argv = ["topics", line_file, "-k", 2, "--random-state", 0, "-o", tmp_path / "m.emkit"]
    code, out, err = run_cli(capsys, *argv, "--progress")
    assert code == 0
    assert out.startswith("emkit topics: ")
    assert "run 1/1: iteration 10/10" in err
    code, out, err = run_cli(capsys, *argv, "--progress", "--quiet")
    assert (code, out, err) == (0, "", "")
