"""Star ratings on Tim Berners-Lee's 5-star open data scheme, twice: as published, and as Lodestar serves it.

    ★ available on the web under an open licence   ★★ machine-readable structured data
    ★★★ a non-proprietary open format               ★★★★ URIs to denote things
    ★★★★★ links to other data

The rating functions (`rate_as_published`, `rate_as_served`, `rate`) take plain values — the
dataset's harvested metadata and one `Distribution` per file — and return plain data::

    {"as_published": {"stars": 3, "evidence": [{"star": 1, "criterion": "…", "earned": True,
                                                 "met": True, "why": "…"}, …], "next": "…"},
     "as_served": {…}}

Stars are cumulative: star k is earned only when its criterion is met and stars 1…k-1 are
earned. `met` says whether the criterion alone holds (None: not assessed), so a dataset with no
licence still shows that its CSV is machine-readable. `next` is what the first missing star
needs; at five stars it is None unless some values still fail to link. As served, the fifth star
needs a column most of whose values link to shared reference data (one stray match of a
free-text column is no link).

Which licences are open and which formats are machine-readable or open is `portal.openness`'s
business (the EU licence and file-type tables, plus a short list of open licences the EU table
lacks). `dataset_stars` reads the plain values off a dataset's database rows (no session).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rdflib import Graph, Literal, URIRef

from portal.openness import PLACEHOLDERS, judge_format, judge_licence
from vocab.linking import LinkStats
from vocab.namespaces import DQV, RDF, RDFS, SKOS, XSD
from vocab.uris import UriScheme

if TYPE_CHECKING:
    from portal.db import Dataset, Resource

#: The criterion of each star, as the scheme words it.
CRITERIA = {1: "available on the web under an open licence", 2: "machine-readable structured data",
            3: "a non-proprietary open format", 4: "URIs to denote things", 5: "links to other data"}

RDF_SYNTAXES = "Turtle, RDF/XML, JSON-LD or N-Triples"


@dataclass(frozen=True)
class Distribution:
    """One file of a dataset as plain facts: what the source declared and what Lodestar did with it."""

    url: str
    name: str = ""
    format: str | None = None  # an EU file-type IRI once normalised, else the source's label
    media_type: str | None = None
    licence: str | None = None
    fetched: bool | None = None  # whether Lodestar holds a fetched version (None: not known)
    table_rows: int | None = None  # rows Lodestar read when it validated the file as a table
    latest_valid: bool | None = None
    published_triples: int = 0  # triples of the valid version Lodestar serves
    row_iris: str | None = None  # the prefix of the row IRIs Lodestar minted
    schema_source: str | None = None  # the schema the served version was checked against (`given:…`, `matched:…`)
    links: Any = None  # link statistics of the served version (`LinkStats.as_dict` per column)
    outside_iris: int | None = None  # IRIs outside the publisher's site its RDF refers to, if counted


@dataclass(frozen=True)
class Check:
    """One star's criterion: whether it is met, the evidence, and what meeting it would need."""

    met: bool | None
    why: str
    needs: str = ""


def _shown(value: str, limit: int = 80) -> str:
    one_line = " ".join(value.split())
    return one_line if len(one_line) <= limit else one_line[:limit - 1] + "…"


def _licence_check(metadata: Mapping[str, Any], distributions: Sequence[Distribution]) -> Check:
    """Whether the data is under an open licence: the dataset's, else every distribution's."""
    original = (metadata.get("original") or {}).get("licence")
    declared = metadata.get("licence")
    verdicts = ([judge_licence(declared)] if declared
                else [judge_licence(d.licence) for d in distributions if d.licence])
    found = [v for v in verdicts if v is not None]
    if not found:
        return Check(False, "no licence is declared, for the dataset or any of its files",
                     "add a licence (none is declared; an open one such as CC BY 4.0 or CC0 1.0 earns the first star)")
    spelled = f" (the source says “{_shown(original)}”)" if original and original != declared else ""
    closed = [v for v in found if v.open is False]
    unknown = [v for v in found if v.open is None]
    if closed:
        v = closed[0]
        named = v.basis != PLACEHOLDERS  # a real licence that is not open, or a placeholder naming none
        return Check(False, f"the licence “{_shown(v.value)}”{spelled} is not open: {v.reason}, per {v.basis}",
                     f"{'choose an open licence' if named else 'add a licence'} ({v.reason}; "
                     "CC BY 4.0 or CC0 1.0 would earn the first star)")
    if unknown:
        v = unknown[0]
        return Check(False, f"the licence “{_shown(v.value)}”{spelled} is neither in the EU licence table nor "
                            "in Lodestar's list of open licences, so its openness cannot be checked",
                     f"add a licence Lodestar recognises as open (“{_shown(v.value)}” is not one it knows; "
                     "name e.g. CC BY 4.0, CC0 1.0, ODbL or OGL-UK-3.0)")
    names = "; ".join(dict.fromkeys(f"{v.name}, open per {v.basis}" for v in found))
    return Check(True, f"licensed under {names}{spelled}")


def _on_web(distributions: Sequence[Distribution]) -> tuple[bool, str]:
    web = [d for d in distributions if d.url.lower().startswith(("http://", "https://"))]
    if not web:
        return False, "no file of it has a web address"
    fetched = [d for d in web if d.fetched]
    if all(d.fetched is False for d in web):
        return False, f"none of its {len(web)} file(s) on the web could be fetched"
    if fetched:
        return True, f"{len(fetched)} of {len(web)} file(s) fetched from the web by Lodestar"
    return True, f"{len(web)} file(s) on the web"


def _kind(d: Distribution) -> tuple[str, str]:
    """What a distribution's format gives a reuser (rdf/open/proprietary/document/unknown), as evidence."""
    verdict = judge_format(d.format, d.media_type, d.url)
    if verdict.kind == "unknown" and verdict.how == "not recognised":
        return "unknown", f"{d.name or d.url}: format {_shown(verdict.name, 40)} not recognised"
    read = f", read by Lodestar as a table of {d.table_rows:,} rows" if d.table_rows else ""
    return verdict.kind, f"{d.name or d.url}: {verdict.name} ({verdict.how}{read})"


def _format_checks(distributions: Sequence[Distribution]) -> tuple[Check, Check, Check]:
    """Stars 2, 3 and 4 as the publisher's own files earn them."""
    kinds: dict[str, list[str]] = {}
    for d in distributions:
        kind, evidence = _kind(d)
        kinds.setdefault(kind, []).append(evidence)
    rdf, open_, proprietary = kinds.get("rdf", []), kinds.get("open", []), kinds.get("proprietary", [])
    others = "; ".join(kinds.get("document", []) + kinds.get("unknown", [])) or "no files"
    if rdf or open_ or proprietary:
        two = Check(True, "machine-readable: " + "; ".join(rdf + open_ + proprietary))
    else:
        two = Check(False, f"nothing machine-readable: {others}",
                    "publish the data as a structured file (CSV, JSON or XML), not only as documents")
    if rdf or open_:
        three = Check(True, "open format: " + "; ".join(rdf + open_))
    else:
        three = Check(False, "only proprietary machine-readable formats: " + "; ".join(proprietary)
                      if proprietary else "no machine-readable file in an open format",
                      "publish it in an open format too (CSV instead of Excel, for example)")
    if rdf:
        four = Check(True, "RDF distribution, whose things have URIs: " + "; ".join(rdf))
    else:
        four = Check(False, "the publisher offers no RDF distribution",
                     f"publish an RDF distribution ({RDF_SYNTAXES}) that gives each thing a URI")
    return two, three, four


def _rating(checks: Sequence[Check], after_five: str | None = None) -> dict[str, Any]:
    """Cumulative stars from five criteria, with the evidence of each and what the next star needs."""
    stars, evidence = 0, []
    for star, check in enumerate(checks, start=1):
        earned = check.met is True and stars == star - 1
        if earned:
            stars = star
        why = check.why
        if check.met and not earned:
            why += f" (met, but counts only once star {stars + 1} is earned)"
        evidence.append({"star": star, "criterion": CRITERIA[star], "earned": earned, "met": check.met,
                         "why": why})
    return {"stars": stars, "evidence": evidence, "next": checks[stars].needs if stars < 5 else after_five}


def rate_as_published(metadata: Mapping[str, Any], distributions: Sequence[Distribution]) -> dict[str, Any]:
    """The dataset's stars as its publisher published it: their licence, their files, their RDF."""
    licence_check = _licence_check(metadata, distributions)
    on_web, where = _on_web(distributions)
    one = Check(licence_check.met is True and on_web, f"{where}; {licence_check.why}",
                licence_check.needs or f"put the files on the web ({where})")
    two, three, four = _format_checks(distributions)
    rdf = [d for d in distributions if _kind(d)[0] == "rdf"]
    counted = [d for d in rdf if d.outside_iris is not None]
    if not rdf:
        five = Check(False, "no RDF distribution that could link to other data",
                     f"publish RDF ({RDF_SYNTAXES}) that links to other data")
    elif counted and any(d.outside_iris for d in counted):
        five = Check(True, "its RDF refers to " + "; ".join(
            f"{d.outside_iris:,} IRIs outside the publisher's site ({d.name or d.url})"
            for d in counted if d.outside_iris))
    elif counted:
        five = Check(False, "its RDF refers to no IRI outside the publisher's site",
                     "link the RDF to other data (shared codes, Wikidata, reference registers)")
    else:
        five = Check(None, "not assessed: Lodestar does not read the publisher's RDF to see what it links to",
                     "not assessed: Lodestar does not read the publisher's RDF to see whether it links to other data")
    return _rating([one, two, three, four, five])


@dataclass(frozen=True)
class LinkCount:
    """One column's link statistics, read from either shape Lodestar writes them in."""

    column: str
    register: str
    total: int
    linked: int
    ambiguous: int
    unmatched: int
    message: str


def link_counts(links: Any) -> list[LinkCount]:
    """Column link statistics from `{column: stats}`, a list of `LinkStats.as_dict()` or one of them."""
    if not links:
        return []
    if isinstance(links, Mapping) and "column" in links:
        entries: list[tuple[str, Mapping[str, Any]]] = [(str(links["column"]), links)]
    elif isinstance(links, Mapping):
        entries = [(str(c), s) for c, s in links.items() if isinstance(s, Mapping)]
    else:
        entries = [(str(s.get("column", "")), s) for s in links if isinstance(s, Mapping)]
    counts = []
    for column, s in entries:
        total, linked, ambiguous = int(s.get("total", 0)), int(s.get("linked", 0)), int(s.get("ambiguous", 0))
        unmatched = int(s.get("unmatched", total - linked - ambiguous))
        values = s.get("unmatched_values") or {str(v): 1 for v in s.get("unmatched_examples") or ()}
        register = str(s.get("register") or s.get("scheme") or "shared reference data")
        stats = LinkStats(column, register, by_code=linked, ambiguous=ambiguous, unmatched=unmatched,
                          unmatched_values={str(v): int(n) for v, n in dict(values).items()},
                          ambiguous_values={str(v): tuple(c) for v, c in dict(s.get("ambiguous_values") or {}).items()})
        counts.append(LinkCount(column, register, total, linked, ambiguous, unmatched, stats.message()))
    return counts


NO_LINKS = "no links yet: Lodestar found no column it can link to shared reference data"


def _row_iris(d: Distribution) -> str:
    """The evidence that a served table's rows have IRIs."""
    facts = [f"{d.published_triples:,} triples"] + ([f"schema {d.schema_source}"] if d.schema_source else [])
    text = f"{d.name or d.url}: each row has its own IRI under {d.row_iris or 'the dataset'} ({', '.join(facts)})"
    if d.latest_valid is False:
        text += "; its latest version does not validate, so the last valid one stays published"
    return text


def rate_as_served(metadata: Mapping[str, Any], distributions: Sequence[Distribution], *, served_at: str,
                   links: Any = None) -> dict[str, Any]:
    """The dataset's stars as Lodestar serves it: the publisher's licence, its RDF, its row IRIs, its links.

    `links` (column link statistics) is used in place of those the distributions carry.
    """
    licence_check = _licence_check(metadata, distributions)
    one = Check(licence_check.met, f"served by Lodestar at {served_at} under the publisher's licence; "
                f"{licence_check.why}",
                f"{licence_check.needs} — Lodestar serves the data under the publisher's licence and cannot "
                "choose one" if licence_check.needs else "")
    published = [d for d in distributions if d.published_triples > 0]
    if published:
        served = "; ".join(f"{d.name or d.url}: {d.published_triples:,} triples" for d in published)
        two = Check(True, f"served as RDF (Turtle, RDF/XML, JSON-LD, N-Triples and through SPARQL): {served}")
        three = Check(True, f"RDF is an open W3C standard: {served}")
        four = Check(True, "; ".join(_row_iris(d) for d in published))
    else:
        two, three, _ = (Check(c.met, f"Lodestar serves no RDF of it, only the publisher's files: {c.why}", c.needs)
                         for c in _format_checks(distributions))
        invalid = [d for d in distributions if d.latest_valid is False]
        if invalid:
            names = ", ".join(d.name or d.url for d in invalid)
            four = Check(False, f"no table is published as RDF: {names} does not validate",
                         f"fix the errors in the validation report of {names}; once it validates Lodestar "
                         "publishes every row with its own IRI")
        else:
            four = Check(False, "no file Lodestar can read as a table (CSV), so no row has an IRI",
                         "publish the data as a CSV table; Lodestar then gives every row its own IRI")
    counts = link_counts(links) if links else [c for d in published for c in link_counts(d.links)]
    linked = [c for c in counts if c.linked * 2 > c.total]  # most of the column's values link
    messages = "; ".join(c.message.rstrip(".") for c in counts) + "." if counts else ""
    if linked:
        five = Check(True, messages)
    elif counts:
        five = Check(False, f"{messages} A column counts as linked when most of its values link.",
                     f"make most values of a column match the register's codes or labels: {messages}")
    else:
        five = Check(False, NO_LINKS, NO_LINKS)
    incomplete = [c for c in counts if c.unmatched or c.ambiguous]
    after_five = ("to link every value: " + "; ".join(c.message.rstrip(".") for c in incomplete) + "."
                  if incomplete else None)
    return _rating([one, two, three, four, five], after_five)


def rate(metadata: Mapping[str, Any], distributions: Sequence[Distribution], *, served_at: str,
         links: Any = None) -> dict[str, Any]:
    """Both ratings of one dataset: `{"as_published": …, "as_served": …}`."""
    return {"as_published": rate_as_published(metadata, distributions),
            "as_served": rate_as_served(metadata, distributions, served_at=served_at, links=links)}


def distributions_of(uris: UriScheme, dataset: Dataset, resources: Iterable[Resource]) -> list[Distribution]:
    """The plain facts of a dataset's resources, read off rows whose versions are loaded (no query of its own)."""
    described = {r["url"]: r for r in (dataset.metadata_json or {}).get("resources", []) if isinstance(r, dict)}
    out = []
    for resource in resources:
        said = described.get(resource.url, {})
        latest, published = resource.latest_version, resource.published_version
        stats = ((latest.report_json or {}).get("stats") or {}) if latest is not None else {}
        served = published is not None and published.valid is not False and published.triples > 0
        served_stats = ((published.report_json or {}).get("stats") or {}) if served and published else {}
        namespace = resource.rdf_namespace
        out.append(Distribution(
            url=resource.url, name=resource.title or resource.slug, format=said.get("format"),
            media_type=said.get("media_type") or resource.media_type or None, licence=said.get("licence"),
            fetched=latest is not None, table_rows=stats.get("rows") if latest and latest.report_json else None,
            latest_valid=latest.valid if latest is not None else None,
            published_triples=published.triples if served and published else 0,
            row_iris=uris.thing_prefix(dataset.publisher, namespace) if served and namespace else None,
            schema_source=served_stats.get("schema_source"), links=served_stats.get("links")))
    return out


def dataset_stars(uris: UriScheme, dataset: Dataset, resources: Iterable[Resource] | None = None) -> dict[str, Any]:
    """Both ratings of a dataset row (its resources and their versions loaded, or loadable)."""
    rows = dataset.resources if resources is None else resources
    return rate(dataset.metadata_json or {}, distributions_of(uris, dataset, rows),
                served_at=uris.dataset(dataset.publisher, dataset.slug))


#: The portal metric of each rating, under `{base}/def/`.
METRICS = {"as_published": "starsAsPublished", "as_served": "starsAsServed"}
_DEFINITIONS = {
    "as_published": "Stars (0–5) on the 5-star open data scheme of the dataset as its publisher published it.",
    "as_served": "Stars (0–5) on the 5-star open data scheme of the dataset as Lodestar serves it.",
}


def add_measurements(graph: Graph, uris: UriScheme, dataset_uri: URIRef, ratings: Mapping[str, Any]) -> None:
    """Add both ratings to a dataset's record as DQV measurements, with their evidence as comments."""
    for which, term in METRICS.items():
        rating = ratings[which]
        metric = URIRef(uris.portal_term(term))
        graph.add((metric, RDF.type, DQV.Metric))
        graph.add((metric, SKOS.definition, Literal(_DEFINITIONS[which], lang="en")))
        graph.add((metric, DQV.expectedDataType, XSD.integer))
        measurement = URIRef(f"{dataset_uri}#{term}")
        graph.add((dataset_uri, DQV.hasQualityMeasurement, measurement))
        graph.add((measurement, RDF.type, DQV.QualityMeasurement))
        graph.add((measurement, DQV.computedOn, dataset_uri))
        graph.add((measurement, DQV.isMeasurementOf, metric))
        graph.add((measurement, DQV.value, Literal(int(rating["stars"]), datatype=XSD.integer)))
        for item in rating["evidence"]:
            state = "earned" if item["earned"] else "not earned"
            graph.add((measurement, RDFS.comment,
                       Literal(f"star {item['star']} ({item['criterion']}) {state}: {item['why']}", lang="en")))
        if rating["next"]:
            graph.add((measurement, RDFS.comment, Literal(f"next: {rating['next']}", lang="en")))


__all__ = ["CRITERIA", "Distribution", "LinkCount", "METRICS", "NO_LINKS", "add_measurements", "dataset_stars",
           "distributions_of", "link_counts", "rate", "rate_as_published", "rate_as_served"]
