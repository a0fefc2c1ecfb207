"""Cool URIs: stable, percent-encoded, validated base; slugs that never come out empty."""

from __future__ import annotations

import dataclasses

import pytest

from vocab.csv2rdf import column_terms
from vocab.uris import SLUG_MAX, UriScheme, slugify

BASE = "http://127.0.0.1:5000"


def test_patterns() -> None:
    uris = UriScheme(BASE)
    assert uris.thing("koeln", "aed", "12") == f"{BASE}/id/koeln/aed/12"
    assert uris.doc("koeln", "aed", "12") == f"{BASE}/doc/koeln/aed/12"
    assert uris.dataset("koeln", "aed") == f"{BASE}/dataset/koeln/aed"
    assert uris.distribution("koeln", "aed", "standorte-csv") == \
        f"{BASE}/dataset/koeln/aed/resource/standorte-csv"
    assert uris.graph("koeln", "aed") == f"{BASE}/graph/koeln/aed"
    assert uris.term("koeln", "aed", "adresse") == f"{BASE}/def/koeln/aed/adresse"
    assert uris.term("koeln", "aed", "Row") == f"{BASE}/def/koeln/aed/Row"
    assert uris.catalog() == f"{BASE}/catalog"
    assert uris.publisher("koeln") == f"{BASE}/id/publisher/koeln"
    assert uris.portal_term("tableValid") == f"{BASE}/def/tableValid"
    assert uris.portal_graph("catalog") == f"{BASE}/graph/catalog"


def test_same_input_same_uri_and_scheme_is_frozen() -> None:
    first, second = UriScheme(BASE), UriScheme(BASE + "/")
    assert first == second
    assert first.thing("p", "d", "Köln Hbf/1") == second.thing("p", "d", "Köln Hbf/1")
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.base = "http://example.org"  # type: ignore[misc]


@pytest.mark.parametrize(("key", "segment"), [
    ("a b", "a%20b"),
    ("a/b", "a%2Fb"),
    ("Köln", "K%C3%B6ln"),
    ("x?y#z", "x%3Fy%23z"),
    ("50%", "50%25"),
    ('<"{|}^`\\>', "%3C%22%7B%7C%7D%5E%60%5C%3E"),
    ("keep-._~", "keep-._~"),
    ("😀", "%F0%9F%98%80"),
    (".", "%2E"),
    ("..", "%2E%2E"),
])
def test_keys_are_percent_encoded(key: str, segment: str) -> None:
    assert UriScheme(BASE).thing("p", "d", key) == f"{BASE}/id/p/d/{segment}"
    assert UriScheme(BASE).doc("p", "d", key) == f"{BASE}/doc/p/d/{segment}"


def test_base_trailing_slash_is_stripped_and_https_accepted() -> None:
    assert UriScheme("https://data.example.org/portal//").base == "https://data.example.org/portal"


@pytest.mark.parametrize("base", [
    "", "127.0.0.1:5000", "ftp://example.org", "http://", "/relative/path",
    "http://example.org/a b", "http://example.org/?q=1", "http://example.org/#top",
    "http://example.org/<x>",
])
def test_bad_base_is_refused(base: str) -> None:
    with pytest.raises(ValueError):
        UriScheme(base)


@pytest.mark.parametrize(("text", "slug"), [
    ("Öffnungszeiten", "offnungszeiten"),
    ("Straße", "strasse"),
    ("Montageort des Defibrillators", "montageort-des-defibrillators"),
    ("  --Crème brûlée!!  ", "creme-brulee"),
    ("DBH_TRUNK", "dbh-trunk"),
    ("Ist 2010", "ist-2010"),
    ("Ærø", "aero"),
])
def test_slugify(text: str, slug: str) -> None:
    assert slugify(text) == slug


def test_slug_is_never_empty_and_stable() -> None:
    for text in ["", "!!!", "東京", "😀"]:
        slug = slugify(text)
        assert slug and slug == slugify(text)
        assert all(c.isascii() and (c.isalnum() or c == "-") for c in slug)
    assert slugify("東京") != slugify("大阪")


def test_slug_is_bounded() -> None:
    slug = slugify("word " * 100)
    assert len(slug) <= SLUG_MAX and not slug.endswith("-")


def test_colliding_column_slugs_get_suffixes_in_field_order() -> None:
    assert column_terms(["Name", "name", "NAME!", "Ort"]) == ["name", "name-2", "name-3", "ort"]
    assert column_terms(["a", "a-2", "a"]) == ["a", "a-2", "a-3"]
    assert column_terms(["a", "a", "a-2"]) == ["a", "a-2", "a-2-2"]
