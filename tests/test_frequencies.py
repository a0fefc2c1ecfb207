"""Tests for vocab.frequencies: EU concepts from the OP SKOS file, and the one reader of declared frequencies."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import isodate
import pytest
import rdflib
from rdflib.namespace import SKOS

from vocab import frequencies
from vocab.authority import table
from vocab.authority.match import frequency as harvest_frequency
from vocab.frequencies import (
    EU_FREQUENCY_BASE,
    FREQUENCIES,
    Frequency,
    FrequencyReading,
    _read_text,
    normalise_frequency,
    read_frequency,
)
from vocab.frequency_text import Span, read_words, tokens
from vocab.frequency_words import lexicons

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
    assert normalise_frequency(value) is None


# ---- the one reader: read_frequency -------------------------------------------------------

SAMPLES = SHARED / "samples"
HOUR = timedelta(hours=1)


def _key(value: object) -> str | None:
    found = read_frequency(value).frequency
    return found.key if found is not None else None


# Real spellings in each language. A comment names the recorded sample (../shared/samples/…) a
# value was taken from; the rest are the examples and spellings common on portals.
ENGLISH = [
    ("Monthly", "MONTHLY"),  # ckan/toronto_package_show_street-tree-data.result.json: refresh_rate
    ("hourly", "HOURLY"),  # dcat/socrata-2013-08-28_data.sfgov.org.data.json: "frequency"
    ("daily", "DAILY"), ("bi-weekly", "BIWEEKLY"), ("Every 2 weeks", "BIWEEKLY"), ("3x per year", "ANNUAL_3"),
    ("3x/year", "ANNUAL_3"), ("every other week", "BIWEEKLY"), ("twice weekly", "WEEKLY_2"),
    ("once every 3 months", "QUARTERLY"), ("Semi-annually", "ANNUAL_2"), ("Real-time", "UPDATE_CONT"),
    ("Will not be Refreshed", "NEVER"), ("updated monthly", "MONTHLY"), ("Weekly updates", "WEEKLY"),
    ("once a year", "ANNUAL"), ("twice a day", "DAILY_2"), ("every 15 minutes", "15MIN"),
    ("every half hour", "30MIN"), ("Frequency: quarterly", "QUARTERLY"), ("daily (on weekdays)", "DAILY"),
    ("as required", "AS_NEEDED"), ("ad hoc", "IRREG"), ("discontinued", "NEVER"), ("each month", "MONTHLY"),
    ("continuously updated", "UPDATE_CONT"), ("two times per month", "MONTHLY_2"), ("every 6 months", "ANNUAL_2"),
    ("every working day", "DAILY"), ("continuous updates", "UPDATE_CONT"), ("continuous", "CONT"),
]
GERMAN = [
    ("monatlich", "MONTHLY"), ("alle zwei Wochen", "BIWEEKLY"), ("zweimal jährlich", "ANNUAL_2"),
    ("wöchentlich", "WEEKLY"), ("täglich (werktags)", "DAILY"), ("jährliche", "ANNUAL"), ("Jährlichen", "ANNUAL"),
    ("vierteljährlich", "QUARTERLY"), ("halbjährlich", "ANNUAL_2"), ("14-tägig", "BIWEEKLY"),
    ("vierzehntägig", "BIWEEKLY"), ("zweiwöchentlich", "BIWEEKLY"), ("einmal im Monat", "MONTHLY"),
    ("dreimal pro Woche", "WEEKLY_3"), ("jede zweite Woche", "BIWEEKLY"), ("alle 3 Monate", "QUARTERLY"),
    ("quartalsweise", "QUARTERLY"), ("bei Bedarf", "AS_NEEDED"), ("unregelmäßig", "IRREG"),
    ("Echtzeit", "UPDATE_CONT"), ("ständige Aktualisierung", "UPDATE_CONT"), ("jedes Jahr", "ANNUAL"),
    ("wird jährlich aktualisiert", "ANNUAL"), ("monatliche Aktualisierung", "MONTHLY"), ("stündlich", "HOURLY"),
    ("zweijährlich", "BIENNIAL"), ("nie", "NEVER"), ("unbekannt", "UNKNOWN"), ("jeden Tag", "DAILY"),
    ("zweimal die Woche", "WEEKLY_2"), ("täglich oder mehrmals am Tag", "DAILY"), ("jeden Werktag", "DAILY"),
]
FRENCH = [
    ("mensuelle", "MONTHLY"), ("tous les 3 mois", "QUARTERLY"), ("quinze jours", "BIWEEKLY"),
    ("trimestriel", "QUARTERLY"), ("tous les quinze jours", "BIWEEKLY"), ("une fois par semaine", "WEEKLY"),
    ("deux fois par an", "ANNUAL_2"), ("deux fois l'an", "ANNUAL_2"), ("chaque année", "ANNUAL"),
    ("mise à jour mensuelle", "MONTHLY"), ("mise à jour continuelle", "UPDATE_CONT"), ("en continu", "CONT"),
    ("quotidiennement", "DAILY"), ("bimensuel", "MONTHLY_2"), ("au besoin", "AS_NEEDED"), ("jamais", "NEVER"),
    ("non planifiée", "NOT_PLANNED"), ("tous les jours ouvrés", "DAILY"), ("toutes les 2 semaines", "BIWEEKLY"),
    ("quotidien, du lundi au vendredi", "DAILY"), ("mises à jour en continu", "UPDATE_CONT"),
]
DUTCH = [
    ("jaarlijks", "ANNUAL"), ("twee keer per jaar", "ANNUAL_2"), ("elke maand", "MONTHLY"),
    ("Update frequentie: jaarlijks", "ANNUAL"),  # dcat/antwerpen_dcat.xml, a dataset description line
    ("halfjaarlijks", "ANNUAL_2"), ("tweewekelijks", "BIWEEKLY"), ("veertiendaags", "BIWEEKLY"),
    ("om de twee weken", "BIWEEKLY"), ("tweemaal per dag", "DAILY_2"), ("driemaandelijks", "QUARTERLY"),
    ("per kwartaal", "QUARTERLY"), ("iedere week", "WEEKLY"), ("een keer per maand", "MONTHLY"),
    ("2x per week", "WEEKLY_2"), ("tweejaarlijks", "BIENNIAL"), ("dagelijks op werkdagen", "DAILY"),
    ("wordt jaarlijks bijgewerkt", "ANNUAL"), ("onregelmatig", "IRREG"), ("realtime", "UPDATE_CONT"),
]
SPANISH = [
    ("anual", "ANNUAL"), ("cada semana", "WEEKLY"), ("semestral", "ANNUAL_2"), ("dos veces al año", "ANNUAL_2"),
    ("una vez al mes", "MONTHLY"), ("cada dos semanas", "BIWEEKLY"), ("mensualmente", "MONTHLY"),
    ("quincenal", "BIWEEKLY"), ("cada quince días", "BIWEEKLY"), ("trimestral", "QUARTERLY"),
    ("tiempo real", "UPDATE_CONT"), ("todos los días", "DAILY"), ("cada 3 meses", "QUARTERLY"),
    ("dos veces por semana", "WEEKLY_2"), ("tres veces a la semana", "WEEKLY_3"), ("a diario", "DAILY"),
    ("diaria", "DAILY"), ("cuatrimestral", "ANNUAL_3"), ("bajo demanda", "AS_NEEDED"), ("nunca", "NEVER"),
    ("actualización mensual", "MONTHLY"), ("no planificado", "NOT_PLANNED"), ("desconocida", "UNKNOWN"),
    ("todos los días laborables", "DAILY"),
]


@pytest.mark.parametrize(("value", "key"), ENGLISH + GERMAN + FRENCH + DUTCH + SPANISH)
def test_real_world_spellings(value: str, key: str) -> None:
    reading = read_frequency(value)
    assert (reading.state, _key(value), reading.problem) == ("read", key, None), value


def test_scdl_catalogue_update_frequencies() -> None:
    """Every value of FREQ_MAJ in the SCDL catalogue schema (schema.data.gouv.fr) is read."""
    schema = json.loads((SAMPLES / "schemas/schema.data.gouv.fr/scdl_catalogue.schema.json").read_text("utf-8"))
    field = next(f for f in schema["fields"] if f["name"] == "FREQ_MAJ")
    expected = {
        "Inconnue": "UNKNOWN", "Ponctuelle": "AS_NEEDED", "Irrégulière": "IRREG", "Continuelle": "CONT",
        "Toutes les heures": "HOURLY", "Quotidienne ou plusieurs fois par jour": "DAILY",
        "Hebdomadaire ou plusieurs fois par semaine": "WEEKLY", "Mensuelle ou plusieurs fois par mois": "MONTHLY",
        "Bimestrielle": "BIMONTHLY", "Trimestrielle": "QUARTERLY", "Semestrielle": "ANNUAL_2",
        "Annuelle": "ANNUAL", "Biennale": "BIENNIAL", "Triennale": "TRIENNIAL", "Quinquennale": "QUINQUENNIAL",
    }
    assert set(field["constraints"]["enum"]) == set(expected)
    assert {value: _key(value) for value in expected} == expected


def test_antwerp_update_frequencies() -> None:
    """Every "Update frequentie: …" written in the City of Antwerp's dataset descriptions is read."""
    text = (SAMPLES / "dcat/antwerpen_dcat.xml").read_text("utf-8")
    found = set()
    for part in text.split("Update frequentie:")[1:]:
        found.add(part.split("&")[0].split("<")[0].strip())
    expected = {
        "continu": "CONT", "dagelijks": "DAILY", "indien nodig": "AS_NEEDED", "jaarlijks": "ANNUAL",
        "maandelijks": "MONTHLY", "niet gepland": "NOT_PLANNED", "om 3 maanden": "QUARTERLY",
        "onbekend": "UNKNOWN", "wekelijks": "WEEKLY",
    }
    assert found == set(expected)
    assert {value: _key(value) for value in expected} == expected


# udata's French labels for its frequencies, from opendatateam/udata
# udata/translations/fr/LC_MESSAGES/udata.po @ 014a7705188b504de3c204414e3a99a2facfbbcb.
UDATA_FRENCH = [
    ("Inconnu", "UNKNOWN"), ("Ponctuelle", "AS_NEEDED"), ("Temps réel", "UPDATE_CONT"),
    ("Toutes les heures", "HOURLY"), ("Deux fois par jour", "DAILY_2"), ("Quotidienne", "DAILY"),
    ("Trois fois par semaine", "WEEKLY_3"), ("Deux fois par semaine", "WEEKLY_2"), ("Hebdomadaire", "WEEKLY"),
    ("Toutes les deux semaines", "BIWEEKLY"), ("Trois fois par mois", "MONTHLY_3"),
    ("Deux fois par mois", "MONTHLY_2"), ("Mensuelle", "MONTHLY"), ("Bimestrielle", "BIMONTHLY"),
    ("Trimestrielle", "QUARTERLY"), ("Trois fois par an", "ANNUAL_3"), ("Semestrielle", "ANNUAL_2"),
    ("Annuelle", "ANNUAL"), ("Biennale", "BIENNIAL"), ("Triennale", "TRIENNIAL"),
    ("Quinquennale", "QUINQUENNIAL"), ("Sans régularité", "IRREG"), ("Irrégulière", "IRREG"),
]


@pytest.mark.parametrize(("value", "key"), UDATA_FRENCH)
def test_udata_french_labels(value: str, key: str) -> None:
    assert _key(value) == key


@pytest.mark.parametrize(("value", "period"), [
    ("Quatre fois par jour", 6 * HOUR), ("Trois fois par jour", 8 * HOUR), ("Quatre fois par semaine", 42 * HOUR),
])
def test_udata_french_labels_without_an_eu_concept(value: str, period: timedelta) -> None:
    found = normalise_frequency(value)
    assert found is not None and (found.key, found.period) == ("CUSTOM", period)


# udata's frequency ids, from opendatateam/udata udata/core/dataset/constants.py @ 2833941b…
# (camelCase ids, and LEGACY_FREQUENCIES) and @ 01fa1ed3… (EU codes in lower case).
UDATA_IDS = [
    ("punctual", "AS_NEEDED", None), ("continuous", "CONT", None), ("hourly", "HOURLY", HOUR),
    ("fourTimesADay", "CUSTOM", 6 * HOUR), ("threeTimesADay", "CUSTOM", 8 * HOUR), ("semidaily", "DAILY_2", 12 * HOUR),
    ("daily", "DAILY", DAY), ("fourTimesAWeek", "CUSTOM", 42 * HOUR), ("threeTimesAWeek", "WEEKLY_3", 56 * HOUR),
    ("semiweekly", "WEEKLY_2", 84 * HOUR), ("weekly", "WEEKLY", 7 * DAY), ("biweekly", "BIWEEKLY", 14 * DAY),
    ("threeTimesAMonth", "MONTHLY_3", 10 * DAY), ("semimonthly", "MONTHLY_2", 15 * DAY),
    ("monthly", "MONTHLY", 30 * DAY), ("bimonthly", "BIMONTHLY", 60 * DAY), ("quarterly", "QUARTERLY", 90 * DAY),
    ("threeTimesAYear", "ANNUAL_3", 120 * DAY), ("semiannual", "ANNUAL_2", 180 * DAY),
    ("annual", "ANNUAL", 365 * DAY), ("biennial", "BIENNIAL", 730 * DAY), ("triennial", "TRIENNIAL", 1095 * DAY),
    ("quinquennial", "QUINQUENNIAL", 1825 * DAY), ("irregular", "IRREG", None), ("unknown", "UNKNOWN", None),
    ("notPlanned", "NOT_PLANNED", None), ("other", "OTHER", None),
    ("not_planned", "NOT_PLANNED", None), ("as_needed", "AS_NEEDED", None), ("irreg", "IRREG", None),
    ("update_cont", "UPDATE_CONT", None), ("daily_2", "DAILY_2", 12 * HOUR), ("weekly_5", "WEEKLY_5", None),
    ("annual_3", "ANNUAL_3", 120 * DAY), ("decennial", "DECENNIAL", 3650 * DAY), ("never", "NEVER", None),
    ("fortnighly", "BIWEEKLY", 14 * DAY), ("biannual", "ANNUAL_2", 180 * DAY), ("realtime", "UPDATE_CONT", None),
]


@pytest.mark.parametrize(("value", "key", "period"), UDATA_IDS)
def test_udata_ids(value: str, key: str, period: timedelta | None) -> None:
    found = normalise_frequency(value)
    assert found is not None and found.key == key
    if period is not None:
        assert found.period == period


CLD = {
    "daily": "DAILY", "weekly": "WEEKLY", "semiweekly": "WEEKLY_2", "threeTimesAWeek": "WEEKLY_3",
    "biweekly": "BIWEEKLY", "monthly": "MONTHLY", "semimonthly": "MONTHLY_2", "threeTimesAMonth": "MONTHLY_3",
    "bimonthly": "BIMONTHLY", "quarterly": "QUARTERLY", "threeTimesAYear": "ANNUAL_3", "semiannual": "ANNUAL_2",
    "annual": "ANNUAL", "biennial": "BIENNIAL", "triennial": "TRIENNIAL", "continuous": "CONT",
    "irregular": "IRREG",
}


@pytest.mark.parametrize(("term", "key"), sorted(CLD.items()))
def test_dublin_core_iris_and_terms(term: str, key: str) -> None:
    iri = f"http://purl.org/cld/freq/{term}"
    for value in (iri, iri.replace("http:", "https:"), f"<{iri}>", iri + "/", iri.upper(), term):
        assert _key(value) == key, value


def test_every_code_of_the_bundled_eu_table_is_read_from_its_iri() -> None:
    concepts = table("frequency").concepts
    assert len(concepts) == 23
    for code, concept in concepts.items():
        assert _key(concept.uri) == code
        assert _key(concept.uri.replace("http://", "https://") + "/") == code


@pytest.mark.parametrize("code", sorted(FREQUENCIES))
def test_every_eu_code_is_read_as_iri_and_as_code(code: str) -> None:
    assert _key(EU_FREQUENCY_BASE + code) == code
    assert _key(code) == code and _key(code.lower()) == code


@pytest.mark.parametrize("language", ["en", "de", "fr", "nl", "es"])
def test_eu_table_labels_in_the_five_languages(language: str) -> None:
    checked = 0
    for code, concept in table("frequency").concepts.items():
        for label in concept.labels.get(language, ()):
            assert _key(label) == code, label
            checked += 1
    assert checked >= 23


def _span_period(span: Span) -> timedelta:
    """A span's period, counted as the issue says: 30-day months, 365-day years, twelve months a year."""
    if span.unit in ("month", "year"):
        months = span.amount * (12 if span.unit == "year" else 1)
        years = months // 12
        return timedelta(days=float(365 * years + 30 * (months - 12 * years)))
    seconds = {"minute": 60, "hour": 3600, "day": 86400, "week": 604800}[span.unit]
    return timedelta(seconds=float(span.amount * seconds))


@pytest.mark.parametrize("language", ["en", "de", "fr", "nl", "es"])
def test_the_grammar_alone_reads_the_eu_labels(language: str) -> None:
    """Not only the label index: the five grammars read the EU labels too (all but "provisional data")."""
    for code, concept in table("frequency").concepts.items():
        if code == "OP_DATPRO":
            continue
        for label in concept.labels.get(language, ()):
            readings = read_words(tokens(label), lexicons())
            assert readings, label
            for _, said in readings:
                if isinstance(said, Span):
                    assert _span_period(said) == FREQUENCIES[code].period, label
                else:
                    assert said == code, label


@pytest.mark.parametrize("spellings", [
    ("mensuel", "mensuelle", "mensuels", "mensuelles", "MENSUELLE", "Mensuelle.", "mensuellement"),
    ("jährlich", "jährliche", "jährlichen", "jährlicher", "jährliches", "JÄHRLICH", "jahrlich"),
    ("trimestriel", "Trimestrielle", "trimestriels", "trimestrielles", "trimestriellement"),
    ("jaarlijks", "jaarlijkse", "Jaarlijks!", "JAARLIJKS"), ("anual", "anuales", "anualmente", "ANUAL"),
    ("semestral", "semestrales", "semestralmente"), ("halbjährlich", "halbjährliche", "HALBJAHRLICH"),
    ("tous les trois mois", "Tous les 3 mois", "tous les 3 mois.", "TOUS LES TROIS MOIS"),
    ("irrégulier", "irrégulière", "irregulier", "IRRÉGULIÈRES", "irregular"),
    ("every two weeks", "Every 2 Weeks", "every 2 weeks.", "every  2\nweeks", "fortnightly"),
])
def test_accents_case_punctuation_and_inflection_do_not_matter(spellings: tuple[str, ...]) -> None:
    keys = {_key(s) for s in spellings}
    assert len(keys) == 1 and None not in keys, keys


@pytest.mark.parametrize(("value", "key", "period"), [
    ("R/P1D", "DAILY", DAY), ("R5/2020-01-01/P1M", "MONTHLY", 30 * DAY),
    ("R/2020-01-01T00:00:00Z/P1W", "WEEKLY", 7 * DAY), ("R/P1W/2020-12-31", "WEEKLY", 7 * DAY),
    ("R12/2024-01-01T06:00:00+01:00/PT1H", "HOURLY", HOUR), ("R/P1Y", "ANNUAL", 365 * DAY),
    ("R/P1.5Y", "CUSTOM", 545 * DAY), ("R/P3M", "QUARTERLY", 90 * DAY), ("R/P1DT12H", "CUSTOM", 36 * HOUR),
    ("r/p2w", "BIWEEKLY", 14 * DAY),
])
def test_iso_8601_repeating_intervals(value: str, key: str, period: timedelta) -> None:
    found = normalise_frequency(value)
    assert found is not None and (found.key, found.period) == (key, period)


UNREADABLE = [
    ("every full moon", "'every full moon' is not a frequency Lodestar can read"),
    ("2 or 3 times", "'2 or 3 times' is not a frequency Lodestar can read"),
    ("daily except when not", "'daily except when not' is not a frequency Lodestar can read"),
    ("weekly?? maybe", "'weekly?? maybe' is not a frequency Lodestar can read"),
    ("weekly?", "'weekly?' is not a frequency Lodestar can read"),
    ("whenever budget allows", "'whenever budget allows' is not a frequency Lodestar can read"),
    # The second Tuesday of every month is monthly, but "jeden zweiten" alone means every other one;
    # weekdays are not in the grammar, so it stays unreadable rather than guessed.
    ("jeden zweiten Dienstag im Monat", "'jeden zweiten Dienstag im Monat' is not a frequency Lodestar can read"),
    ("every 2-3 days", "'every 2-3 days' is not a frequency Lodestar can read"),
    ("every 0 days", "'every 0 days' is not a frequency Lodestar can read"),
    ("once", "'once' is not a frequency Lodestar can read"),
    ("P", "'P' is not an ISO 8601 duration or repeating interval"),
    ("R/garbage/P1D", "'R/garbage/P1D' is not an ISO 8601 duration or repeating interval"),
    ("R/P1D/P2D", "'R/P1D/P2D' is not an ISO 8601 duration or repeating interval"),
    ("R/P0D", "'R/P0D' is no period of time between updates (zero or negative)"),
    ("-P1D", "'-P1D' is no period of time between updates (zero or negative)"),
    ("-5", "'-5' is no HDX day count (a number of days, or 0, -1 or -2)"),
    ("http://purl.org/cld/freq/sometimes",
     "'http://purl.org/cld/freq/sometimes' is no EU or Dublin Core frequency IRI Lodestar knows"),
]


@pytest.mark.parametrize(("value", "problem"), UNREADABLE)
def test_unreadable_values_are_reported_not_guessed(value: str, problem: str) -> None:
    assert read_frequency(value) == FrequencyReading(None, value, "unreadable", problem)


@pytest.mark.parametrize("value", ["x" * 10_000, "daily " * 2_000, "1" * 10_000, "P" + "1" * 9_999 + "D"])
def test_very_long_values_are_unreadable(value: str) -> None:
    reading = read_frequency(value)
    assert (reading.frequency, reading.state) == (None, "unreadable")
    assert reading.problem is not None and "too long" in reading.problem


@pytest.mark.parametrize("value", [None, "", "   ", "\n\t"])
def test_nothing_declared_is_missing(value: object) -> None:
    assert read_frequency(value) == FrequencyReading(None, None, "missing", None)


@pytest.mark.parametrize(("value", "given", "problem"), [
    (["daily"], None, "a list is not a frequency Lodestar can read"),
    (True, None, "a bool is not a frequency Lodestar can read"),
    (10**40, None, "a number that large is no HDX day count"),
])
def test_values_that_are_not_text(value: object, given: str | None, problem: str) -> None:
    assert read_frequency(value) == FrequencyReading(None, given, "unreadable", problem)


def test_reading_keeps_what_the_source_gave() -> None:
    reading = read_frequency("  every   2\nweeks ")
    assert (reading.given, reading.state, reading.problem, _key("every 2 weeks")) == (
        "every 2 weeks", "read", None, "BIWEEKLY")
    assert read_frequency(7) == FrequencyReading(FREQUENCIES["WEEKLY"], "7", "read")
    assert read_frequency(7.0) == FrequencyReading(FREQUENCIES["WEEKLY"], "7", "read")
    with pytest.raises(dataclasses.FrozenInstanceError):
        reading.state = "missing"  # type: ignore[misc]


def test_readings_are_memoised_and_frequencies_hashable() -> None:
    assert read_frequency("alle zwei Wochen") is read_frequency("alle zwei Wochen")
    found = {normalise_frequency(v) for v in ("weekly", "wöchentlich", "hebdomadaire", "P7D", "7", "R/P1W")}
    assert found == {FREQUENCIES["WEEKLY"]}
    assert len({read_frequency("weekly"), read_frequency("weekly")}) == 1


@pytest.mark.parametrize("value", [v for v, _ in ENGLISH + GERMAN + SPANISH] + [v for v, _ in UNREADABLE]
                         + [v for v, *_ in UDATA_IDS] + ["P3D", "every 3 days", "", "R/P1X"])
def test_harvest_mapping_and_normalise_use_the_same_reader(value: str) -> None:
    reading = read_frequency(value)
    assert normalise_frequency(value) == reading.frequency
    found = reading.frequency
    expected = None
    if found is not None:
        expected = found.uri if found.key != "CUSTOM" else isodate.duration_isoformat(found.period)
    assert harvest_frequency(value) == expected


def test_languages_that_disagree_make_a_value_unreadable(monkeypatch: pytest.MonkeyPatch) -> None:
    """If two grammars read one text as different frequencies, nothing is guessed."""
    german = next(lexicon for lexicon in lexicons() if lexicon.language == "German")
    other = dataclasses.replace(german, language="Testish",
                                words={**german.words, ("monatliche",): Span("week", Fraction(1))})
    monkeypatch.setattr(frequencies, "lexicons", lambda: (german, other))
    _read_text.cache_clear()
    try:
        reading = read_frequency("monatliche Aktualisierung")
    finally:
        monkeypatch.undo()
        _read_text.cache_clear()
    assert (reading.frequency, reading.state) == (None, "unreadable")
    assert reading.problem == ("'monatliche Aktualisierung' reads differently in different languages "
                               "(monthly in German; weekly in Testish)")


@pytest.mark.parametrize(("text", "expected"), [
    ("Bi-weekly", ("biweekly",)), ("14-tägig", ("14", "tagig")), ("3x/year", ("3", "x", "/", "year")),
    ("deux fois l'an", ("deux", "fois", "l", "an")), ("alle 1,5 Tage", ("alle", "1.5", "tage")),
    ("weekly??", ("weekly", "?", "?")), ("-5", ("-", "5")), ("2-3 days", ("2", "-", "3", "days")),
    ("halfjaarlĳks", ("halfjaarlijks",)), ("Unregelmäßig (Straße)", ("unregelmassig", "strasse")),
    ("Quotidienne, ou plusieurs fois par jour.", ("quotidienne", "ou", "plusieurs", "fois", "par", "jour")),
])
def test_tokens(text: str, expected: tuple[str, ...]) -> None:
    assert tokens(text) == expected
