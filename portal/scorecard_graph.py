"""The scorecards as linked data: DQV measurements in the named graph `{base}/graph/scorecards`.

The graph holds one `dqv:QualityMeasurement` per dataset status *period* (`dqv:value` the status,
`prov:startedAtTime`, and `prov:endedAtTime` once the status changed), so SPARQL can ask what held
over any stretch of time; one measurement per publisher and month end of the share fresh (`dct:date`
is the instant it describes); and the MQA measurements of `portal.mqa.mqa_graph`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import SKOS

from portal.instance import Instance
from portal.mqa import assess_all, mqa_graph
from portal.scorecard_history import DatasetHistory, load_histories, month_ends, percent, snapshot
from portal.scorecards import DEFINITIONS, league_table, save_league
from vocab.namespaces import DCT, DQV, PROV, RDF, RDFS, XSD
from vocab.uris import UriScheme

#: The graph the scorecards are published in (`UriScheme.portal_graph(SCORECARDS)`).
SCORECARDS = "scorecards"
#: Statuses the example query counts as "overdue": overdue, and worse.
OVERDUE_OR_WORSE = ("overdue", "delinquent")


def _when(moment: datetime) -> Literal:
    return Literal(moment.isoformat(), datatype=XSD.dateTime)


def _metrics(graph: Graph, uris: UriScheme) -> None:
    """The portal's two freshness metrics, defined where they are used."""
    metrics = (("freshness", "Freshness status", "status", XSD.string),
               ("share-fresh", "Share of datasets fresh (percent)", "share_fresh", XSD.decimal))
    for name, label, definition, datatype in metrics:
        metric = URIRef(uris.portal_term(name))
        graph.add((metric, RDF.type, DQV.Metric))
        graph.add((metric, RDFS.label, Literal(label, lang="en")))
        graph.add((metric, SKOS.definition, Literal(DEFINITIONS[definition], lang="en")))
        graph.add((metric, DQV.expectedDataType, datatype))


def _periods(graph: Graph, uris: UriScheme, histories: Sequence[DatasetHistory]) -> None:
    """One measurement per status period of every dataset."""
    freshness = URIRef(uris.portal_term("freshness"))
    for history in histories:
        dataset = uris.dataset(history.publisher, history.slug)
        publisher = URIRef(uris.publisher(history.publisher))
        for number, period in enumerate(history.periods, start=1):
            node = URIRef(f"{dataset}#freshness-period-{number}")
            graph.add((URIRef(dataset), DQV.hasQualityMeasurement, node))
            graph.add((node, RDF.type, DQV.QualityMeasurement))
            graph.add((node, DQV.computedOn, URIRef(dataset)))
            graph.add((node, DQV.isMeasurementOf, freshness))
            graph.add((node, DQV.value, Literal(period.status)))
            graph.add((node, DCT.publisher, publisher))
            graph.add((node, PROV.startedAtTime, _when(period.start)))
            if period.end is not None:
                graph.add((node, PROV.endedAtTime, _when(period.end)))


def history_graph(instance: Instance) -> Graph:
    """Every dataset's status periods as DQV measurements (the history part of the scorecards graph)."""
    graph = Graph()
    _periods(graph, instance.uris, load_histories(instance))
    return graph


def _monthly(graph: Graph, uris: UriScheme, histories: Sequence[DatasetHistory], now: datetime) -> None:
    """Each publisher's share fresh at the end of each of the last 12 months (when any dataset was judged)."""
    measure = URIRef(uris.portal_term("share-fresh"))
    by_publisher: dict[str, list[DatasetHistory]] = {}
    for history in histories:
        by_publisher.setdefault(history.publisher, []).append(history)
    for name, group in by_publisher.items():
        publisher = URIRef(uris.publisher(name))
        for end in month_ends(now):
            share = percent(snapshot(group, end).share_fresh)
            if share is None:
                continue
            node = URIRef(f"{publisher}#share-fresh-{end:%Y-%m-%d}")
            graph.add((node, RDF.type, DQV.QualityMeasurement))
            graph.add((node, DQV.computedOn, publisher))
            graph.add((node, DQV.isMeasurementOf, measure))
            graph.add((node, DQV.value, Literal(f"{share:.1f}", datatype=XSD.decimal)))
            graph.add((node, DCT.date, _when(end)))


def publish_scorecards(instance: Instance, now: datetime) -> bool:
    """Replace the scorecards graph: status periods, monthly shares fresh and MQA; False if unchanged.
    Keep the league table at `now` for the pages too (`portal.scorecards.saved_league`).

    Nothing in the graph is dated by `now` itself, so publishing again within a month writes only what
    changed (a status, an MQA assessment); a new month adds its measurement.
    """
    histories = load_histories(instance)
    assessments = assess_all(instance)
    graph = Graph()
    _metrics(graph, instance.uris)
    _periods(graph, instance.uris, histories)
    _monthly(graph, instance.uris, histories, now)
    graph += mqa_graph(instance.uris, assessments)
    changed = instance.store.replace_graph(instance.uris.portal_graph(SCORECARDS),
                                           graph.serialize(format="nt", encoding="utf-8"))
    save_league(instance, now, league_table(instance, now, histories=histories, assessments=assessments))
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
