"""The DCAT harvester on real recorded catalogues (../shared/samples/dcat), served over loopback HTTP.

Paged catalogues are made by splitting a real sample into Hydra pages; counts are taken from the
sample itself with SPARQL, independently of the harvester.
"""

from __future__ import annotations

import http.server
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.term import Node

from harvesters import harvester_for
from harvesters.base import HarvestedDataset, Harvester, ListingItem, ListingProblem
from harvesters.dcat import parse_catalogue
from portal.egress import Egress
from portal.errors import SourceError, SourceUnavailableError
from tests.conftest import SHARED, serve_http
from vocab import namespaces as ns

SAMPLES = SHARED / "samples" / "dcat"
RDF_SAMPLES = sorted(p.name for p in SAMPLES.iterdir() if p.suffix in {".ttl", ".rdf", ".xml", ".nt", ".jsonld"})
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
SYNTAXES = {"turtle": ".ttl", "xml": ".rdf", "json-ld": ".jsonld", "nt": ".nt"}


@pytest.fixture
def dcat() -> Iterator[Harvester]:
    """The DCAT harvester, allowed to reach the loopback file server."""
    with Egress(allow_private_addresses=True, backoff=0.01) as egress:
        yield harvester_for("dcat", egress=egress)


def serve(file_server: tuple[str, Path], name: str) -> str:
    url, root = file_server
    shutil.copyfile(SAMPLES / name, root / name)
    return f"{url}/{name}"


def sample_graph(name: str) -> Graph:
    """The sample parsed by rdflib directly, not through the harvester."""
    graph = Graph()
    graph.parse(SAMPLES / name, format="xml" if name.endswith((".rdf", ".xml")) else None)
    return graph


def count_datasets(graph: Graph) -> int:
    [row] = graph.query("SELECT (COUNT(DISTINCT ?d) AS ?n) WHERE { ?d a <http://www.w3.org/ns/dcat#Dataset> }")
    return int(str(row[0]))  # type: ignore[index]


def records(items: list[ListingItem]) -> list[HarvestedDataset]:
    return [item for item in items if isinstance(item, HarvestedDataset)]


def problems(items: list[ListingItem]) -> list[ListingProblem]:
    return [item for item in items if isinstance(item, ListingProblem)]


# ---- every sample, with its own count ------------------------------------------------------

@pytest.mark.parametrize("name", RDF_SAMPLES)
def test_every_rdf_sample_is_harvested_whole(dcat: Harvester, file_server: tuple[str, Path], name: str) -> None:
    expected = count_datasets(sample_graph(name))
    items = list(dcat.gather(serve(file_server, name)))
    assert not problems(items)
    datasets = records(items)
    assert len(datasets) == expected
    assert len({d.identifier for d in datasets}) == expected


def test_the_rdf_samples_are_the_four_known_catalogues() -> None:
    assert RDF_SAMPLES == ["antwerpen_dcat.xml", "ckanext-dcat_dataset_gob_es.ttl",
                           "ckanext-dcat_dataset_gov_de.rdf", "ckanext-dcatde_catalog-endpoint.rdf"]


def test_antwerp_catalogue_with_blank_node_datasets(dcat: Harvester, file_server: tuple[str, Path]) -> None:
    datasets = list(dcat.gather(serve(file_server, "antwerpen_dcat.xml")))
    assert len(datasets) == 491  # as the samples' README counts them
    assert all(isinstance(d, HarvestedDataset) and d.uri is None for d in datasets)  # all blank nodes
    assert sum(len(d.resources) for d in records(datasets)) > 2000
    first = records(datasets)[0]
    assert first.extras["pod:accessLevel"] == ["public"]  # DCAT-US term kept under its short name
    assert first.themes == ["geospatial"]  # a literal theme, kept as given
    assert first.contact_email == "gis@antwerpen.be"  # vcard:email "mailto:…" as a string
    assert first.extras["dcat:contactPoint"] == [{"rdf:type": ["http://www.w3.org/2006/vcard/ns#Contact"],
                                                  "vcard:email": ["mailto:gis@antwerpen.be"],
                                                  "vcard:fn": ["opendatabeheer"]}]
    texts = [d for d in records(datasets) if "dct:license" in d.extras]  # licences given as HTML text only
    assert len(texts) == 10 and all(d.licence is None for d in texts)


def test_municipal_turtle_record_from_madrid(dcat: Harvester, file_server: tuple[str, Path]) -> None:
    [dataset] = records(list(dcat.gather(serve(file_server, "ckanext-dcat_dataset_gob_es.ttl"))))
    assert dataset.title.startswith("Estudio de Satisfacción")
    # The frequency is a dct:Frequency whose rdf:value is a time:DurationDescription.
    assert dataset.frequency == "P1Y"
    assert dataset.languages == ["es"]
    assert dataset.publisher_name == "Ayuntamiento de Madrid"
    assert dataset.publisher_id == "L01280796"  # skos:notation of a skos:Concept publisher
    [resource] = dataset.resources
    assert resource.url == "https://datos.madrid.es/egob/catalogo/300676-0-deporte-encuesta-escuelas.xlsx"
    assert (resource.format, resource.media_type) == ("XLS", "application/vnd.ms-excel")  # a dct:IMT node
    assert resource.byte_size == 43008


def test_dcat_ap_de_record_from_rostock(dcat: Harvester, file_server: tuple[str, Path]) -> None:
    [dataset] = records(list(dcat.gather(serve(file_server, "ckanext-dcat_dataset_gov_de.rdf"))))
    assert dataset.publisher_name == "Hanse- und Universitätsstadt Rostock"
    assert dataset.publisher_uri == "https://www.opendata-hro.de/organization/b952e781-ab4c-456a-8e7a-2845f7efaf83"
    assert dataset.licence == "http://dcat-ap.de/def/licenses/cc-zero"  # from its distributions, as given
    assert dataset.themes == ["http://publications.europa.eu/resource/authority/data-theme/ECON"]
    assert dataset.languages == ["http://publications.europa.eu/resource/authority/language/DEU"]
    assert dataset.modified is not None and dataset.modified.tzinfo is not None
    assert dataset.extras["dcatde:contributorID"] == ["http://dcat-ap.de/def/contributors/openDataHRO"]
    assert dataset.extras["dcatde:politicalGeocodingURI"] == [
        "http://dcat-ap.de/def/politicalGeocoding/regionalKey/130030000000"]
    assert dataset.extras["dcat:contactPoint"][0]["vcard:hasEmail"] == ["mailto:geodienste@rostock.de"]
    geojson = next(r for r in dataset.resources if r.url.endswith("lieferservices.json"))
    assert geojson.format == "http://publications.europa.eu/resource/authority/file-type/GEOJSON"
    assert geojson.media_type == "application/geo+json"
    assert geojson.licence == "http://dcat-ap.de/def/licenses/cc-zero"
    assert geojson.byte_size == 147253
    assert geojson.modified is not None and geojson.modified.year == 2024
    assert geojson.extras["spdx:checksum"][0]["spdx:checksumValue"] == [
        "1d5a3926327046c8fcd75652c6e44d3c74004c6727939f33fb05e16e324df241"]


def test_dcat_ap_de_catalogue_endpoint(dcat: Harvester, file_server: tuple[str, Path]) -> None:
    items = list(dcat.gather(serve(file_server, "ckanext-dcatde_catalog-endpoint.rdf")))
    assert not problems(items)  # its hydra:PagedCollection names itself as the last page
    datasets = {d.identifier: d for d in records(items)}
    lichtenberg = datasets["63961baa-2fd0-40d4-9242-4a9640ff5f1e"]
    assert lichtenberg.extras["dcatde:contributorID"] == ["http://datenregister.berlin.de"]
    attributions = [r.extras.get("dcatde:licenseAttributionByText") for d in datasets.values() for r in d.resources]
    assert ["Freie und Hansestadt Hamburg, Behörde für Umwelt und Energie, 2015"] in attributions
    json_api = next(r for r in lichtenberg.resources if r.identifier.endswith("fef45495-8496-4f2a-84c0-f11c53a622da"))
    assert json_api.url == "http://www.berlin.de/ba-lichtenberg/wirtschaft/ausschreibung/index.php/index/all.json?q="
    assert (json_api.format, json_api.licence) == ("JSON", "http://dcat-ap.de/def/licenses/cc-by")
    assert json_api.description.startswith("REST-API mit JSON-Ausgabe")


# ---- Hydra paging --------------------------------------------------------------------------

def _closure(graph: Graph, start: Node) -> Graph:
    """The triples describing `start` and the nodes it points to (distributions, agents …), not other datasets."""
    out, todo, seen = Graph(), [start], {start}
    while todo:
        node = todo.pop()
        for predicate, obj in graph.predicate_objects(node):
            out.add((node, predicate, obj))
            other_record = any((obj, ns.RDF.type, kind) in graph for kind in (ns.DCAT.Dataset, ns.DCAT.Catalog))
            if predicate != ns.RDF.type and obj not in seen and (obj, None, None) in graph and not other_record:
                seen.add(obj)
                todo.append(obj)
    return out


def write_pages(name: str, root: Path, base: str, per_page: int, syntax: str, *, style: str = "view",
                next_of: dict[int, int] | None = None) -> list[str]:
    """Split a sample's datasets into pages with Hydra links; returns the page URLs in order."""
    graph = sample_graph(name)
    datasets = sorted(graph.subjects(ns.RDF.type, ns.DCAT.Dataset),
                      key=lambda d: str(graph.value(d, ns.DCTERMS.identifier)))
    chunks = [datasets[i:i + per_page] for i in range(0, len(datasets), per_page)]
    urls = [f"{base}/page-{i + 1}{SYNTAXES[syntax]}" for i in range(len(chunks))]
    for i, chunk in enumerate(chunks):
        page = Graph()
        for dataset in chunk:
            page += _closure(graph, dataset)
        view = URIRef(urls[i])
        nxt = (next_of or {}).get(i, i + 1)
        if style == "view":  # Hydra Core: hydra:PartialCollectionView, IRIs
            page.add((view, ns.RDF.type, HYDRA.PartialCollectionView))
            page.add((view, HYDRA.first, URIRef(urls[0])))
            page.add((view, HYDRA.last, URIRef(urls[-1])))
            if nxt < len(urls):
                page.add((view, HYDRA.next, URIRef(urls[nxt])))
        else:  # the older hydra:PagedCollection with literal links, as ckanext-dcat writes it
            page.add((view, ns.RDF.type, HYDRA.PagedCollection))
            page.add((view, HYDRA.firstPage, Literal(urls[0])))
            page.add((view, HYDRA.lastPage, Literal(urls[-1])))
            if nxt < len(urls):
                page.add((view, HYDRA.nextPage, Literal(urls[nxt])))
        (root / urls[i].rsplit("/", 1)[1]).write_bytes(page.serialize(format=syntax, encoding="utf-8"))
    return urls


@pytest.mark.parametrize("syntax", sorted(SYNTAXES))
def test_hydra_paged_catalogue_in_each_syntax(dcat: Harvester, file_server: tuple[str, Path], syntax: str) -> None:
    name = "ckanext-dcatde_catalog-endpoint.rdf"
    url, root = file_server
    urls = write_pages(name, root, url, 2, syntax)
    assert len(urls) == 3
    items = list(dcat.gather(urls[0]))
    assert not problems(items)
    graph = sample_graph(name)
    expected = {str(graph.value(d, ns.DCTERMS.identifier)) for d in graph.subjects(ns.RDF.type, ns.DCAT.Dataset)}
    assert len(expected) == count_datasets(graph)
    assert {d.identifier for d in records(items)} == expected


@pytest.mark.parametrize("style", ["view", "paged-collection"])
def test_antwerp_in_hydra_pages(dcat: Harvester, file_server: tuple[str, Path], style: str) -> None:
    url, root = file_server
    urls = write_pages("antwerpen_dcat.xml", root, url, 125, "xml", style=style)
    assert len(urls) == 4
    items = list(dcat.gather(urls[0]))
    assert not problems(items)
    assert len(records(items)) == 491
    assert len({d.identifier for d in records(items)}) == 491


def test_datasets_come_page_by_page(dcat: Harvester, file_server: tuple[str, Path]) -> None:
    url, root = file_server
    urls = write_pages("ckanext-dcatde_catalog-endpoint.rdf", root, url, 2, "turtle")
    listing = dcat.gather(urls[0])
    first_two = [next(listing), next(listing)]
    (root / urls[1].rsplit("/", 1)[1]).unlink()  # page 2 goes away after page 1 was read: page 1 was yielded first
    rest = list(listing)
    assert all(isinstance(d, HarvestedDataset) for d in first_two)
    [problem] = rest
    assert isinstance(problem, ListingProblem) and problem.where == urls[1]
    assert "page 2 could not be read" in problem.message and "404" in problem.message


def test_a_page_failing_mid_run_is_a_listing_problem(dcat: Harvester, file_server: tuple[str, Path]) -> None:
    url, root = file_server
    urls = write_pages("antwerpen_dcat.xml", root, url, 125, "xml")
    (root / urls[2].rsplit("/", 1)[1]).write_bytes(b"<rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>")
    items = list(dcat.gather(urls[0]))
    assert len(records(items)) == 250  # pages 1 and 2
    [problem] = problems(items)
    assert problem.where == urls[2] and "page 3" in problem.message
    assert isinstance(items[-1], ListingProblem)


def test_a_page_linking_back_is_a_loop(dcat: Harvester, file_server: tuple[str, Path]) -> None:
    url, root = file_server
    urls = write_pages("antwerpen_dcat.xml", root, url, 125, "turtle", next_of={2: 0})  # page 3 → page 1
    items = list(dcat.gather(urls[0]))
    assert len(records(items)) == 375
    [problem] = problems(items)
    assert problem.where == urls[0] and "loop" in problem.message


def test_the_same_page_served_twice_is_a_loop(dcat: Harvester) -> None:
    """A server that ignores the page parameter answers page 1 for every page."""
    catalogue: list[bytes] = []
    class SamePage(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/turtle")
            self.send_header("Content-Length", str(len(catalogue[0])))
            self.end_headers()
            self.wfile.write(catalogue[0])

        def log_message(self, format: str, *args: object) -> None:
            pass

    with serve_http(SamePage) as (url, _):
        catalogue.append((SAMPLES / "ckanext-dcat_dataset_gob_es.ttl").read_bytes() + (
            f"\n<{url}/catalog?page=1> a <http://www.w3.org/ns/hydra/core#PartialCollectionView> ;"
            f" <http://www.w3.org/ns/hydra/core#next> <{url}/catalog?page=2> .\n").encode())
        items = list(dcat.gather(f"{url}/catalog?page=1"))
    assert len(records(items)) == 1
    [problem] = problems(items)
    assert problem.where == f"{url}/catalog?page=2" and "repeats an earlier page" in problem.message


def test_page_cap(file_server: tuple[str, Path]) -> None:
    url, root = file_server
    urls = write_pages("ckanext-dcatde_catalog-endpoint.rdf", root, url, 2, "turtle")
    with Egress(allow_private_addresses=True) as egress:
        items = list(harvester_for("dcat", egress=egress).gather(urls[0], options={"max_pages": 2}))
    assert len(records(items)) == 4
    [problem] = problems(items)
    assert problem.where == urls[2] and "2 pages" in problem.message


def test_a_chain_ending_before_the_last_page_is_incomplete(dcat: Harvester, file_server: tuple[str, Path]) -> None:
    url, root = file_server
    urls = write_pages("ckanext-dcatde_catalog-endpoint.rdf", root, url, 2, "turtle", next_of={1: 99})
    items = list(dcat.gather(urls[0]))
    assert len(records(items)) == 4
    [problem] = problems(items)
    assert problem.where == urls[1] and urls[2] in problem.message


# ---- blank nodes ---------------------------------------------------------------------------

def _without_identifiers(count: int) -> Graph:
    """The first `count` Antwerp datasets (blank nodes) with their dct:identifier removed."""
    graph = sample_graph("antwerpen_dcat.xml")
    out = Graph()
    by_title = sorted(graph.subjects(ns.RDF.type, ns.DCAT.Dataset), key=lambda d: str(graph.value(d, ns.DCTERMS.title)))
    for dataset in by_title[:count]:
        out += _closure(graph, dataset)
    out.remove((None, ns.DCTERMS.identifier, None))
    return out


def test_blank_node_datasets_without_identifiers_get_stable_ones(dcat: Harvester,
                                                                 file_server: tuple[str, Path]) -> None:
    url, root = file_server
    graph = _without_identifiers(40)
    assert all(isinstance(d, BNode) for d in graph.subjects(ns.RDF.type, ns.DCAT.Dataset))
    (root / "a.ttl").write_bytes(graph.serialize(format="turtle", encoding="utf-8"))
    (root / "b.nt").write_bytes(graph.serialize(format="nt", encoding="utf-8"))  # other blank-node labels
    first = records(list(dcat.gather(f"{url}/a.ttl")))
    second = records(list(dcat.gather(f"{url}/b.nt")))
    assert len(first) == 40 == len({d.identifier for d in first})
    assert [d.identifier for d in first] == [d.identifier for d in second]
    titles = {str(graph.value(d, ns.DCTERMS.title)).strip() for d in graph.subjects(ns.RDF.type, ns.DCAT.Dataset)}
    assert {d.title for d in first} == titles
    assert all(r.identifier.startswith("sha256:") for d in first for r in d.resources)


# ---- safety --------------------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rdf:RDF [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:dcat="http://www.w3.org/ns/dcat#"
         xmlns:dct="http://purl.org/dc/terms/">
  <dcat:Dataset rdf:about="http://example.test/d"><dct:title>&lol9;</dct:title></dcat:Dataset>
</rdf:RDF>
"""


def test_billion_laughs_is_refused_before_parsing(dcat: Harvester, file_server: tuple[str, Path]) -> None:
    url, root = file_server
    (root / "laughs.rdf").write_bytes(BILLION_LAUGHS)
    with pytest.raises(SourceError, match=r"laughs\.rdf: XML with a DOCTYPE \(rdf:RDF\) is not read"):
        list(dcat.gather(f"{url}/laughs.rdf"))


def test_external_entities_and_remote_dtds_are_never_fetched(dcat: Harvester) -> None:
    asked: list[str] = []

    class Recording(http.server.SimpleHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            if self.path.startswith("/catalog"):
                body = CATALOGUES[self.path]
                self.send_response(200)
                self.send_header("Content-Type", "application/rdf+xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            else:
                self.send_error(404)

        def log_message(self, format: str, *args: object) -> None:
            pass

    with serve_http(Recording) as (url, _):
        CATALOGUES = {
            "/catalog-dtd.rdf": f'<?xml version="1.0"?>\n<!DOCTYPE rdf:RDF SYSTEM "{url}/evil.dtd">\n'
                                '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>'.encode(),
            "/catalog-xxe.rdf": b'<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
                                b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">&x;</rdf:RDF>',
        }
        for path in CATALOGUES:
            with pytest.raises(SourceError, match="DOCTYPE"):
                list(dcat.gather(url + path))
    assert asked == list(CATALOGUES)  # the catalogues only: no DTD was asked for


def test_doctype_refused_in_a_later_page_is_a_listing_problem(dcat: Harvester,
                                                              file_server: tuple[str, Path]) -> None:
    url, root = file_server
    urls = write_pages("ckanext-dcatde_catalog-endpoint.rdf", root, url, 2, "xml")
    (root / urls[1].rsplit("/", 1)[1]).write_bytes(BILLION_LAUGHS)
    items = list(dcat.gather(urls[0]))
    assert len(records(items)) == 2
    [problem] = problems(items)
    assert "DOCTYPE" in problem.message


def test_json_ld_with_a_remote_context_is_not_fetched() -> None:
    data = json.dumps({"@context": "http://127.0.0.1:1/context.jsonld", "@id": "x"}).encode()
    with pytest.raises(SourceError, match="remote @context"):
        parse_catalogue(data, "http://example.test/catalog.jsonld", "application/ld+json")


def test_turtle_starting_with_an_iri_is_not_taken_for_xml() -> None:
    data = (SAMPLES / "ckanext-dcat_dataset_gob_es.ttl").read_bytes().split(b"\n\n", 1)[1]
    prefixes = (SAMPLES / "ckanext-dcat_dataset_gob_es.ttl").read_bytes().split(b"\n\n", 1)[0]
    graph = parse_catalogue(prefixes + b"\n\n" + data, "http://example.test/catalog", "text/turtle")
    assert count_datasets(graph) == 1


# ---- errors --------------------------------------------------------------------------------

def test_missing_catalogue_is_unavailable(dcat: Harvester, file_server: tuple[str, Path]) -> None:
    url, _ = file_server
    with pytest.raises(SourceUnavailableError, match="404"):
        list(dcat.gather(f"{url}/nothing-here.ttl"))


def test_unparsable_catalogue_is_a_source_error(dcat: Harvester, file_server: tuple[str, Path]) -> None:
    url, root = file_server
    (root / "broken.ttl").write_text("@prefix dcat: <http://www.w3.org/ns/dcat#> .\n<a> dcat:x ", encoding="utf-8")
    with pytest.raises(SourceError, match="broken.ttl"):
        list(dcat.gather(f"{url}/broken.ttl"))


def test_bad_page_cap_option(dcat: Harvester, file_server: tuple[str, Path]) -> None:
    with pytest.raises(Exception, match="max_pages"):
        list(dcat.gather(serve(file_server, "ckanext-dcat_dataset_gob_es.ttl"), options={"max_pages": "many"}))


def test_unknown_kind() -> None:
    with pytest.raises(KeyError, match="unknown source kind"):
        harvester_for("gopher")

