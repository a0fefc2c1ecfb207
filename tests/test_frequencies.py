"""Tests for vocab.frequencies: EU concepts from the OP SKOS file, and the normaliser's inputs."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import rdflib
from rdflib.namespace import SKOS

from vocab.frequencies import (
    EU_FREQUENCY_BASE,
    FREQUENCIES,
    Frequency,
    normalise_frequency,
)

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SKOS_FILE = SHARED / "vocabularies" / "frequency" / "frequencies-skos-ap-act.rdf"

DAY = timedelta(days=1)
UNIT = {"day": DAY, "week": 7 * DAY, "month": 30 * DAY, "year": 365 * DAY}
COUNT = {"once": 1, "twice": 2, "three times": 3, "two": 2, "three": 3}


@pytest.fixture(scope="module")
def concepts() -> dict[str, dict[str, Any]]:
    """Concepts of the EU frequency scheme in the OP SKOS file: code → uri, label, definition."""
    if not SKOS_FILE.exists():
        pytest.fail(f"EU frequency SKOS file not found at {SKOS_FILE}")
    graph = rdflib.Graph()
    graph.parse(SKOS_FILE, format="xml")
    scheme = rdflib.URIRef(EU_FREQUENCY_BASE.rstrip("/"))
    found: dict[str, dict[str, Any]] = {}
    for concept in set(graph.subjects(SKOS.inScheme, scheme)):
        english = {
            str(p): str(o)
            for p, o in graph.predicate_objects(concept)
            if isinstance(o, rdflib.Literal) and o.language == "en"
        }
        found[str(concept).rsplit("/", 1)[1]] = {
            "uri": str(concept),
            "label": english.get(str(SKOS.prefLabel)),
            "definition": english.get(str(SKOS.definition), ""),
            "matches": [str(m) for m in graph.objects(concept, SKOS.exactMatch)],
        }
    return found


def test_skos_file_has_the_2016_concepts(concepts: dict[str, dict[str, Any]]) -> None:
    assert len(concepts) == 23
    assert {"DAILY", "WEEKLY", "MONTHLY", "ANNUAL", "IRREG", "NEVER", "UPDATE_CONT"} <= set(concepts)


def test_every_skos_concept_is_known_by_its_uri(concepts: dict[str, dict[str, Any]]) -> None:
    for code, concept in concepts.items():
        frequency = normalise_frequency(str(concept["uri"]))
        assert frequency is not None, code
        assert (frequency.key, frequency.uri, frequency.label) == (
            code,
            concept["uri"],
            concept["label"],
        )
        assert FREQUENCIES[code] == frequency


def test_uri_variants_match(concepts: dict[str, dict[str, Any]]) -> None:
    for code, concept in concepts.items():
        uri = str(concept["uri"])
        for variant in (uri.replace("http://", "https://"), f" {uri}/ ", f"<{uri}>", uri.lower()):
            frequency = normalise_frequency(variant)
            assert frequency is not None and frequency.key == code, variant


def test_dublin_core_exact_matches_agree(concepts: dict[str, dict[str, Any]]) -> None:
    matches = [(code, m) for code, c in concepts.items() for m in c["matches"]]
    assert len(matches) >= 15
    for code, match in matches:
        frequency = normalise_frequency(match)
        assert frequency is not None and frequency.key == code, match


def test_periods_follow_the_skos_definitions(concepts: dict[str, dict[str, Any]]) -> None:
    """"occurs once a week" → 7 days; "every two months" → 60; "n times a year" → 12/n months."""
    checked = 0
    for code, concept in concepts.items():
        text = str(concept["definition"])
        times = re.fullmatch(r"The event occurs (once|twice|three times) a (day|week|month|year)\.", text)
        every = re.fullmatch(r"The event occurs every (two|three) (week|month|year)s\.", text)
        if times:
            count, unit = COUNT[times.group(1)], times.group(2)
            expected = UNIT["month"] * 12 / count if unit == "year" and count > 1 else UNIT[unit] / count
        elif every:
            expected = UNIT[every.group(2)] * COUNT[every.group(1)]
        else:
            continue
        checked += 1
        assert FREQUENCIES[code].period == expected, code
    assert checked == 16


@pytest.mark.parametrize("code", ["NEVER", "IRREG", "AS_NEEDED", "NOT_PLANNED", "CONT", "UPDATE_CONT"])
def test_exempt_frequencies(code: str) -> None:
    assert FREQUENCIES[code].exempt and FREQUENCIES[code].period is None


@pytest.mark.parametrize("code", ["UNKNOWN", "OTHER", "OP_DATPRO"])
def test_unreadable_schedules_are_neither_exempt_nor_periodic(code: str) -> None:
    assert not FREQUENCIES[code].exempt and FREQUENCIES[code].period is None


def test_table_shape() -> None:
    for code, frequency in FREQUENCIES.items():
        assert frequency.key == code and frequency.uri == EU_FREQUENCY_BASE + code
        assert frequency.label
        assert frequency.period is None or frequency.period > timedelta(0), code
        assert not (frequency.exempt and frequency.period is not None), code  # exempt: no period to miss


@pytest.mark.parametrize(
    ("value", "key"),
    [
        ("daily", "DAILY"), ("Daily", "DAILY"), ("  DAILY ", "DAILY"), ("weekly", "WEEKLY"),
        ("monthly", "MONTHLY"), ("quarterly", "QUARTERLY"), ("annually", "ANNUAL"),
        ("annual", "ANNUAL"), ("yearly", "ANNUAL"), ("biannually", "ANNUAL_2"),
        ("semiannual", "ANNUAL_2"), ("semi-annually", "ANNUAL_2"), ("half-yearly", "ANNUAL_2"),
        ("biennial", "BIENNIAL"), ("fortnightly", "BIWEEKLY"), ("Every 2 weeks", "BIWEEKLY"),
        ("every two weeks", "BIWEEKLY"), ("every other month", "BIMONTHLY"),
        ("twice a week", "WEEKLY_2"), ("three times a year", "ANNUAL_3"), ("once a month", "MONTHLY"),
        ("every 15 minutes", "15MIN"), ("hourly", "HOURLY"), ("every 12 months", "ANNUAL"),
        ("as needed", "AS_NEEDED"), ("As Needed", "AS_NEEDED"), ("AS_NEEDED", "AS_NEEDED"),
        ("not planned", "NOT_PLANNED"), ("never", "NEVER"), ("irregular", "IRREG"),
        ("real-time", "UPDATE_CONT"), ("realtime", "UPDATE_CONT"), ("continual", "CONT"),
        ("continuous", "CONT"), ("unknown", "UNKNOWN"), ("ANNUAL_2", "ANNUAL_2"),
        ("12HRS", "12HRS"), ("1min", "1MIN"),
    ],
)
def test_free_text(value: str, key: str) -> None:
    frequency = normalise_frequency(value)
    assert frequency is not None and frequency.key == key


@pytest.mark.parametrize(
    ("value", "key", "period"),
    [
        ("P1D", "DAILY", DAY), ("R/P1D", "DAILY", DAY), ("r/p1d", "DAILY", DAY),
        ("R5/P1D", "DAILY", DAY), ("R/2026-01-01T00:00:00Z/P1D", "DAILY", DAY),
        ("R/P1W", "WEEKLY", 7 * DAY), ("P7D", "WEEKLY", 7 * DAY), ("P2W", "BIWEEKLY", 14 * DAY),
        ("P1M", "MONTHLY", 30 * DAY), ("R/P3M", "QUARTERLY", 90 * DAY),
        ("R/P0.5M", "MONTHLY_2", 15 * DAY), ("P6M", "ANNUAL_2", 180 * DAY),
        ("P1Y", "ANNUAL", 365 * DAY), ("P12M", "ANNUAL", 365 * DAY), ("P2Y", "BIENNIAL", 730 * DAY),
        ("PT1H", "HOURLY", timedelta(hours=1)), ("PT12H", "DAILY_2", timedelta(hours=12)),
        ("PT10M", "10MIN", timedelta(minutes=10)),
        ("P3D", "CUSTOM", 3 * DAY), ("PT36H", "CUSTOM", timedelta(hours=36)),
        ("P1Y6M", "CUSTOM", 545 * DAY), ("P0,5D", "DAILY_2", timedelta(hours=12)),
    ],
)
def test_iso_8601_durations(value: str, key: str, period: timedelta) -> None:
    frequency = normalise_frequency(value)
    assert frequency is not None and (frequency.key, frequency.period) == (key, period)


@pytest.mark.parametrize(
    ("value", "key"),
    [
        ("1", "DAILY"), ("7", "WEEKLY"), ("14", "BIWEEKLY"), ("30", "MONTHLY"), ("60", "BIMONTHLY"),
        ("90", "QUARTERLY"), ("120", "ANNUAL_3"), ("180", "ANNUAL_2"), ("365", "ANNUAL"),
        ("730", "BIENNIAL"), ("0", "UPDATE_CONT"), ("-1", "NEVER"), ("-2", "AS_NEEDED"),
    ],
)
def test_hdx_day_counts(value: str, key: str) -> None:
    frequency = normalise_frequency(value)
    assert frequency is not None and frequency.key == key


def test_custom_periods() -> None:
    assert normalise_frequency("2") == Frequency("CUSTOM", "", "every 2 days", 2 * DAY)
    assert normalise_frequency("every 3 days") == Frequency("CUSTOM", "", "every 3 days", 3 * DAY)
    assert normalise_frequency("300") == Frequency("CUSTOM", "", "every 300 days", 300 * DAY)


@pytest.mark.parametrize(
    "value",
    [
        None, "", "   ", "foo", "every blue moon", "P", "PT", "P0D", "PT0S", "R/", "R/P", "P1Q",
        "-3", "999999999999", "P99999999999Y", "nonsense P1D",
        "http://example.org/frequency/DAILY", EU_FREQUENCY_BASE + "FORTNIGHTLY",
        "http://purl.org/cld/freq/sometimes", 3.5, ["daily"], True,
    ],
)
def test_unreadable_values_give_none(value: object) -> None:
    assert normalise_frequency(value) is None  # type: ignore[arg-type]
