"""The W3C CSVW csv2rdf test suite (../shared/conformance/csvw), run from its manifest.

Each manifest entry is one test, named by its id. The suite's base URL
http://www.w3.org/2013/csvw/tests/ is served from the local copy by a loader; the Link headers the
manifest gives (`csvt:httpLink`) are added to the action's response. Positive tests must give a
graph isomorphic to the expected result, warning tests must also warn, negative tests must raise.
Every case must pass: none is marked expected to fail (see vocab/csvw/CONFORMANCE.md).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from rdflib import Graph
from rdflib.compare import isomorphic, to_isomorphic, graph_diff

from portal.errors import PortalError
from vocab.csvw import CsvwWarning, csv2rdf

ROOT = Path(__file__).resolve().parents[1]
SUITE = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "csvw"
BASE = "http://www.w3.org/2013/csvw/tests/"

# The site-wide configuration www.w3.org publishes at /.well-known/csvm (tests 259 and 260 rely on
# its last two lines); the suite does not ship it, so the loader serves it from here.
W3C_WELL_KNOWN = b"{+url}-metadata.json\ncsv-metadata.json\n{+url}.json\ncsvm.json\n"


def _entries() -> list[dict[str, Any]]:
    manifest = json.loads((SUITE / "manifest-rdf.jsonld").read_text(encoding="utf-8"))
    entries: list[dict[str, Any]] = manifest["entries"]
    return entries


class SuiteLoader:
    """Serves the suite's base URL from the local copy, with the manifest's Link header."""

    def __init__(self, links: Mapping[str, str]) -> None:
        self.links = links

    def __call__(self, url: str) -> tuple[bytes, dict[str, str]]:
        parts = urlsplit(url)
        if url.split("?")[0] == "http://www.w3.org/.well-known/csvm":
            return W3C_WELL_KNOWN, {"Content-Type": "text/plain"}
        if not url.startswith(BASE):
            raise FileNotFoundError(url)
        path = SUITE / parts.path[len(urlsplit(BASE).path):]
        if not path.is_file():
            raise FileNotFoundError(url)
        headers = {"Content-Type": "application/csvm+json" if path.suffix == ".json" else "text/csv"}
        if url in self.links:
            headers["Link"] = self.links[url]
        return path.read_bytes(), headers


def _cases() -> list[Any]:
    return [pytest.param(entry, id=entry["id"].split("#")[-1]) for entry in _entries()]


def test_every_manifest_entry_is_run() -> None:
    names = {entry["id"].split("#")[-1] for entry in _entries()}
    assert len(names) == 270 and len(_cases()) == 270


@pytest.mark.parametrize("entry", _cases())
def test_csv2rdf(entry: dict[str, Any]) -> None:
    action = BASE + entry["action"]
    option = entry.get("option", {})
    metadata = BASE + option["metadata"] if "metadata" in option else None
    links = {action: entry["httpLink"]} if "httpLink" in entry else {}
    loader = SuiteLoader(links)
    kind = entry["type"].split(":")[-1]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if kind == "NegativeRdfTest":
            with pytest.raises(PortalError):
                csv2rdf(action, metadata=metadata, minimal=bool(option.get("minimal")), loader=loader)
            return
        graph = csv2rdf(action, metadata=metadata, minimal=bool(option.get("minimal")), loader=loader)
    expected = Graph().parse(SUITE / entry["result"], format="turtle", publicID=BASE + entry["result"])
    if not isomorphic(graph, expected):
        _, missing, extra = graph_diff(to_isomorphic(expected), to_isomorphic(graph))
        pytest.fail("not isomorphic\nmissing:\n" + missing.serialize(format="nt")
                    + "\nextra:\n" + extra.serialize(format="nt"))
    csvw_warnings = [w for w in caught if issubclass(w.category, CsvwWarning)]
    if kind == "ToRdfTestWithWarnings":
        assert csvw_warnings, "the test expects a warning"
