"""Metadata quality by the data.europa.eu Metadata Quality Assessment (MQA): per dataset and per publisher.

A municipal data officer sees the score data.europa.eu gives the records Lodestar publishes, and
what to fix first; watchdogs see each publisher's mean. Five dimensions, 405 points:

=================  ====  ==========================================================================
Findability        100   keywords 30, categories (themes) 30, spatial 20, temporal 20
Accessibility      100   access URL answers 50, download URL given 20, download URL answers 30
Interoperability   110   format 20, media type 10, both from the vocabularies 10, non-proprietary 20,
                         machine-readable 20, DCAT-AP compliance (SHACL) 30
Reusability         75   licence 20, licence from the vocabulary 10, access rights 10, access rights
                         from the vocabulary 5, contact point 20, publisher 10
Contextuality       20   rights 5, byte size 5, date issued 5, date modified 5
=================  ====  ==========================================================================

Ratings: Excellent 351–405, Good 221–350, Sufficient 121–220, Bad 0–120.

Sources: the methodology (data.europa.eu/mqa/methodology, as reproduced in mjanez/ckan-mqa's
README and ``ckan2mqa/config/defaults.py`` @ 4c770392 — weights, bands); piveau's metric
vocabulary (piveau-data/piveau-vocabularies @ 7b29f2a4, ``piveau-dqv-vocabulary.ttl``: which
indicators are computed on the dataset and which on a distribution, "both format and media type
aligned", "at least one of format and media type non-proprietary / machine-interpretable",
access URL status 200–299); piveau's scoring code (``io.piveau.metrics`` ``scoreMetrics`` and
``scoreDistribution``, Kotlin); EDP's format lists ``edp-non-proprietary-format.rdf`` and
``edp-machine-readable-format.rdf`` (as bundled in YourOpenDAta/mqa-scoring @ 105c863f,
``edp-vocabularies/``); the EU access-right table's codes (mjanez/ckan-mqa
``assets/vocabs/access-right.csv``); licences and file types from the EU tables bundled in
`vocab/authority/`. DCAT-AP compliance: `portal.mqa_shacl` (why 2.1.1 is there).

Choices, where the sources differ or leave a gap:

- **Distributions.** The methodology's tables show distribution-level indicators as a share of a
  catalogue's distributions, and says only of interoperability that "only the distribution with
  the highest number of points" counts. piveau's scoring of a *dataset* — what data.europa.eu
  shows a publisher — keeps the one distribution whose distribution-level measurements score
  highest, for every distribution-level indicator (accessibility, format and media type,
  licence, rights, byte size), and adds the dataset-level ones. Lodestar follows the code: a
  dataset is scored on its best distribution (the first of equals), and each indicator's `met`
  still says how many distributions meet it. A dataset without distributions earns none of them.
- **Dates.** Issued and modified count when the dataset or its best distribution gives them
  (piveau counts either, once).
- **No penalties.** piveau's vocabulary gives format and media type a -5 "false score"; the
  published methodology has no negative points, and neither has Lodestar.
- **Band edges.** The published bands are used; piveau's ``PiveauScoring.abstract`` puts
  exactly 120 in "Sufficient" (its code says 120..220), one point off its own table.
- **Accessibility.** Lodestar downloads every distribution when it harvests; a file "answers"
  when its latest version was fetched or re-checked (``ResourceVersion.checked_at``) at or after
  the dataset's ``last_seen`` — a fetch that failed in the last harvest leaves ``checked_at``
  older. (piveau sends HTTP HEAD and wants 2xx; Lodestar's fetch follows redirects and wants a
  body.) The access URL is the one the source gave, else the download URL; when both are given
  only the download URL is fetched, and its answer stands for the access URL too.
- **Vocabularies.** A licence is "from the vocabulary" when it is an IRI the EU licence table
  knows (its own IRI or its licence URL); a media type when the bundled tables map it to an EU
  file type (the EU table's media types plus registered IANA types for common formats); formats
  are non-proprietary or machine-readable by EDP's lists (the EU file-type table has no such flags).
- **Dataset facts come from Lodestar's record**, the DCAT-AP that data.europa.eu would harvest
  from Lodestar (`portal.catalogue`): the publisher is always named there, and the dataset's
  licence and rights also cover files that state none of their own.

Modules: `portal.mqa_scoring` (one dataset, pure), `portal.mqa_shacl` (compliance),
`portal.mqa_cache` (every dataset, cached in ``DatasetQuality``); here the publisher means and the
DQV graph.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from rdflib import Graph

from portal.mqa_cache import MQA_VERSION, assess_all, record_digest
from portal.mqa_scoring import (
    ADVICE, DIMENSIONS, INDICATOR_KEYS, DatasetMqa, Indicator, assess_dataset, rating, reachable, summarise,
)
from portal.mqa_shacl import SHAPES_VERSION, Compliance, Violation, check_compliance
from vocab.csvw.conversion import iri
from vocab.csvw.datatypes import literal
from vocab.namespaces import DQV, PROV, RDF, RDFS, SKOS, XSD
from vocab.uris import UriScheme

#: The portal metrics of the DQV measurements (under `{base}/def/`): one per dimension and the total.
METRICS = {**{name: f"mqa-{name}" for name in DIMENSIONS}, "total": "mqa-score"}


@dataclass(frozen=True)
class Fix:
    """An indicator to fix across a publisher's datasets: the points it would add in total, over how many."""

    key: str
    label: str
    gain: float
    datasets: int
    advice: str

    def to_dict(self) -> dict[str, Any]:
        """The fix as JSON."""
        return {"key": self.key, "label": self.label, "gain": self.gain, "datasets": self.datasets,
                "advice": self.advice}


@dataclass(frozen=True)
class PublisherMqa:
    """A publisher's MQA: the mean over its datasets of the total and of each dimension, and what to fix first."""

    publisher: str
    datasets: int
    total: float
    rating: str
    dimensions: dict[str, tuple[float, int]]
    fix_first: list[Fix] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The publisher's assessment as JSON."""
        return {"publisher": self.publisher, "datasets": self.datasets, "total": self.total,
                "max": sum(DIMENSIONS.values()), "rating": self.rating,
                "dimensions": {name: {"points": p, "max": m} for name, (p, m) in self.dimensions.items()},
                "fix_first": [f.to_dict() for f in self.fix_first]}


def publisher_mqa(scores: Sequence[DatasetMqa]) -> PublisherMqa:
    """The means of a publisher's dataset scores, and the fixes that gain most points summed over its datasets.

    A fix's advice is the indicator's general advice (each dataset's own advice also names its files).
    """
    if not scores:
        raise ValueError("a publisher's MQA needs at least one dataset score")
    n = len(scores)
    total = round(sum(s.total for s in scores) / n, 2)
    dimensions = {name: (round(sum(s.dimensions[name][0] for s in scores) / n, 2), top)
                  for name, top in DIMENSIONS.items()}
    gains: dict[str, list[Indicator]] = {}
    for score in scores:
        for indicator in score.fix_first:
            gains.setdefault(indicator.key, []).append(indicator)
    order = {key: i for i, key in enumerate(INDICATOR_KEYS)}
    fixes = [Fix(key, found[0].label, round(sum(i.gain for i in found), 2), len(found), ADVICE.get(key, ""))
             for key, found in gains.items()]
    fixes.sort(key=lambda f: (-f.gain, order.get(f.key, 99)))
    return PublisherMqa(scores[0].publisher, n, total, rating(total), dimensions, fixes)


def mqa_ntriples(uris: UriScheme, scores: Sequence[DatasetMqa]) -> Iterator[str]:
    """The scores as DQV N-Triples lines: per dataset one `dqv:QualityMeasurement` per dimension and
    one for the total (written as text: thousands of datasets need no rdflib graph)."""
    for which, term in METRICS.items():
        metric = iri(uris.portal_term(term))
        top = DIMENSIONS.get(which, sum(DIMENSIONS.values()))
        what = "the total" if which == "total" else f"the {which} points"
        yield f"{metric} {iri(RDF.type)} {iri(DQV.Metric)} .\n"
        yield f"{metric} {iri(DQV.expectedDataType)} {iri(XSD.decimal)} .\n"
        yield f"{metric} {iri(SKOS.definition)} {literal(f'MQA (data.europa.eu Metadata Quality Assessment): {what} of a dataset, 0–{top}.', language='en')} .\n"
    has, kind, on, of, value, generated = (iri(DQV.hasQualityMeasurement), iri(RDF.type), iri(DQV.computedOn),
                                           iri(DQV.isMeasurementOf), iri(DQV.value), iri(PROV.generatedAtTime))
    measurement, metrics = iri(DQV.QualityMeasurement), {which: iri(uris.portal_term(t)) for which, t in METRICS.items()}
    for score in scores:
        dataset = uris.dataset(score.publisher, score.slug)
        when = literal((score.assessed_at or datetime.now(timezone.utc)).isoformat(), XSD.dateTime)
        values = {**{name: points for name, (points, _) in score.dimensions.items()}, "total": score.total}
        for which, points in values.items():
            node = iri(f"{dataset}#{METRICS[which]}")
            yield (f"{iri(dataset)} {has} {node} .\n{node} {kind} {measurement} .\n{node} {on} {iri(dataset)} .\n"
                   f"{node} {of} {metrics[which]} .\n{node} {value} {literal(f'{float(points):.2f}', XSD.decimal)} .\n"
                   f"{node} {generated} {when} .\n")
            if which == "total":
                yield f"{node} {iri(RDFS.comment)} {literal(f'rated {score.rating}', language='en')} .\n"


def mqa_graph(uris: UriScheme, scores: Sequence[DatasetMqa]) -> Graph:
    """`mqa_ntriples` as an rdflib graph."""
    return Graph().parse(data="".join(mqa_ntriples(uris, scores)), format="nt")


__all__ = ["Compliance", "DIMENSIONS", "DatasetMqa", "Fix", "INDICATOR_KEYS", "Indicator", "METRICS",
           "MQA_VERSION", "PublisherMqa", "SHAPES_VERSION", "Violation", "assess_all", "assess_dataset",
           "check_compliance", "mqa_graph", "mqa_ntriples", "publisher_mqa", "rating", "reachable", "record_digest", "summarise"]
