"""Linkers on real sample columns: codes first, then normalised labels; ambiguity reported, never guessed."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from vocab.linking import LinkStats, Linker, linker, strip_affixes, tokens
from vocab.reference import Concept, Scheme, scheme
from vocab.uris import UriScheme

BASE = "http://127.0.0.1:5000"
URIS = UriScheme(BASE)
REPO = Path(__file__).resolve().parents[1]
SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples" / "csv"
DEMO = REPO / "portal" / "demo" / "files"


def column(path: Path, name: str, *, delimiter: str = ",", encoding: str = "utf-8",
           skip: int = 0) -> Iterator[str]:
    """The cells of one column of a CSV file, the header found after `skip` preamble lines."""
    with path.open(encoding=encoding, newline="") as source:
        for _ in range(skip):
            source.readline()
        reader = csv.reader(source, delimiter=delimiter)
        header = [h.strip() for h in next(reader)]
        index = header.index(name)
        for row in reader:
            if len(row) > index:
                yield row[index]


def linked(scheme_name: str, values: Iterator[str], name: str) -> tuple[list[str | None], LinkStats]:
    linker = Linker(scheme(scheme_name), URIS)
    stats = linker.stats(name)
    return list(linker.link_all(values, stats)), stats


def ref(scheme_name: str, code: str) -> str:
    return URIS.reference(scheme_name, code)


# ---- every district value in the samples links -------------------------------------------------

def test_lambeth_polling_station_wards_all_link() -> None:
    iris, stats = linked("lambeth-ward", column(SAMPLES / "lambeth_polling-stations.csv", "WARD"), "WARD")
    assert stats.total == 95 and stats.linked == 95 and stats.by_label == 95
    assert stats.unmatched == stats.ambiguous == 0
    assert len(set(iris)) == 21  # every ward has a polling station
    values = list(column(SAMPLES / "lambeth_polling-stations.csv", "WARD"))
    by_value = dict(zip(values, iris))
    assert by_value["Bishops"] == ref("lambeth-ward", "E05000416")  # "Bishop's" officially
    assert by_value["Stockwell"] == ref("lambeth-ward", "E05000429")
    assert by_value["Vassall"] == ref("lambeth-ward", "E05000436")


def test_lambeth_toilet_areas_are_not_wards_and_are_not_guessed() -> None:
    """The toilets' AREA holds neighbourhoods (Clapham, Waterloo …), not wards: only a true name links."""
    values = list(column(DEMO / "lambeth-community-toilets.csv", "AREA"))
    iris, stats = linked("lambeth-ward", iter(values), "AREA")
    assert stats.total == 30
    assert dict(zip(values, iris))["Stockwell"] == ref("lambeth-ward", "E05000429")
    # "Clapham" is part of two wards' names (Clapham Common, Clapham Town): no fuzzy guess
    assert "Clapham" in stats.unmatched_values and stats.unmatched_values["Clapham"] == 7
    assert stats.linked == 1 and stats.unmatched == 29


def test_koeln_budget_districts_link_by_number_and_by_name_alike() -> None:
    path = SAMPLES / "koeln_haushalt_bezirke_produktgruppen.csv"
    numbers, by_number = linked("koeln-stadtbezirk", column(path, "Bezirk", delimiter=";"), "Bezirk")
    names, by_name = linked("koeln-stadtbezirk", column(path, "Bezeichnung", delimiter=";"), "Bezeichnung")
    assert by_number.total == by_name.total == 1529
    assert by_number.by_code == 1529 and by_name.by_label == 1529
    assert numbers == names  # each row's number and name are the same district
    assert set(numbers) == {ref("koeln-stadtbezirk", str(n)) for n in range(1, 10)}
    # the table spells Mülheim "Mühlheim"
    muelheim = [iri for iri, name in zip(names, column(path, "Bezeichnung", delimiter=";"))
                if name == "Mühlheim"]
    assert muelheim and set(muelheim) == {ref("koeln-stadtbezirk", "9")}


@pytest.mark.parametrize("path", [SAMPLES / "toronto_street-trees_YO-york.csv",
                                  DEMO / "toronto-street-trees-york.csv"], ids=["sample", "demo"])
def test_toronto_street_tree_wards_all_link(path: Path) -> None:
    iris, stats = linked("toronto-ward", column(path, "WARD"), "WARD")
    assert stats.total == 10991 and stats.by_code == 10991
    # zero-padded "05" is ward 5; York's trees stand in five wards
    assert set(iris) == {ref("toronto-ward", n) for n in ("4", "5", "8", "9", "12")}


def test_boston_wards_in_three_spellings_all_link() -> None:
    values = list(column(SAMPLES / "boston_311-service-requests_100.csv", "ward"))
    iris, stats = linked("boston-ward", iter(values), "ward")
    assert stats.empty == 1  # a single space
    assert stats.total == 99 and stats.linked == 99
    by_value = dict(zip(values, iris))
    assert by_value["03"] == by_value["3"] == by_value["Ward 3"] == ref("boston-ward", "3")
    assert stats.by_code > 0 and stats.by_label > 0


def test_municipalities_named_by_their_publishers_link() -> None:
    oxford, stats = linked("municipality", column(SAMPLES / "oxford_expenditure-over-500_jan-mar-2014.csv",
                                                  "body_name"), "body_name")
    assert stats.linked == 3859 and stats.empty == 1
    assert set(iri for iri in oxford if iri) == {ref("municipality", "gb-E07000178")}
    adur, stats = linked("municipality", column(SAMPLES / "adur_public-toilets.csv", "OrganisationLabel"),
                         "OrganisationLabel")
    assert stats.linked == 14 and set(iri for iri in adur if iri) == {ref("municipality", "gb-E07000223")}


def test_lambeth_spending_trailer_row_is_reported_unmatched() -> None:
    path = SAMPLES / "lambeth_payments-over-500_2012-06.csv"
    iris, stats = linked("municipality", column(path, "Body", skip=9), "Body")
    assert stats.linked == 3155
    assert set(iri for iri in iris if iri) == {ref("municipality", "gb-E09000022")}
    assert stats.unmatched_values == {"Total": 1}
    assert stats.message() == ("3,155 of 3,156 `Body` values link to Municipalities; "
                               "1 does not match: “Total”.")


# ---- the join: different publishers, same IRI --------------------------------------------------

def test_montgomery_vendors_and_chicago_contractors_meet_in_one_iri() -> None:
    """Montgomery County's contracts and Chicago's crane permits name Chicago and Illinois alike."""
    montgomery = SAMPLES / "montgomerycountymd_procurement-contracts.csv"
    chicago = SAMPLES / "chicago_building-permits_tower-cranes.csv"
    cities = Linker(scheme("municipality"), URIS)
    vendor_cities = {cities.link(v).iri for v in column(montgomery, "Vendor City")
                     if v.strip().lower() == "chicago"}
    contractor_cities = {cities.link(v).iri for v in column(chicago, "CONTRACTOR_1_CITY") if v == "CHICAGO"}
    assert vendor_cities == contractor_cities == {ref("municipality", "us-1714000")}

    states = Linker(scheme("us-state"), URIS)
    vendor_states, stats = set(), states.stats("Vendor State")
    for iri in states.link_all(column(montgomery, "Vendor State"), stats):
        vendor_states.add(iri)
    contractor_states = {states.link(v).iri for v in column(chicago, "CONTRACTOR_1_STATE") if v.strip()}
    shared = (vendor_states & contractor_states) - {None}
    assert ref("us-state", "IL") in shared
    assert stats.linked >= 2100  # 2,146 contracts, nearly all with a US state
    # and Chicago's record says it lies in that state, so a SPARQL join can roll up
    assert scheme("municipality").concepts["us-1714000"].broader == ("us-state", "IL")


def test_koeln_districts_roll_up_to_the_municipality_itnrw_names() -> None:
    """IT.NRW labels its Köln table "Köln, krfr. Stadt"; Köln's budget districts are part of that place."""
    path = SAMPLES / "itnrw_33111-02ir_flaechennutzung_latin1.csv"
    text = path.read_text(encoding="latin-1")
    first_cells = [row[0] for row in csv.reader(io.StringIO(text), delimiter=";") if row]
    municipality = Linker(scheme("municipality"), URIS)
    named = [municipality.link(cell) for cell in first_cells if "Köln" in cell]
    assert [r.how for r in named] == ["label"]
    district = scheme("koeln-stadtbezirk").concepts["1"]
    assert district.broader is not None
    assert URIS.reference(*district.broader) == named[0].iri == ref("municipality", "de-05315000")


# ---- the rules ---------------------------------------------------------------------------------

def _scheme(*concepts: tuple[str, str]) -> Scheme:
    """A small scheme over the Boston ward code system, built in the test to pin one rule."""
    from types import MappingProxyType

    made = {code: Concept(code, MappingProxyType({"en": label}), MappingProxyType({}), MappingProxyType({}))
            for code, label in concepts}
    return Scheme("rule-test", MappingProxyType({"en": "Rule test"}), "", "boston-ward", ("ward",),
                  MappingProxyType(made))


def test_a_code_match_beats_a_label_match() -> None:
    linker = Linker(_scheme(("7", "Seven Dials"), ("8", "7")), URIS)
    result = linker.link("7")
    assert (result.iri, result.how) == (ref("rule-test", "7"), "code")
    assert linker.link("Seven Dials").iri == ref("rule-test", "7")


def test_a_label_shared_by_two_concepts_is_ambiguous() -> None:
    """Georgia is a country and a US state; Guam is both an ISO country and a US outlying area."""
    linker = Linker([scheme("country"), scheme("us-state")], URIS)
    for value in ("Georgia", "GEORGIA", "Guam"):
        result = linker.link(value)
        assert result.iri is None and result.how == "ambiguous", value
        assert len(result.candidates) == 2
    assert set(linker.link("Georgia").candidates) == {ref("country", "GE"), ref("us-state", "GA")}
    assert linker.link("Georgia").candidates == tuple(sorted(linker.link("Georgia").candidates))
    # with one scheme only, the same label is no longer ambiguous
    assert Linker(scheme("us-state"), URIS).link("Georgia").iri == ref("us-state", "GA")


def test_a_code_shared_across_schemes_is_ambiguous() -> None:
    linker = Linker([scheme("koeln-stadtbezirk"), scheme("toronto-ward"), scheme("boston-ward")], URIS)
    result = linker.link("3")
    assert result.how == "ambiguous" and len(result.candidates) == 3
    stats = linker.stats("district")
    list(linker.link_all(["3", "Nippes", "Atlantis"], stats))
    assert stats.message() == ("1 of 3 `district` values link to Stadtbezirke of Köln / Wards of the "
                               "City of Toronto (25-ward model) / Wards of the City of Boston; "
                               "1 does not match: “Atlantis”; 1 is ambiguous: “3” "
                               "(Ward 3 or Lindenthal or Etobicoke-Lakeshore).")


@pytest.mark.parametrize("value", ["Atlantis", "Clapham", "Streatham", "E05000999", "Ward", "", "  "])
def test_unknown_values_stay_unmatched(value: str) -> None:
    result = Linker(scheme("lambeth-ward"), URIS).link(value)
    assert result.iri is None and result.candidates == ()
    assert result.how == ("empty" if not value.strip() else "none")


@pytest.mark.parametrize(("value", "code", "how"), [
    ("E05000429", "E05000429", "code"), ("e05000429", "E05000429", "code"),
    ("Stockwell", "E05000429", "label"), ("STOCKWELL WARD", "E05000429", "label"),
    ("Knight’s Hill", "E05000424", "label"), ("St. Leonard's", "E05000428", "label"),
    ("  Streatham   Wells ", "E05000432", "label"), ("Streatham-Wells", "E05000432", "label"),
])
def test_normalised_labels_and_codes(value: str, code: str, how: str) -> None:
    result = Linker(scheme("lambeth-ward"), URIS).link(value)
    assert (result.iri, result.how) == (ref("lambeth-ward", code), how)


@pytest.mark.parametrize(("scheme_name", "value", "code"), [
    ("koeln-stadtbezirk", "Stadtbezirk Mülheim", "9"), ("koeln-stadtbezirk", "MUELHEIM", None),
    ("koeln-stadtbezirk", "Bezirk 4", "4"), ("koeln-stadtbezirk", "04", "4"),
    ("municipality", "Köln, krfr. Stadt", "de-05315000"), ("municipality", "Koeln", "de-05315000"),
    ("municipality", "koln", "de-05315000"), ("municipality", "London Borough of Lambeth", "gb-E09000022"),
    ("municipality", "05315000", "de-05315000"), ("municipality", "5315000", None),
    ("country", "deu", "DE"), ("country", "Deutschland", "DE"), ("country", "276", "DE"),
    ("currency", "gbp", "GBP"), ("currency", "Pound Sterling", "GBP"), ("currency", "978", "EUR"),
    ("toronto-ward", "Ward 05", "5"), ("toronto-ward", "Toronto-St. Paul's (12)", "12"),
])
def test_links_across_schemes(scheme_name: str, value: str, code: str | None) -> None:
    result = Linker(scheme(scheme_name), URIS).link(value)
    assert result.iri == (ref(scheme_name, code) if code else None), result


def test_affixes_are_whole_words_and_never_leave_nothing() -> None:
    affixes = [tokens("ward")]
    assert strip_affixes(tokens("Ward 5"), affixes) == ("5",)
    assert strip_affixes(tokens("Wardour"), affixes) == ("wardour",)
    assert strip_affixes(tokens("Ward"), affixes) == ("ward",)
    assert tokens("Bishop's & Prince’s") == ("bishops", "and", "princes")
    assert tokens("Köln, krfr. Stadt") == ("koln", "krfr", "stadt")


def test_results_are_cached_per_distinct_value() -> None:
    linker = Linker(scheme("toronto-ward"), URIS)
    first = linker.link("05")
    assert linker.link("05") is first
    stats = linker.stats("WARD", keep=2)
    iris = list(linker.link_all(["05"] * 1000 + ["x", "y", "z", "x"], stats))
    assert iris.count(ref("toronto-ward", "5")) == 1000
    assert stats.unmatched == 4 and stats.unmatched_values == {"x": 2, "y": 1}  # keeps the first 2 distinct
    assert stats.message().endswith("4 do not match: “x” (2), “y”, ….")
    assert stats.as_dict()["by_code"] == 1000


def test_a_linker_needs_a_scheme() -> None:
    with pytest.raises(ValueError):
        Linker([], URIS)


def test_linkers_are_built_once_per_scheme_and_base() -> None:
    first = linker(URIS, "toronto-ward")
    assert linker(UriScheme(BASE + "/"), "toronto-ward") is first
    assert linker(URIS, "boston-ward") is not first
    assert linker(URIS, "toronto-ward").link("05").iri == ref("toronto-ward", "5")
