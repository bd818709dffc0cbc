"""What a face says of itself in summaries (``emkit fit``, ``emkit info``): its class attribute
``description``, a :class:`FaceDescription`.

A face whose components are those of a family (the mixtures, ``emkit.HMM``) names the
family that reads its data, and takes its title, words and parameter tables from it
(:meth:`emkit.families.base.Family.summary_tables`); the other faces (KMeans, the HMM faces
with hmmlearn's attributes) list their own tables. The command line prints what these give
(:mod:`emkit.cli.summary`) and knows no face by name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from emkit.families.tables import COVARIANCE_WORDS, Table

__all__ = ["COVARIANCE", "HIDDEN_MARKOV", "KINDS", "FaceDescription", "Phrase", "description_of"]

KINDS = ("mixture", "variational", "clustering", "hmm", "topics")
"""How a face is scored: a likelihood of independent rows (with BIC, ICL and AIC), an
evidence lower bound, an inertia, a likelihood of sequences (with BIC and AIC), or the
coherence and held-out likelihood of a topic model's topics (``emkit topics``)."""


@dataclass(frozen=True)
class Phrase:
    """What a summary says of one hyperparameter.

    Attributes
    ----------
    attribute : str
        The hyperparameter.
    template : str, default='{}'
        The words, ``{}`` standing for the value's words.
    words : mapping of str to str
        Words for some values (the others are said as they are).
    noun : str, default=''
        Non-empty for a number of things: '2 Gaussians'.
    """

    attribute: str
    template: str = "{}"
    words: Mapping[str, str] = field(default_factory=dict)
    noun: str = ""

    def said(self, estimator: Any) -> str:
        """The phrase for the value ``estimator`` holds."""
        value = getattr(estimator, self.attribute)
        if self.noun:
            n = int(value)
            text = f"{n} {self.noun}" + ("" if n == 1 else "s")
        else:
            text = self.words.get(value, str(value))
        return self.template.format(text)


COVARIANCE = Phrase("covariance_type", "{} covariance", COVARIANCE_WORDS)
"""The covariance type a face's ``covariance_type`` names, as the user named it."""


@dataclass(frozen=True)
class FaceDescription:
    """What a summary needs of a face.

    Attributes
    ----------
    kind : {'mixture', 'variational', 'clustering', 'hmm', 'topics'}
        How it is scored (see :data:`KINDS`).
    unit : str
        What its components are called: 'component', 'cluster', 'state' or 'topic'.
    title : str, default='{family} mixture'
        What a summary calls it; ``{family}`` stands for the family's title.
    components : str, default='n_components'
        The hyperparameter holding the number of components.
    tables : tuple of Table, default=()
        Its parameter tables; empty for those of its family.
    family : callable or None, default=None
        ``family(estimator)``, the family that reads the estimator's data (as fitted, once
        fitted): its ``check_data`` refuses what the estimator cannot read, naming columns
        and rows, and it gives the title, words and tables the face does not give. None
        for faces with their own checks and tables.
    emissions : str, default=''
        For hidden Markov models, what the states emit ('Gaussian'); ``{family}`` stands
        for the family's title.
    emission_words : tuple of Phrase, default=()
        Said after the emissions: '(2 Gaussians per state)'.
    words : tuple of Phrase or None, default=None
        Said after the number of components: 'diagonal covariance'; None for the family's
        words.
    texts : bool, default=False
        Whether a face of another kind than 'topics' reads texts too: a
        :class:`~emkit.io.corpus.Corpus`, its components distributions over the words of
        its vocabulary, with the methods of
        :class:`~emkit.estimators.documents.TopicMethods` (a mixture of unigrams). Faces
        of kind 'topics' always do (:attr:`reads_texts`).
    """

    kind: str
    unit: str
    title: str = "{family} mixture"
    components: str = "n_components"
    tables: tuple[Table, ...] = ()
    family: Callable[[Any], Any] | None = None
    emissions: str = ""
    emission_words: tuple[Phrase, ...] = ()
    words: tuple[Phrase, ...] | None = None
    texts: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")

    @property
    def reads_texts(self) -> bool:
        """Whether the face reads texts and has the topic models' methods: those of kind
        'topics', and those that say so (``texts``)."""
        return self.kind == "topics" or self.texts

    # -- for one estimator ------------------------------------------------------------------
    def family_of(self, estimator: Any) -> Any:
        """The family that reads ``estimator``'s data, or None."""
        return None if self.family is None else self.family(estimator)

    def title_of(self, estimator: Any) -> str:
        return self._with_family(self.title, estimator)

    def emissions_of(self, estimator: Any) -> str:
        """What the states emit ('Gaussian-mixture'); empty for faces without states."""
        return self._with_family(self.emissions, estimator) if self.emissions else ""

    def emission_words_of(self, estimator: Any) -> list[str]:
        """The phrases after the emissions: '(2 Gaussians per state)'."""
        return [phrase.said(estimator) for phrase in self.emission_words]

    def words_of(self, estimator: Any) -> list[str]:
        """The phrases after the number of components."""
        if self.words is not None:
            return [phrase.said(estimator) for phrase in self.words]
        family = self.family_of(estimator)
        return [] if family is None else list(family.summary_words())

    def tables_of(self, estimator: Any) -> tuple[Table, ...]:
        """The parameter tables, naming the estimator's attributes."""
        if self.tables:
            return self.tables
        family = self.family_of(estimator)
        if family is None:
            return ()
        # The face exposes every array of its family with a trailing underscore.
        return tuple(table.renamed(lambda name: f"{name}_") for table in family.summary_tables())

    def _with_family(self, text: str, estimator: Any) -> str:
        if "{family}" not in text:
            return text
        # Only faces that name their family have titles that stand for it.
        return text.format(family=self.family_of(estimator).title)


HIDDEN_MARKOV = FaceDescription("hmm", "state", title="hidden Markov model")
"""What the hidden Markov model faces share (they replace their emissions and tables)."""


def description_of(estimator: Any) -> FaceDescription:
    """The description of ``estimator`` (or of an estimator class).

    Raises
    ------
    TypeError
        When the class declares none.
    """
    cls = estimator if isinstance(estimator, type) else type(estimator)
    description = getattr(cls, "description", None)
    if not isinstance(description, FaceDescription):
        raise TypeError(
            f"{cls.__name__} declares no description (a FaceDescription of "
            "emkit.estimators.description as its class attribute 'description')"
        )
    return description
