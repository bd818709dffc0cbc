"""The HTML report (``emkit.report`` and ``emkit report``): every kind of model gets its
sections, the page parses, its embedded PNG figures decode and are not blank, the plane of
the projection is scikit-learn's PCA, tables hold the model's own numbers, the command line
writes the file and refuses bad input in one line, and a real headless browser shows the
plots."""

from __future__ import annotations

import base64
import html.parser
import io
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest

import emkit
from cli_support import run_cli
from emkit.report import build_report, write_report

image = pytest.importorskip("matplotlib.image")

ROOT = pathlib.Path(__file__).resolve().parents[1]
FAITHFUL = ROOT / "examples" / "data" / "faithful.csv"
CASINO = ROOT / "examples" / "data" / "casino.csv"
GOSPELS = ROOT / "examples" / "data" / "gospels.csv"


class _Page(html.parser.HTMLParser):
    """The parts of a report the tests read: section ids, image sources, table cells (by
    the section they are in) and the text."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.images: dict[str, list[str]] = {}
        self.cells: dict[str, list[list[str]]] = {}
        self.text: list[str] = []
        self.external: list[str] = []
        self._cell: list[str] | None = None
        self.feed(text)
        self.close()

    @property
    def current(self) -> str:
        return self.sections[-1] if self.sections else ""

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section":
            self.sections.append(attrs["id"])
        elif tag == "img":
            self.images.setdefault(self.current, []).append(attrs["src"])
        elif tag == "tr":
            self.cells.setdefault(self.current, []).append([])
        elif tag in ("td", "th"):
            self._cell = []
        if tag in ("script", "link", "iframe") or (tag == "img" and "://" in attrs["src"]):
            self.external.append(tag)

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.cells[self.current][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)

    def all_text(self) -> str:
        return " ".join(" ".join(self.text).split())

    def not_shown(self) -> dict[str, str]:
        return {row[0]: row[1] for row in self.cells.get("not-shown", [])[1:]}


def _pixels(png: bytes) -> np.ndarray:
    """An RGB(A) image as floats in [0, 1], shape (height, width, channels)."""
    return image.imread(io.BytesIO(png), format="png")


def _decoded(src: str) -> np.ndarray:
    prefix = "data:image/png;base64,"
    assert src.startswith(prefix), src[:40]
    return _pixels(base64.b64decode(src[len(prefix) :], validate=True))


def _assert_not_blank(pixels: np.ndarray, min_colours: int = 8) -> None:
    rgb = pixels[..., :3]
    assert rgb.shape[0] > 100 and rgb.shape[1] > 100
    assert float(rgb.std()) > 0.05
    non_white = (rgb < 0.9).any(axis=2).mean()
    assert non_white > 0.02, non_white
    colours = np.unique((rgb * 15).round().reshape(-1, 3), axis=0)
    assert len(colours) >= min_colours, len(colours)


def _check_page(text: str) -> _Page:
    assert text.startswith("<!DOCTYPE html>")
    page = _Page(text)
    assert page.sections[0] == "summary" and page.sections[-1] == "not-shown"
    assert "diagnostics" in page.sections
    assert page.external == [], "the report must not load anything"
    for sources in page.images.values():
        for src in sources:
            _assert_not_blank(_decoded(src))
    return page


@pytest.fixture(scope="module")
def faithful():
    return np.loadtxt(FAITHFUL, delimiter=",", skiprows=1)


@pytest.fixture(scope="module")
def mixture(faithful):
    return emkit.GaussianMixture(2, n_init=3, random_state=0).fit(faithful)


@pytest.fixture(scope="module")
def mixture_report(mixture, faithful):
    return _check_page(build_report(mixture, faithful))


# ----------------------------------------------------------------------------------------- #
# Every kind of model
# ----------------------------------------------------------------------------------------- #


def test_a_gaussian_mixture_with_its_data(mixture, mixture_report, faithful):
    page = mixture_report
    assert page.sections == ["summary", "convergence", "data", "diagnostics", "not-shown"]
    assert len(page.images["convergence"]) == 1  # the bound with the restarts beside it
    assert len(page.images["data"]) == 2  # sizes, projection with uncertainty
    assert page.not_shown() == {}
    summary = dict(row for row in page.cells["summary"][1:])
    assert summary["components"] == "2" and summary["restarts"] == "3"
    assert float(summary["final bound"]) == pytest.approx(mixture.lower_bound_, rel=1e-5)
    # The uncertainty is one minus the largest posterior, here from SciPy's densities.
    from scipy.special import softmax
    from scipy.stats import multivariate_normal

    log_joint = np.column_stack(
        [
            np.log(mixture.weights_[k])
            + multivariate_normal(mixture.means_[k], mixture.covariances_[k]).logpdf(faithful)
            for k in range(2)
        ]
    )
    uncertainty = 1 - softmax(log_joint, axis=1).max(axis=1)
    assert f"mean {uncertainty.mean():.3g}, largest {uncertainty.max():.3g}" in page.all_text()


def test_the_plane_of_more_features_is_the_first_two_principal_components(faithful):
    from sklearn.decomposition import PCA

    from emkit.report.content import _plane, _project_covariances

    rng = np.random.default_rng(0)
    X = np.c_[faithful, rng.normal(size=(len(faithful), 2)) * [3.0, 0.5]]
    gm = emkit.GaussianMixture(2, random_state=0).fit(X)
    points, basis, centre, labels = _plane(gm, X)
    pca = PCA(2).fit(X)
    assert np.allclose(np.abs(basis @ pca.components_.T), np.eye(2), atol=1e-8)
    assert np.allclose(np.abs(points), np.abs(pca.transform(X)), atol=1e-8)
    assert f"{100 * pca.explained_variance_ratio_[0]:.3g} %" in labels[0]
    # A component's projected covariance is the covariance of its projected draws.
    draws = rng.multivariate_normal(gm.means_[0], gm.covariances_[0], 200_000)
    projected = _project_covariances(gm.covariances_, basis)[0]
    assert np.allclose(np.cov((draws - centre) @ basis.T, rowvar=False), projected, rtol=0.02)
    page = _check_page(build_report(gm, X))
    assert "first two principal components" in page.all_text()


@pytest.mark.parametrize("covariance_type", ["tied", "diag", "spherical", "VEI"])
def test_every_covariance_type_gets_its_ellipses(faithful, covariance_type):
    from emkit.report.content import _covariances

    gm = emkit.GaussianMixture(2, covariance_type=covariance_type, random_state=0).fit(faithful)
    full = _covariances(gm, 2, 2)
    # Every component's full matrix gives the model's own log-densities.
    from scipy.stats import multivariate_normal

    for k in range(2):
        density = multivariate_normal(gm.means_[k], full[k]).logpdf(faithful)
        proba = gm.predict_proba(faithful)[:, k]
        others = [multivariate_normal(gm.means_[j], full[j]).logpdf(faithful) for j in range(2)]
        joint = np.log(gm.weights_)[:, None] + np.array(others)
        expected = np.exp(np.log(gm.weights_[k]) + density - np.logaddexp(*joint))
        assert np.allclose(proba, expected, atol=1e-8)
    _check_page(build_report(gm, faithful))


def test_a_model_selection(faithful):
    result = emkit.select_model(
        faithful, n_components=range(1, 5), covariance_types=["EII", "VVV", "EEE"], random_state=0
    )
    page = _check_page(build_report(result, faithful))
    assert page.sections[:4] == ["summary", "convergence", "selection", "data"]
    assert len(page.images["selection"]) == 1
    rows = page.cells["selection"]
    assert rows[0] == ["covariance", "components", "BIC", "ICL"]
    best = result.ranked()[0]
    assert rows[1][:2] == [best.covariance_type, str(best.n_components)]
    assert float(rows[1][2]) == pytest.approx(best.bic, rel=1e-5)
    assert float(rows[1][3]) == pytest.approx(best.icl, rel=1e-5)
    ranked_bic = [float(r[2]) for r in rows[1:]]
    assert ranked_bic == sorted(ranked_bic, reverse=True)
    summary = dict(row for row in page.cells["summary"][1:])
    assert summary["chosen by BIC"] == f"{best.covariance_type}, {best.n_components} components"


def test_a_gaussian_hmm_with_sequences(faithful):
    lengths = [100, 172]
    hmm = emkit.GaussianHMM(2, n_iter=30, random_state=0).fit(faithful, lengths)
    page = _check_page(build_report(hmm, faithful, lengths=lengths))
    assert page.sections == ["summary", "convergence", "states", "diagnostics", "not-shown"]
    assert len(page.images["states"]) == 2  # transition matrix, state strips
    assert "(2 sequences)" in page.all_text()
    shares = [float(row[1]) for row in page.cells["states"][1:]]
    assert np.allclose(shares, hmm.predict_proba(faithful, lengths).mean(axis=0), rtol=1e-5)
    # The same from Sequences, and without data the strips are listed as not shown.
    again = _Page(build_report(hmm, emkit.Sequences(faithful, lengths)))
    assert again.cells["states"] == page.cells["states"]
    alone = _check_page(build_report(hmm))
    assert alone.not_shown()["posterior state strips"] == "no data given"
    assert len(alone.images["states"]) == 1
    with pytest.raises(ValueError):
        build_report(hmm, faithful, lengths=[100, 100])


def test_a_categorical_hmm_of_many_sequences():
    rolls = np.loadtxt(CASINO, delimiter=",", skiprows=1)
    _, lengths = np.unique(rolls[:, 0], return_counts=True)
    X = rolls[:, 1:].astype(int)
    hmm = emkit.CategoricalHMM(2, n_iter=20, random_state=0).fit(X, lengths)
    page = _check_page(build_report(hmm, X, lengths=lengths))
    assert f"the first 6 of {len(lengths)} sequences" in page.all_text()


def test_a_topic_model_lists_its_top_words():
    corpus = emkit.read_corpus(GOSPELS, column="text", max_df=0.5)
    lda = emkit.LatentDirichletAllocation(3, max_iter=5, random_state=0).fit(corpus)
    page = _check_page(build_report(lda))
    assert "topics" in page.sections
    rows = page.cells["topics"]
    assert rows[0] == ["topic", "top words"]
    assert [row[1].split() for row in rows[1:]] == [list(w) for w in lda.top_words(10)]
    # The probabilities behind them, independently: the largest of every normalised topic.
    topics = lda.components_ / lda.components_.sum(axis=1, keepdims=True)
    expected = [list(corpus.vocabulary[np.argsort(-topic, kind="stable")[:10]]) for topic in topics]
    assert [row[1].split() for row in rows[1:]] == expected
    assert page.not_shown()["data projected to 2-D"].startswith("a topic model's report")
    with pytest.warns(emkit.ConvergenceWarning):
        plsa = emkit.PLSA(2, max_iter=5, random_state=0).fit(corpus)
    assert len(_check_page(build_report(plsa)).cells["topics"]) == 3


def test_kmeans_and_factor_analysis(faithful):
    km = emkit.KMeans(3, n_init=1, random_state=0).fit(faithful)
    page = _check_page(build_report(km, faithful))
    assert len(page.images["data"]) == 2
    shares = [row for row in page.cells.get("data", [])]
    assert shares == []  # sizes are a figure, not a table
    assert "Uncertainty" not in page.all_text()  # a hard clustering has no posteriors
    fa = emkit.FactorAnalysis(1).fit(faithful)
    page = _check_page(build_report(fa, faithful))
    assert page.sections == ["summary", "convergence", "diagnostics", "not-shown"]
    assert (
        page.not_shown()["data projected to 2-D"] == "a FactorAnalysis has no components to project"
    )


def test_without_data_and_without_restarts(faithful):
    gm = emkit.GaussianMixture(2, random_state=0).fit(faithful)
    page = _check_page(build_report(gm, title="Old <Faithful>"))
    assert "<h1>Old &lt;Faithful&gt;</h1>" in build_report(gm, title="Old <Faithful>")
    skipped = page.not_shown()
    assert skipped["data projected to 2-D"] == "no data given"
    assert skipped["restarts' final bounds"].startswith("one initialisation")
    assert len(page.images["data"]) == 1  # the weights alone


def test_missing_cells_are_left_out_of_the_projection(faithful):
    X = faithful.copy()
    X[::10, 1] = np.nan
    gm = emkit.GaussianMixture(2, random_state=0).fit(X)
    page = _check_page(build_report(gm, X))
    assert f"{int(np.isnan(X).any(axis=1).sum())} with missing cells left out" in page.all_text()


def test_without_matplotlib_the_tables_remain(monkeypatch, mixture, faithful):
    for name in [n for n in sys.modules if n == "matplotlib" or n.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    page = _Page(build_report(mixture, faithful))
    assert page.images == {}
    reasons = set(page.not_shown().values())
    assert reasons == {"matplotlib is not installed (pip install 'emkit[report]')"}
    assert "bound against iterations" in page.not_shown()
    assert page.cells["summary"]


def test_figures_leave_no_pyplot_state(mixture, faithful):
    pyplot = pytest.importorskip("matplotlib.pyplot")
    before = pyplot.get_fignums()
    build_report(mixture, faithful)
    assert pyplot.get_fignums() == before


def test_bad_estimators_are_refused(faithful):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        build_report(emkit.GaussianMixture(2))
    with pytest.raises(TypeError, match="estimator must be a fitted emkit estimator"):
        build_report(faithful)
    gm = emkit.GaussianMixture(2, random_state=0).fit(faithful)
    with pytest.raises(ValueError):
        build_report(gm, faithful[:, :1])


def test_diagnostics_are_rendered_when_the_fit_has_them(faithful):
    pytest.importorskip("emkit.core.diagnostics")
    gm = emkit.GaussianMixture(2, n_init=3, random_state=0).fit(faithful)
    diagnostics = getattr(gm, "diagnostics_", None)
    if diagnostics is None:
        pytest.skip("the estimators do not record diagnostics_ yet")
    page = _check_page(build_report(gm, faithful))
    text = page.all_text()
    assert f"Verdict: {diagnostics.verdict}." in text
    for line in (*diagnostics.messages, *diagnostics.health):
        assert " ".join(line.split())[1:] in text
    numbers = dict(row for row in page.cells["diagnostics"][1:])
    assert float(numbers["rate of convergence"]) == pytest.approx(diagnostics.rate, rel=1e-5)
    assert int(numbers["restarts at the best optimum"]) == diagnostics.n_at_best
    # The rate is the ratio of successive parameter changes near the end of the fit.
    changes = np.asarray(diagnostics.parameter_changes)[-4:]
    assert diagnostics.rate == pytest.approx(np.median(changes[1:] / changes[:-1]), rel=0.2)


def test_write_report_is_atomic(tmp_path, mixture, faithful):
    target = tmp_path / "report.html"
    target.write_text("old")
    written = write_report(mixture, target, faithful)
    assert written == target.resolve()
    assert _Page(target.read_text(encoding="utf-8")).sections[0] == "summary"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]
    with pytest.raises(FileNotFoundError, match="missing"):
        write_report(mixture, tmp_path / "missing" / "report.html")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


def test_the_faces_report_method_is_the_report(tmp_path, mixture, faithful):
    page = mixture.report(faithful, title="Old Faithful")
    assert page == build_report(mixture, faithful, title="Old Faithful")
    assert "<title>Old Faithful</title>" in page
    written = mixture.report(faithful, tmp_path / "r.html", title="Old Faithful")
    assert written == (tmp_path / "r.html").resolve()
    assert written.read_text(encoding="utf-8") == page


# ----------------------------------------------------------------------------------------- #
# The command line
# ----------------------------------------------------------------------------------------- #


def _ok(capsys, *argv):
    code, out, err = run_cli(capsys, *argv)
    assert code == 0, err
    return out, err


def _fail(capsys, *argv):
    code, out, err = run_cli(capsys, *argv)
    assert code == 2, (out, err)
    assert err.startswith("emkit: error: ") and err.count("\n") == 1, err
    return err.removeprefix("emkit: error: ").rstrip("\n")


def test_cli_writes_the_report_of_a_model_file(tmp_path, capsys, monkeypatch, faithful):
    model = tmp_path / "faithful.emkit"
    _ok(capsys, "fit", FAITHFUL, "--model", "gmm", "-k", "2", "--random-state", "0", "-q",
        "-o", model)  # fmt: skip
    out, err = _ok(capsys, "report", model, FAITHFUL, "-o", tmp_path / "r.html")
    assert out == f"report written to {tmp_path / 'r.html'}\n" and err == ""
    page = _check_page((tmp_path / "r.html").read_text(encoding="utf-8"))
    assert len(page.images["data"]) == 2
    assert "No diagnostics in this model file." in page.all_text()
    assert page.not_shown() == {"restarts' final bounds": "not kept in model files"}
    # The column names of the file label the axes.
    from emkit.report.content import _plane

    assert _plane(emkit.load(model), faithful)[3] == ("eruptions", "waiting")
    # Without -o: <MODEL stem>.html in the current folder.
    monkeypatch.chdir(tmp_path)
    _ok(capsys, "report", model, "-q")
    assert (tmp_path / "faithful.html").is_file()


def test_cli_report_of_a_selection_and_of_an_hmm(tmp_path, capsys):
    table, best = tmp_path / "table.csv", tmp_path / "best.emkit"
    _ok(capsys, "select", FAITHFUL, "-k", "1-4", "--covariance-types", "EII,VVV", "-q",
        "--output", table, "--save", best)  # fmt: skip
    _ok(capsys, "report", best, FAITHFUL, "--selection", table, "-o", tmp_path / "s.html")
    page = _check_page((tmp_path / "s.html").read_text(encoding="utf-8"))
    assert len(page.images["selection"]) == 1
    hmm = tmp_path / "casino.emkit"
    _ok(capsys, "fit", CASINO, "--model", "hmm", "--emission", "categorical", "-k", "2",
        "--sequence-column", "sequence", "--max-iter", "20", "--tol", "1", "--random-state",
        "0", "-q", "-o", hmm)  # fmt: skip
    _ok(capsys, "report", hmm, CASINO, "--sequence-column", "sequence", "-o", tmp_path / "h.html")
    page = _check_page((tmp_path / "h.html").read_text(encoding="utf-8"))
    assert len(page.images["states"]) == 2
    assert "the first 6 of 12 sequences" in page.all_text()


def test_cli_refuses_bad_input_in_one_line(tmp_path, capsys):
    model = tmp_path / "m.emkit"
    _ok(capsys, "fit", FAITHFUL, "--model", "gmm", "-k", "3", "--random-state", "0", "-q",
        "-o", model)  # fmt: skip
    out = tmp_path / "r.html"
    assert "lacks columns 'eruptions', 'waiting'" in _fail(
        capsys, "report", model, CASINO, "-o", out
    )
    assert "applies to hidden Markov models only" in _fail(
        capsys, "report", model, FAITHFUL, "--sequence-column", "x", "-o", out
    )
    assert "would overwrite the input" in _fail(capsys, "report", model, "-o", model)
    assert "does not exist" in _fail(capsys, "report", model, "-o", tmp_path / "no" / "r.html")
    assert "no such model file" in _fail(capsys, "report", tmp_path / "none.emkit", "-o", out)
    table = tmp_path / "table.csv"
    _ok(capsys, "select", FAITHFUL, "-k", "1-2", "--covariance-types", "EII", "-q",
        "--output", table)  # fmt: skip
    message = _fail(capsys, "report", model, "--selection", table, "-o", out)
    assert "chose EII with 2 components" in message and "holds full with 3 components" in message
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n")
    assert "no column 'covariance_type'" in _fail(
        capsys, "report", model, "--selection", tmp_path / "bad.csv", "-o", out
    )
    topics = tmp_path / "g.emkit"
    _ok(capsys, "topics", GOSPELS, "--column", "text", "--topics", "2", "--max-iter", "2",
        "--random-state", "0", "-q", "-o", topics)  # fmt: skip
    assert "whose report needs no data" in _fail(capsys, "report", topics, GOSPELS, "-o", out)
    assert not out.exists()


# ----------------------------------------------------------------------------------------- #
# In a real browser
# ----------------------------------------------------------------------------------------- #


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("no chromium binary (apt-get install chromium)")


def _screenshot(
    browser: str, page: pathlib.Path, out: pathlib.Path, tmp: pathlib.Path
) -> np.ndarray:
    subprocess.run(
        [
            browser,
            "--headless",
            "--disable-gpu",
            "--no-sandbox",
            "--hide-scrollbars",
            f"--user-data-dir={tmp / 'profile'}",
            f"--screenshot={out}",
            "--window-size=1200,3000",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
    )
    return _pixels(out.read_bytes())[..., :3]


def test_the_report_shows_its_plots_in_a_headless_browser(tmp_path, mixture, faithful):
    browser = _chromium()
    text = build_report(mixture, faithful)
    report = tmp_path / "report.html"
    report.write_text(text, encoding="utf-8")
    shot = _screenshot(browser, report, tmp_path / "shot.png", tmp_path)
    assert shot.shape[:2] == (3000, 1200)
    # The same page without its figures: what the plots add to the screen.
    import re

    bare = tmp_path / "bare.html"
    bare.write_text(re.sub(r"<img [^>]*>", "", text), encoding="utf-8")
    without = _screenshot(browser, bare, tmp_path / "bare.png", tmp_path)
    ink = (shot < 0.9).any(axis=2).mean()
    ink_without = (without < 0.9).any(axis=2).mean()
    assert ink > 0.02 and ink > 3 * ink_without, (ink, ink_without)
    colours = np.unique((shot * 15).round().reshape(-1, 3), axis=0)
    colours_without = np.unique((without * 15).round().reshape(-1, 3), axis=0)
    assert len(colours) > 100 and len(colours) > 2 * len(colours_without)
    # The components' colours (blue and orange points) are on the screen.
    blue = (np.abs(shot - np.array([0x1F, 0x77, 0xB4]) / 255).max(axis=2) < 0.08).mean()
    orange = (np.abs(shot - np.array([0xFF, 0x7F, 0x0E]) / 255).max(axis=2) < 0.08).mean()
    assert blue > 1e-3 and orange > 1e-3, (blue, orange)
