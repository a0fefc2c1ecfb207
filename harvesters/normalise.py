"""The one normaliser: a harvested record's licences, themes, formats, languages and frequency → EU authority tables.

The pipeline applies `normalise` to every record, whatever its source kind. A value that maps is
replaced by the EU concept's IRI (media types by their IANA name), and the source's own spelling
is kept in ``record.original``::

    {"licence": "CC-BY-4.0", "frequency": "R/P1D", "themes": ["Umwelt"], "languages": ["de"],
     "formats": {"<resource url>": {"format": "CSV file", "media_type": "text/csv; charset=utf-8",
                                    "licence": "cc-by"}},
     "unmapped": {"frequency": "every full moon", "themes": ["geospatial"]}}

A frequency that reads as a period no EU concept has (``every 3 days``) becomes its ISO 8601
duration (``P3D``), which the freshness check reads. A value that maps to nothing stays as the
source gave it and is listed under ``"unmapped"``: nothing is guessed. Characters no database or
XML document can hold (NUL, other C0 controls, lone surrogates) become U+FFFD first. Running
`normalise` twice changes nothing the second time.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from harvesters.base import HarvestedDataset, HarvestedResource
from vocab.authority.match import (
    bare_media_type, file_type, file_type_of_media_type, frequency, language, licence, media_type_of, theme,
)
from vocab.text import clean_values


def _licence(value: str | None) -> str | None:
    """The EU licence IRI for `value`, or None."""
    if not value:
        return None
    concept = licence(value)
    return concept.uri if concept is not None else None


def _mapped_list(values: list[str], lookup: Any) -> tuple[list[str], list[str]]:
    """Each value mapped where it can be (repeats dropped), and the values that could not be."""
    out: list[str] = []
    unmapped: list[str] = []
    for value in values:
        concept = lookup(value) if isinstance(value, str) else None
        mapped = concept.uri if concept is not None else value
        if concept is None:
            unmapped.append(value)
        if mapped not in out:
            out.append(mapped)
    return out, unmapped


def _resource(resource: HarvestedResource) -> tuple[dict[str, str], dict[str, str]]:
    """Normalise one resource in place; returns its original spellings that changed and those left unmapped."""
    original: dict[str, str] = {}
    unmapped: dict[str, str] = {}
    fmt_concept = file_type(resource.format) if resource.format else None
    media_concept = file_type_of_media_type(resource.media_type) if resource.media_type else None
    if media_concept is None and resource.media_type and not bare_media_type(resource.media_type):
        media_concept = file_type(resource.media_type)  # a format label where a media type belongs ("ZIP")
    concept = fmt_concept or media_concept
    new_format = concept.uri if concept is not None else resource.format
    bare = bare_media_type(resource.media_type) if resource.media_type else ""
    if media_concept is not None:
        new_media = media_type_of(media_concept) or bare or resource.media_type
    elif bare:
        new_media = bare
    else:
        new_media = (media_type_of(concept) if concept is not None else None) or resource.media_type
    if resource.format and concept is None:
        unmapped["format"] = resource.format
    if resource.media_type and media_concept is None and not bare:
        unmapped["media_type"] = resource.media_type
    for name, new in (("format", new_format), ("media_type", new_media)):
        old = getattr(resource, name)
        if new != old:
            original[name] = old
            setattr(resource, name, new)
    if resource.licence:
        mapped = _licence(resource.licence)
        if mapped is None:
            unmapped["licence"] = resource.licence
        elif mapped != resource.licence:
            original["licence"] = resource.licence
            resource.licence = mapped
    return original, unmapped


def _clean(item: HarvestedDataset | HarvestedResource) -> None:
    """Replace, in place, the characters no database or XML document can hold in every text of the record
    (`vocab.text.clean_text`): a remote title with a NUL must not fail a harvest or an Atom feed."""
    for spec in fields(item):
        value = getattr(item, spec.name)
        if isinstance(value, (str, list, dict)) and spec.name != "resources":
            setattr(item, spec.name, clean_values(value))


def normalise(record: HarvestedDataset) -> None:
    """Map the record's licences, themes, formats/media types, languages and frequency to the EU tables, in place.

    First, characters that no database or XML document can hold are replaced by U+FFFD, everywhere.
    """
    _clean(record)
    for resource in record.resources:
        _clean(resource)
    original = record.original
    unmapped: dict[str, Any] = {}

    if record.licence:
        mapped = _licence(record.licence)
        if mapped is None:
            unmapped["licence"] = record.licence
        elif mapped != record.licence:
            original.setdefault("licence", record.licence)
            record.licence = mapped

    if record.frequency:
        mapped = frequency(record.frequency)
        if mapped is None:
            unmapped["frequency"] = record.frequency
        elif mapped != record.frequency:
            original.setdefault("frequency", record.frequency)
            record.frequency = mapped

    for name, lookup in (("themes", theme), ("languages", language)):
        values = getattr(record, name)
        mapped_values, left = _mapped_list(values, lookup)
        if left:
            unmapped[name] = left
        if mapped_values != values:
            original.setdefault(name, list(values))
            setattr(record, name, mapped_values)

    formats: dict[str, dict[str, str]] = {}
    formats_left: dict[str, dict[str, str]] = {}
    for resource in record.resources:
        changed_here, left_here = _resource(resource)
        if changed_here:
            formats[resource.url] = changed_here
        if left_here:
            formats_left[resource.url] = left_here
    if formats:
        kept = original.setdefault("formats", {})
        for url, spelled in formats.items():
            kept.setdefault(url, spelled)
    if formats_left:
        unmapped["formats"] = formats_left

    if unmapped:
        original["unmapped"] = unmapped
    else:
        original.pop("unmapped", None)


__all__ = ["normalise"]
