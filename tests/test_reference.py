"""Reference tables as SKOS: real codes, labels in their languages, IRIs the same in every dataset."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, SKOS

from vocab.authority import TABLES
from vocab.reference import (
    code_systems,
    notation_datatype,
    reference_graphs,
    scheme,
    scheme_graph,
    scheme_names,
)
from vocab.uris import UriScheme

BASE = "http://127.0.0.1:5000"
URIS = UriScheme(BASE)
REPO = Path(__file__).resolve().parents[1]
SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture(scope="module")
def graphs() -> dict[str, Graph]:
    """Every named graph the publisher would load, parsed back from its N-Triples."""
    parsed = {}
    for graph_iri, data in reference_graphs(URIS):
        graph = Graph()
        graph.parse(data=data, format="nt")
        parsed[graph_iri] = graph
    return parsed


def test_reference_iris_follow_the_shared_pattern() -> None:
    assert URIS.reference("koeln-stadtbezirk") == f"{BASE}/id/ref/koeln-stadtbezirk"
    assert URIS.reference("koeln-stadtbezirk", "9") == f"{BASE}/id/ref/koeln-stadtbezirk/9"
    assert URIS.reference("lambeth-ward", "E05000416") == f"{BASE}/id/ref/lambeth-ward/E05000416"
    assert UriScheme(BASE + "/").reference("country", "DE") == URIS.reference("country", "DE")


def test_one_named_graph_per_scheme_and_per_eu_table(graphs: dict[str, Graph]) -> None:
    expected = {URIS.portal_graph(f"ref-{name}") for name in scheme_names()}
    expected |= {URIS.portal_graph(f"authority-{name}") for name in TABLES}
    assert set(graphs) == expected
    assert all(len(graph) > 0 for graph in graphs.values())


def test_every_reference_concept_has_a_pref_label_and_its_scheme(graphs: dict[str, Graph]) -> None:
    for name in scheme_names():
        graph = graphs[URIS.portal_graph(f"ref-{name}")]
        scheme_iri = URIRef(URIS.reference(name))
        assert (scheme_iri, RDF.type, SKOS.ConceptScheme) in graph
        concepts = set(graph.subjects(RDF.type, SKOS.Concept))
        assert len(concepts) == len(scheme(name).concepts), name
        for concept in concepts:
            assert str(concept).startswith(URIS.reference(name) + "/")
            assert set(graph.objects(concept, SKOS.inScheme)) == {scheme_iri}
            labels = list(graph.objects(concept, SKOS.prefLabel))
            assert labels, f"{concept} has no skos:prefLabel"
            languages = Counter(label.language for label in labels if isinstance(label, Literal))
            assert all(lang and count == 1 for lang, count in languages.items()), concept
            notations = list(graph.objects(concept, SKOS.notation))
            assert all(isinstance(n, Literal) and n.datatype for n in notations), concept
            if scheme(name).code_system:
                assert notations, f"{concept} has no code"


def test_every_broader_concept_exists(graphs: dict[str, Graph]) -> None:
    union = Graph()
    for name in scheme_names():
        union += graphs[URIS.portal_graph(f"ref-{name}")]
    broader = set(union.objects(None, SKOS.broader))
    assert broader
    for parent in broader:
        assert (parent, RDF.type, SKOS.Concept) in union, parent


def test_notations_are_typed_by_code_system() -> None:
    graph = scheme_graph(scheme("municipality"), URIS)
    koeln = URIRef(URIS.reference("municipality", "de-05315000"))
    ags = notation_datatype(URIS, "ags")
    assert set(graph.objects(koeln, SKOS.notation)) == {Literal("05315000", datatype=ags)}
    lambeth = URIRef(URIS.reference("municipality", "gb-E09000022"))
    gss = notation_datatype(URIS, "gss")
    assert Literal("E09000022", datatype=gss) in set(graph.objects(lambeth, SKOS.notation))
    country = scheme_graph(scheme("country"), URIS)
    gb = URIRef(URIS.reference("country", "GB"))
    assert set(country.objects(gb, SKOS.notation)) == {
        Literal("GB", datatype=notation_datatype(URIS, "iso3166-1-alpha2")),
        Literal("GBR", datatype=notation_datatype(URIS, "iso3166-1-alpha3")),
        Literal("826", datatype=notation_datatype(URIS, "iso3166-1-numeric")),
    }
    # every code system a table uses is described
    used = {system for name in scheme_names() for c in scheme(name).concepts.values()
            for system, _ in scheme(name).notations(c)}
    assert used <= set(code_systems())


def test_labels_keep_their_language_and_the_samples_spellings() -> None:
    graph = scheme_graph(scheme("koeln-stadtbezirk"), URIS)
    muelheim = URIRef(URIS.reference("koeln-stadtbezirk", "9"))
    assert set(graph.objects(muelheim, SKOS.prefLabel)) == {Literal("Mülheim", lang="de")}
    # the Köln budget table spells it "Mühlheim"
    assert set(graph.objects(muelheim, SKOS.altLabel)) == {Literal("Mühlheim", lang="de")}
    koeln = scheme_graph(scheme("municipality"), URIS)
    labels = set(koeln.objects(URIRef(URIS.reference("municipality", "de-05315000")), SKOS.prefLabel))
    assert labels == {Literal("Köln", lang="de"), Literal("Cologne", lang="en")}


def test_wikidata_matches_only_where_stated() -> None:
    graph = scheme_graph(scheme("municipality"), URIS)
    matches = {str(s).rsplit("/", 1)[1]: str(o) for s, o in graph.subject_objects(SKOS.exactMatch)}
    assert matches["de-05315000"] == "http://www.wikidata.org/entity/Q365"
    assert matches["ca-3520005"] == "http://www.wikidata.org/entity/Q172"
    assert "gb-E09000022" not in matches  # not checked, so not stated
    countries = scheme_graph(scheme("country"), URIS)
    assert (URIRef(URIS.reference("country", "DE")), SKOS.exactMatch,
            URIRef("http://www.wikidata.org/entity/Q183")) in countries


def test_district_tables_are_complete() -> None:
    assert len(scheme("lambeth-ward").concepts) == 21
    assert [c.label("de") for c in scheme("koeln-stadtbezirk").concepts.values()] == [
        "Innenstadt", "Rodenkirchen", "Lindenthal", "Ehrenfeld", "Nippes", "Chorweiler", "Porz",
        "Kalk", "Mülheim"]
    assert sorted(int(code) for code in scheme("toronto-ward").concepts) == list(range(1, 26))
    assert sorted(int(code) for code in scheme("boston-ward").concepts) == list(range(1, 23))
    assert {"GBP", "EUR", "USD", "CAD"} <= set(scheme("currency").concepts)
    assert {"GB", "DE", "US", "CA"} <= set(scheme("country").concepts)


def test_countries_agree_with_the_csvw_suite_table() -> None:
    """The CSVW test suite's countries.csv (a different source) names the same countries by code."""
    import csv

    countries = scheme("country").concepts
    with (SHARED / "conformance" / "csvw" / "countries.csv").open(encoding="utf-8", newline="") as source:
        rows = list(csv.DictReader(source))
    assert rows
    for row in rows:
        assert row["countryCode"] in countries
        concept = countries[row["countryCode"]]
        assert row["name"] in set(concept.labels())


def test_unknown_scheme_is_a_key_error() -> None:
    with pytest.raises(KeyError, match="unknown reference scheme"):
        scheme("atlantis")


def test_eu_authority_concepts_keep_eu_iris_and_labels(graphs: dict[str, Graph]) -> None:
    graph = graphs[URIS.portal_graph("authority-frequency")]
    annual = URIRef("http://publications.europa.eu/resource/authority/frequency/ANNUAL")
    frequency = URIRef("http://publications.europa.eu/resource/authority/frequency")
    assert (annual, SKOS.inScheme, frequency) in graph
    assert Literal("annual", lang="en") in set(graph.objects(annual, SKOS.prefLabel))
    for name in TABLES:
        graph = graphs[URIS.portal_graph(f"authority-{name}")]
        for concept in graph.subjects(RDF.type, SKOS.Concept):
            assert set(graph.objects(concept, SKOS.inScheme)), concept
            labels = [*graph.objects(concept, SKOS.prefLabel), *graph.objects(concept, SKOS.altLabel)]
            assert labels, concept
            languages = Counter(label.language for label in graph.objects(concept, SKOS.prefLabel)
                                if isinstance(label, Literal))
            assert all(count == 1 for count in languages.values()), concept


def test_every_eu_authority_concept_has_a_pref_label(graphs: dict[str, Graph]) -> None:
    for name in TABLES:
        graph = graphs[URIS.portal_graph(f"authority-{name}")]
        for concept in graph.subjects(RDF.type, SKOS.Concept):
            assert set(graph.objects(concept, SKOS.prefLabel)), f"{name}: {concept}"


def test_the_portal_reads_no_shared_folder() -> None:
    """The running portal reads its reference data from the package, not from ../shared."""
    package = REPO / "vocab" / "reference"
    for path in package.glob("*.py"):
        assert "shared" not in path.read_text(encoding="utf-8").replace("shared reference", ""), path
