"""Regenerate the compact authority tables in this folder from the EU SKOS files (a developer tool).

Run from the checkout: ``python -m vocab.authority.convert ../shared/vocabularies``. It reads the
five RDF/XML files described in PROVENANCE.md and writes one JSON file per table. The language
table gets ISO 639-1 and ISO 639-2/B codes and English names from `pycountry` (install it to run
this tool; the portal itself does not need it).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DC, OWL, SKOS

AT = Namespace("http://publications.europa.eu/ontology/authority/")
HERE = Path(__file__).resolve().parent

#: table name → (file under the vocabularies folder, label languages kept; None keeps all)
SOURCES: dict[str, tuple[str, tuple[str, ...] | None]] = {
    "licence": ("licence/licences-skos.rdf", ("en",)),
    "data-theme": ("data-theme/data-theme-skos-ap-act.rdf", None),
    "file-type": ("file-type/filetypes-skos.rdf", ("en",)),
    "language": ("language/language-subset-geonetwork.rdf", None),
    "frequency": ("frequency/frequencies-skos-ap-act.rdf", None),
}


def _labels(graph: Graph, concept: URIRef, languages: tuple[str, ...] | None) -> dict[str, list[str]]:
    """Labels per language: the `skos:prefLabel` first, then the other labels sorted."""
    pref: dict[str, str] = {}
    found: dict[str, set[str]] = {}
    for predicate in (SKOS.prefLabel, SKOS.altLabel):
        for label in sorted(graph.objects(concept, predicate), key=str):
            if isinstance(label, Literal) and (languages is None or label.language in languages):
                text = " ".join(str(label).split())
                if text:
                    lang = label.language or ""
                    found.setdefault(lang, set()).add(text)
                    if predicate == SKOS.prefLabel:
                        pref.setdefault(lang, text)
    return {lang: ([pref[lang]] if lang in pref else []) + sorted(values - {pref.get(lang, "")})
            for lang, values in sorted(found.items())}


def _mapped(graph: Graph, concept: URIRef, source: str) -> list[str]:
    values: list[str] = []
    for mapping in graph.objects(concept, AT["op-mapped-code"]):
        if str(graph.value(mapping, DC.source)) == source:
            values.extend(str(v).strip() for v in graph.objects(mapping, AT["legacy-code"]))
    return sorted(set(values))


def _iso_codes(code: str) -> dict[str, str]:
    import pycountry  # only this tool needs it

    language = pycountry.languages.get(alpha_3=code.lower())
    if language is None:
        return {}
    found = {"iso639_1": getattr(language, "alpha_2", ""), "iso639_2b": getattr(language, "bibliographic", ""),
             "name": language.name}
    return {key: value for key, value in found.items() if value}


def convert_table(name: str, graph: Graph, languages: tuple[str, ...] | None) -> dict[str, Any]:
    """One table as a compact JSON-ready dict: scheme, version, and its concepts by code."""
    scheme = next(s for s in graph.subjects(None, SKOS.ConceptScheme) if isinstance(s, URIRef))
    concepts: dict[str, dict[str, Any]] = {}
    for concept in sorted(c for c in graph.subjects(SKOS.inScheme, scheme) if isinstance(c, URIRef)):
        code = str(concept).rsplit("/", 1)[1]
        entry: dict[str, Any] = {"labels": _labels(graph, concept, languages)}
        if str(graph.value(concept, AT.deprecated)) == "true":
            entry["deprecated"] = True
        matches = sorted(str(m) for m in graph.objects(concept, SKOS.exactMatch))
        if matches and name == "licence":
            entry["exact_match"] = matches
        if name == "file-type":
            entry["extensions"] = _mapped(graph, concept, "file-extension")
            entry["media_types"] = _mapped(graph, concept, "mime-type-cellar")
        if name == "language":
            entry.update(_iso_codes(code))
        concepts[code] = entry
    version = graph.value(scheme, OWL.versionInfo)
    return {"scheme": str(scheme), "version": str(version) if version else "", "concepts": concepts}


def convert(vocabularies: Path, out: Path = HERE, tables: Iterable[str] = SOURCES) -> list[Path]:
    """Convert the named tables; returns the files written."""
    written = []
    for name in tables:
        relative, languages = SOURCES[name]
        graph = Graph()
        graph.parse(vocabularies / relative, format="xml")
        table = convert_table(name, graph, languages)
        table["source"] = f"vocabularies/{relative}"
        path = out / f"{name}.json"
        path.write_text(json.dumps(table, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> None:
    """Command line: convert every table from the given vocabularies folder into this folder."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("vocabularies", type=Path, help="the shared vocabularies folder")
    args = parser.parse_args(argv)
    for path in convert(args.vocabularies):
        print(path)


if __name__ == "__main__":
    main()
