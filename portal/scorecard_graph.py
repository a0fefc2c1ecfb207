"""The scorecards as linked data: DQV measurements in the named graph `{base}/graph/scorecards`.

The graph holds one `dqv:QualityMeasurement` per dataset status *period* (`dqv:value` the status,
`prov:startedAtTime`, and `prov:endedAtTime` once the status changed), so SPARQL can ask what held
over any stretch of time; one measurement per publisher and month end of the share fresh (`dct:date`
is the instant it describes); and the MQA measurements of `portal.mqa.mqa_ntriples`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from itertools import chain

from rdflib import Graph
from rdflib.namespace import SKOS
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.db import FreshnessStatus, InstanceInfo
from portal.instance import Instance
from portal.mqa import assess_all, mqa_ntriples
from portal.scorecard_history import DatasetHistory, load_histories, month_ends, percent, snapshot
from portal.scorecards import DEFINITIONS, league_table, save_league
from vocab.csvw.conversion import iri
from vocab.csvw.datatypes import literal
from vocab.namespaces import DCT, DQV, PROV, RDF, RDFS, XSD
from vocab.uris import UriScheme

#: The graph the scorecards are published in (`UriScheme.portal_graph(SCORECARDS)`).
SCORECARDS = "scorecards"
#: The `InstanceInfo` key of what the published scorecards rest on (`scorecards_behind`).
BASIS = "scorecards_basis"
#: Statuses the example query counts as "overdue": overdue, and worse.
OVERDUE_OR_WORSE = ("overdue", "delinquent")


def _when(moment: datetime) -> str:
    return literal(moment.isoformat(), XSD.dateTime)


def _metrics(uris: UriScheme) -> Iterator[str]:
    """The portal's two freshness metrics, defined where they are used."""
    metrics = (("freshness", "Freshness status", "status", XSD.string),
               ("share-fresh", "Share of datasets fresh (percent)", "share_fresh", XSD.decimal))
    for name, label, definition, datatype in metrics:
        metric = iri(uris.portal_term(name))
        yield f"{metric} {iri(RDF.type)} {iri(DQV.Metric)} .\n"
        yield f"{metric} {iri(RDFS.label)} {literal(label, language='en')} .\n"
        yield f"{metric} {iri(SKOS.definition)} {literal(DEFINITIONS[definition], language='en')} .\n"
        yield f"{metric} {iri(DQV.expectedDataType)} {iri(datatype)} .\n"


def _periods(uris: UriScheme, histories: Sequence[DatasetHistory]) -> Iterator[str]:
    """One measurement per status period of every dataset."""
    freshness = iri(uris.portal_term("freshness"))
    has, kind, measurement, on, of, value, by, started, ended = (
        iri(DQV.hasQualityMeasurement), iri(RDF.type), iri(DQV.QualityMeasurement), iri(DQV.computedOn),
        iri(DQV.isMeasurementOf), iri(DQV.value), iri(DCT.publisher), iri(PROV.startedAtTime),
        iri(PROV.endedAtTime))
    for history in histories:
        dataset = uris.dataset(history.publisher, history.slug)
        publisher = iri(uris.publisher(history.publisher))
        for number, period in enumerate(history.periods, start=1):
            node = iri(f"{dataset}#freshness-period-{number}")
            yield (f"{iri(dataset)} {has} {node} .\n{node} {kind} {measurement} .\n{node} {on} {iri(dataset)} .\n"
                   f"{node} {of} {freshness} .\n{node} {value} {literal(period.status)} .\n"
                   f"{node} {by} {publisher} .\n{node} {started} {_when(period.start)} .\n")
            if period.end is not None:
                yield f"{node} {ended} {_when(period.end)} .\n"


def history_graph(instance: Instance) -> Graph:
    """Every dataset's status periods as DQV measurements (the history part of the scorecards graph)."""
    return Graph().parse(data="".join(_periods(instance.uris, load_histories(instance))), format="nt")


def _monthly(uris: UriScheme, histories: Sequence[DatasetHistory], now: datetime) -> Iterator[str]:
    """Each publisher's share fresh at the end of each of the last 12 months (when any dataset was judged)."""
    measure = iri(uris.portal_term("share-fresh"))
    by_publisher: dict[str, list[DatasetHistory]] = {}
    for history in histories:
        by_publisher.setdefault(history.publisher, []).append(history)
    for name, group in by_publisher.items():
        publisher = uris.publisher(name)
        for end in month_ends(now):
            share = percent(snapshot(group, end).share_fresh)
            if share is None:
                continue
            node = iri(f"{publisher}#share-fresh-{end:%Y-%m-%d}")
            yield (f"{node} {iri(RDF.type)} {iri(DQV.QualityMeasurement)} .\n"
                   f"{node} {iri(DQV.computedOn)} {iri(publisher)} .\n"
                   f"{node} {iri(DQV.isMeasurementOf)} {measure} .\n"
                   f"{node} {iri(DQV.value)} {literal(f'{share:.1f}', XSD.decimal)} .\n"
                   f"{node} {iri(DCT.date)} {_when(end)} .\n")


def _basis(session: Session, now: datetime) -> str:
    """What a publication of the scorecards at `now` rests on: the newest status-history row, and the month."""
    newest = session.scalar(select(func.max(FreshnessStatus.id))) or 0
    return json.dumps({"status": newest, "month": f"{now:%Y-%m}"})


def scorecards_behind(instance: Instance, now: datetime) -> bool:
    """Whether statuses were recorded, or a month began, since the scorecards were last published —
    so that a publication that failed, or was left to later, is made up by the next freshness run."""
    with instance.session() as session:
        published = session.get(InstanceInfo, BASIS)
        return published is None or published.value != _basis(session, now)


def refresh_scorecards(instance: Instance, now: datetime) -> bool:
    """Publish the scorecards if they are behind (`scorecards_behind`): after any recorded status
    change, a month's turn, or a publication that failed; False when they were current."""
    if not scorecards_behind(instance, now):
        return False
    publish_scorecards(instance, now)
    return True


def publish_scorecards(instance: Instance, now: datetime) -> bool:
    """Replace the scorecards graph: status periods, monthly shares fresh and MQA; False if unchanged.
    Keep the league table at `now` for the pages too (`portal.scorecards.saved_league`).

    Nothing in the graph is dated by `now` itself, so publishing again within a month writes only what
    changed (a status, an MQA assessment); a new month adds its measurement. The graph is written as
    N-Triples text, in a stable order, with no rdflib graph in between.
    """
    with instance.session() as session:
        basis = _basis(session, now)  # read first: a status recorded meanwhile leaves the scorecards behind
    histories = load_histories(instance)
    assessments = assess_all(instance)
    lines = chain(_metrics(instance.uris), _periods(instance.uris, histories),
                  _monthly(instance.uris, histories, now), mqa_ntriples(instance.uris, assessments))
    changed = instance.store.replace_graph(instance.uris.portal_graph(SCORECARDS), "".join(lines).encode("utf-8"))
    save_league(instance, now, league_table(instance, now, histories=histories, assessments=assessments))
    with instance.session() as session:
        session.merge(InstanceInfo(key=BASIS, value=basis))
    return changed


def overdue_query(uris: UriScheme, start: datetime, end: datetime) -> str:
    """The SPARQL that asks which publishers had datasets overdue (or delinquent) between `start` and `end`."""
    statuses = ", ".join(f'"{status}"' for status in OVERDUE_OR_WORSE)
    return f"""PREFIX dqv: <http://www.w3.org/ns/dqv#>
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX dct: <http://purl.org/dc/terms/>
PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>

# Publishers with datasets overdue or delinquent at any time from {start.isoformat()} until {end.isoformat()}:
# a status period counts when it began before that span ended, and ended after it began (or lasts still).
SELECT ?publisher (COUNT(DISTINCT ?dataset) AS ?datasets)
WHERE {{
  GRAPH <{uris.portal_graph(SCORECARDS)}> {{
    ?period dqv:isMeasurementOf <{uris.portal_term("freshness")}> ;
            dqv:value ?status ;
            dqv:computedOn ?dataset ;
            dct:publisher ?publisher ;
            prov:startedAtTime ?start .
    OPTIONAL {{ ?period prov:endedAtTime ?end }}
  }}
  FILTER (?status IN ({statuses}))
  FILTER (?start < "{end.isoformat()}"^^xsd:dateTime)
  FILTER (!BOUND(?end) || ?end > "{start.isoformat()}"^^xsd:dateTime)
}}
GROUP BY ?publisher
ORDER BY DESC(?datasets) ?publisher
"""
