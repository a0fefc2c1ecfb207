"""The reference tables and the EU authority tables as SKOS concept schemes, one named graph each.

Reference concepts get IRIs under the portal's base that are the same in every dataset,
`{base}/id/ref/{scheme}/{code}`; EU authority concepts keep the Publications Office's IRIs.
"""

from __future__ import annotations

from collections.abc import Iterator

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, SKOS

from vocab.reference.tables import Scheme, scheme, scheme_names
from vocab.uris import UriScheme


def notation_datatype(uris: UriScheme, system: str) -> URIRef:
    """The datatype of `skos:notation` literals of one code system, `{base}/def/code-{system}`."""
    return URIRef(uris.portal_term(f"code-{system}"))


def scheme_graph(ref: Scheme, uris: UriScheme) -> Graph:
    """One reference scheme as SKOS: scheme, concepts, labels, notations, parents, Wikidata matches."""
    graph = Graph()
    graph.bind("skos", SKOS)
    graph.bind("dct", DCTERMS)
    scheme_iri = URIRef(uris.reference(ref.name))
    graph.add((scheme_iri, RDF.type, SKOS.ConceptScheme))
    for lang, title in ref.titles.items():
        graph.add((scheme_iri, SKOS.prefLabel, Literal(title, lang=lang)))
        graph.add((scheme_iri, DCTERMS.title, Literal(title, lang=lang)))
    if ref.definition:
        graph.add((scheme_iri, SKOS.definition, Literal(ref.definition, lang="en")))
    for concept in ref.concepts.values():
        iri = URIRef(uris.reference(ref.name, concept.code))
        graph.add((iri, RDF.type, SKOS.Concept))
        graph.add((iri, SKOS.inScheme, scheme_iri))
        graph.add((iri, SKOS.topConceptOf, scheme_iri))
        graph.add((scheme_iri, SKOS.hasTopConcept, iri))
        for lang, label in concept.pref_labels.items():
            graph.add((iri, SKOS.prefLabel, Literal(label, lang=lang)))
        for lang, labels in concept.alt_labels.items():
            for label in labels:
                graph.add((iri, SKOS.altLabel, Literal(label, lang=lang)))
        for system, code in ref.notations(concept):
            graph.add((iri, SKOS.notation, Literal(code, datatype=notation_datatype(uris, system))))
        if concept.broader:
            graph.add((iri, SKOS.broader, URIRef(uris.reference(*concept.broader))))
        wikidata = concept.wikidata_iri()
        if wikidata:
            graph.add((iri, SKOS.exactMatch, URIRef(wikidata)))
    return graph


def authority_graph(name: str) -> Graph:
    """One EU authority table (`vocab.authority`) as SKOS under the Publications Office's own IRIs.

    The compact tables keep a concept's labels per language with the preferred one first: it gives
    `skos:prefLabel`, the others `skos:altLabel`.
    """
    from vocab.authority import table  # the EU tables are optional for the reference schemes

    source = table(name)
    graph = Graph()
    graph.bind("skos", SKOS)
    scheme_iri = URIRef(source.scheme)
    graph.add((scheme_iri, RDF.type, SKOS.ConceptScheme))
    if source.version:
        graph.add((scheme_iri, OWL.versionInfo, Literal(source.version)))
    for concept in source.concepts.values():
        iri = URIRef(concept.uri)
        graph.add((iri, RDF.type, SKOS.Concept))
        graph.add((iri, SKOS.inScheme, scheme_iri))
        graph.add((iri, SKOS.notation, Literal(concept.code)))
        for lang, labels in concept.labels.items():
            for n, label in enumerate(labels):  # the table keeps the preferred label first
                graph.add((iri, SKOS.prefLabel if n == 0 else SKOS.altLabel, Literal(label, lang=lang or None)))
        if concept.deprecated:
            graph.add((iri, OWL.deprecated, Literal(True)))
        for match in concept.facts.get("exact_match", ()):
            graph.add((iri, SKOS.exactMatch, URIRef(match)))
    return graph


def _nt(graph: Graph) -> bytes:
    return graph.serialize(format="nt", encoding="utf-8")


def reference_graphs(uris: UriScheme, *, authority: bool = True) -> Iterator[tuple[str, bytes]]:
    """(named graph IRI, N-Triples) of every reference scheme, then of every EU authority table.

    Reference scheme `s` goes to `{base}/graph/ref-{s}`, EU table `t` to `{base}/graph/authority-{t}`.
    """
    for name in scheme_names():
        yield uris.portal_graph(f"ref-{name}"), _nt(scheme_graph(scheme(name), uris))
    if authority:
        from vocab.authority import TABLES

        for table_name in TABLES:
            yield uris.portal_graph(f"authority-{table_name}"), _nt(authority_graph(table_name))


__all__ = ["authority_graph", "notation_datatype", "reference_graphs", "scheme_graph"]
