"""Schema matching: real headers find their schema; unrelated ones find none; `lodestar schemas`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from portal.cli import main
from schemas.loader import bundled_schemas, load_schema
from schemas.matching import (
    MATCH_THRESHOLD,
    adapt_schema,
    best_schema,
    match_header,
    match_schemas,
    match_table,
    normalise_label,
    read_header,
)
from schemas.validation import validate_table
from tests.conftest import SHARED

SAMPLES = SHARED / "samples" / "csv"
PUBLISHED = SHARED / "samples" / "schemas"

#: Each real sample file that is one of the bundled dataset types → (its schema, why).
EXPECTED = {
    "oxford_expenditure-over-500_jan-mar-2017.csv": (
        "spending-over-500", "the layout the schema was written from, typo 'Catergory' included"),
    "oxford_expenditure-over-500_jan-mar-2014.csv": (
        "spending-over-500", "the same Oxford dataset in snake_case; every field has its old name as an alias"),
    "lambeth_payments-over-500_2012-06.csv": (
        "payments-to-suppliers", "header on line 10 after a report preamble; Body/Department/Supplier Name/"
        "Invoice Nett Amount are LGA Spend concepts under Lambeth's names"),
    "dh_spend-over-25k_2011-09.csv": (
        "payments-to-suppliers", "a UK spend-over-£25k file: Date of Payment, Supplier, ' Amount in Sterling '"),
    "koeln_haushalt_teilfinanzplan.csv": (
        "budget", "German NKF budget; 'Teilpanzeile' is a typo of Teilplanzeile; Ist/Plan per year"),
    "koeln_haushalt_bezirke_produktgruppen.csv": (
        "budget", "German budget by district: PB_BEZ/PG_BEZ abbreviations, Ergebnis/Plan per year"),
    "montgomerycountymd_procurement-contracts.csv": (
        "procurement-contracts", "a US contracts register: Contract Number, Vendor, Execution/Expiration Date"),
    "lambeth_planning-decisions_2010.csv": (
        "planning-applications", "cp1252 file with terse names REFVAL, PROPOSAL, DATEDECISS, DECSN"),
    "chicago_building-permits_tower-cranes.csv": (
        "building-permits", "padded names like '  PERMIT_TYPE', PERMIT#, PIN1…PIN10, 15 contractor groups"),
    "toronto_street-trees_YO-york.csv": ("street-trees", "the layout the schema was written from"),
    "lambeth_community-toilets.csv": ("public-toilets", "the layout the schema was written from"),
    "adur_public-toilets.csv": (
        "public-toilets", "the LGA PublicToilets layout: LocationText, GeoX/GeoY, OpeningHours are aliases"),
    "koeln_aed-standorte.csv": ("defibrillators", "the layout the schema was written from (German)"),
    "lambeth_polling-stations.csv": ("polling-stations", "VENUE, DISTRICT_CODE, EASTING/NORTHING"),
    "lambeth_schools.csv": ("schools", "NAME, TYPE, MAP_EAST/MAP_NORTH, ACADEMY"),
    "koeln_airbase_DENW053_luftqualitaet.csv": ("air-quality", "EEA AirBase statistics export"),
    "boston_311-service-requests_100.csv": ("service-requests", "Boston 311 export (open_dt, case_status …)"),
}

#: Real tables of no bundled type: they must match nothing.
UNRELATED = {
    "koeln_btw2013_ergebnis_stimmbezirk.csv": "election results, one column per party",
    "itnrw_33111-02ir_flaechennutzung_latin1.csv": "land-use statistics with a multi-row header",
}


def _published_header(name: str) -> list[str]:
    """The column names a published schema (schema.data.gouv.fr) prescribes, in order."""
    path = PUBLISHED / "schema.data.gouv.fr" / f"{name}.schema.json"
    return [field["name"] for field in json.loads(path.read_text(encoding="utf-8"))["fields"]]


def test_every_sample_file_is_listed_as_matching_or_unrelated() -> None:
    assert {p.name for p in SAMPLES.glob("*.csv")} == set(EXPECTED) | set(UNRELATED)


@pytest.mark.parametrize("filename", sorted(EXPECTED))
def test_sample_file_matches_its_schema(filename: str) -> None:
    expected, why = EXPECTED[filename]
    match = best_schema(read_header(SAMPLES / filename))
    assert match is not None, why
    assert match.schema == expected, why
    assert match.score >= MATCH_THRESHOLD and not match.missing_required


@pytest.mark.parametrize("filename", sorted(UNRELATED))
def test_unrelated_sample_file_matches_nothing(filename: str) -> None:
    header = read_header(SAMPLES / filename)
    assert best_schema(header) is None, UNRELATED[filename]
    assert all(m.score < MATCH_THRESHOLD for m in match_schemas(header))


@pytest.mark.parametrize("header", [
    ["employee_id", "first_name", "last_name", "salary", "hire_date", "manager"],
    ["route", "stop_id", "stop_name", "arrival_time", "departure_time"],
    ["x"],
    [],
], ids=["employees", "bus-timetable", "one-letter", "empty"])
def test_unrelated_headers_match_nothing(header: list[str]) -> None:
    assert best_schema(header) is None


def test_a_schema_definition_table_is_not_mistaken_for_data() -> None:
    # The LGA ElectionResults CSV describes a schema (SchemaIdentifier, FieldLabel …).
    header = read_header(PUBLISHED / "esd-org-uk" / "ElectionResults-Election_results.csv")
    assert best_schema(header) is None


@pytest.mark.parametrize(("source", "expected"), [
    ("esd-org-uk/PlanningApplications-example-planning-applications.csv", "planning-applications"),
    ("esd-org-uk/PublicToilets-example-public-toilets.csv", "public-toilets"),
])
def test_published_example_files_match(source: str, expected: str) -> None:
    match = best_schema(read_header(PUBLISHED / source))
    assert match is not None and match.schema == expected


@pytest.mark.parametrize(("published", "expected"), [
    ("scdl_deliberations", "council-decisions"),
    ("scdl_budget", "budget"),
    ("atlasante_schema-dae", "defibrillators"),
])
def test_french_standard_headers_match(published: str, expected: str) -> None:
    match = best_schema(_published_header(published))
    assert match is not None and match.schema == expected


def test_scdl_deliberation_columns_map_field_by_field() -> None:
    match = match_header(_published_header("scdl_deliberations"), "council-decisions")
    assert match.mapping == {
        "COLL_NOM": "authority_name", "COLL_SIRET": "authority_id", "DELIB_ID": "decision_id",
        "DELIB_DATE": "decision_date", "DELIB_MATIERE_CODE": "subject_code",
        "DELIB_MATIERE_NOM": "subject_name", "DELIB_OBJET": "title", "BUDGET_ANNEE": "budget_year",
        "BUDGET_NOM": "budget_name", "PREF_ID": "registration_id", "PREF_DATE": "registration_date",
        "VOTE_EFFECTIF": "votes_eligible", "VOTE_REEL": "votes_cast", "VOTE_POUR": "votes_for",
        "VOTE_CONTRE": "votes_against", "VOTE_ABSTENTION": "votes_abstained",
        "DELIB_URL": "document_url"}
    assert match.score > 0.9


@pytest.mark.parametrize(("header", "expected"), [
    (["SERVICE AREA", "expenditure category", "Expenditure-Code", "paid date", "TRANS NO", "amount",
      "type of expenditure", "supplier id", "supplier name"], "spending-over-500"),
    (["Servce Area", "Expenditure Catergory", "Expenditure Code", "Paid Dtae", "Trans No", "Amuont",
      "Type of Expenditure", "Supplier ID", "Suplier Name"], "spending-over-500"),
    (["  Service_Area ", "ExpenditureCategory", "expenditure.code", "PaidDate", "trans-no", "AMOUNT",
      "TypeOfExpenditure", "SupplierID", "SupplierName"], "spending-over-500"),
], ids=["case", "typos", "spacing-and-punctuation"])
def test_case_spacing_punctuation_and_typos_are_tolerated(header: list[str], expected: str) -> None:
    match = best_schema(header)
    assert match is not None and match.schema == expected
    assert match.fields_matched == len(header)


@pytest.mark.parametrize(("header", "expected"), [
    (["Baumnummer", "Straße", "Hausnummer", "Stadtbezirk", "Baumart botanisch", "Baumart deutsch",
      "Stammdurchmesser", "Koordinaten"], "street-trees"),
    (["Stembureau", "Adres", "Postcode", "Wijk", "Nummer stembureau"], "polling-stations"),
    (["Número de aviso", "Fecha de apertura", "Fecha de cierre", "Estado", "Tipo de aviso",
      "Dirección", "Barrio", "Latitud", "Longitud", "Canal"], "service-requests"),
    (["Acheteur", "Numéro du marché", "Objet du marché", "Titulaire", "Montant du marché",
      "Date de notification", "Procédure"], "procurement-contracts"),
    (["BRIN-nummer", "Naam school", "Onderwijssoort", "Adres", "Postcode", "Plaats",
      "Telefoonnummer", "Website"], "schools"),
    (["Station", "Schadstoff", "Einheit", "Datum Uhrzeit", "Messwert"], "air-quality"),
    (["Número de licencia", "Tipo de licencia", "Fecha de concesión", "Dirección",
      "Descripción de la obra", "Presupuesto de ejecución material", "Referencia catastral"],
     "building-permits"),
    (["Haushaltsjahr", "Produktbereich", "Produktbereichsbezeichnung", "Kontonummer",
      "Kontobezeichnung", "Ansatz", "Ergebnis"], "budget"),
], ids=["de-trees", "nl-polling", "es-311", "fr-contracts", "nl-schools", "de-air", "es-permits",
        "de-budget"])
def test_german_french_dutch_and_spanish_headers_match(header: list[str], expected: str) -> None:
    match = best_schema(header)
    assert match is not None and match.schema == expected
    assert match.unknown_columns == []


def test_labels_normalise_across_case_accents_camel_case_and_numbers() -> None:
    assert normalise_label("  Öffnungszeiten ") == "offnungszeiten"
    assert normalise_label("OrganisationalUnit") == "organisational unit"
    assert normalise_label("CONTRACTOR_12_NAME") == "contractor 12 name"
    assert normalise_label("PIN10") == normalise_label("pin 10") == "pin 10"
    assert normalise_label("Date of Payment") == "date payment"
    assert normalise_label("Straße") == "strasse"


def test_the_mapping_says_how_each_column_was_matched() -> None:
    match = match_header(read_header(SAMPLES / "koeln_haushalt_teilfinanzplan.csv"), "budget")
    by_column = {c.column: c for c in match.columns}
    assert (by_column["Teilpanzeile"].field, by_column["Teilpanzeile"].via) == ("line", "de")
    assert 0.9 < by_column["Teilpanzeile"].score < 1.0  # a typo, not an exact name
    assert by_column["Ist 2010"].field == "actual_amount"
    assert [by_column[f"Plan {y}"].field for y in range(2011, 2016)] == ["planned_amount"] * 5
    assert [by_column[f"Plan {y}"].via for y in range(2012, 2016)] == ["repeat"] * 4
    assert match.unknown_columns == []

    permits = match_header(read_header(SAMPLES / "chicago_building-permits_tower-cranes.csv"),
                           "building-permits")
    assert {permits.mapping[f"PIN{i}"] for i in range(1, 11)} == {"parcel_number"}
    assert {permits.mapping[f"CONTRACTOR_{i}_ADDRESS"] for i in range(1, 16)} == {"contractor_address"}
    assert permits.mapping["PERMIT#"] == "permit_number"
    assert permits.mapping["ISSUE_DATE"] == "issue_date"  # read with its padding stripped


def test_unknown_columns_name_their_closest_field_and_missing_fields_are_listed() -> None:
    match = match_header(["Service Area", "Paid Date", "Amount", "Suppl. Nm", "Cost Centre"],
                         "spending-over-500")
    unknown = {c.column: c for c in match.unknown_columns}
    assert set(unknown) == {"Suppl. Nm", "Cost Centre"}
    assert unknown["Suppl. Nm"].closest == "Supplier Name"
    assert 0.7 <= unknown["Suppl. Nm"].closest_score < 0.84
    assert unknown["Cost Centre"].closest is None
    assert set(match.missing_required) == {"Expenditure Catergory", "Expenditure Code", "Trans No",
                                           "Type of Expenditure", "Supplier ID", "Supplier Name"}
    assert not match.matched or match.score < 0.7


def test_a_schema_given_as_a_dict_is_matched_too() -> None:
    schema = {"name": "bins", "fields": [
        {"name": "bin_id", "type": "string", "constraints": {"required": True},
         "lodestar:aliases": {"de": ["Behälternummer"]}},
        {"name": "street", "type": "string", "lodestar:aliases": {"de": ["Straße"]}}]}
    match = match_header(["Behälternummer", "Strasse"], schema)
    assert match.schema == "bins" and match.mapping == {"Behälternummer": "bin_id", "Strasse": "street"}
    assert match.matched


def test_adapted_schema_validates_the_matched_file_as_it_is() -> None:
    path = SAMPLES / "koeln_haushalt_teilfinanzplan.csv"
    header = read_header(path)
    match = best_schema(header)
    assert match is not None
    adapted = adapt_schema(load_schema(match.schema), match, decimal_comma=True)
    assert [f["name"] for f in adapted["fields"]] == header
    assert {f["type"] for f in adapted["fields"][5:]} == {"number"}
    assert all(f["decimalChar"] == "," and f["groupChar"] == "." for f in adapted["fields"][5:])
    assert "lodestar:aliases" not in json.dumps(adapted)
    report, _ = validate_table(path, adapted)
    assert report.valid, [str(i) for i in report.errors[:5]]


def test_adapted_schema_keeps_the_primary_key_under_the_tables_label() -> None:
    path = SAMPLES / "lambeth_polling-stations.csv"
    match = best_schema(read_header(path))
    assert match is not None and match.schema == "polling-stations"
    adapted = adapt_schema(load_schema("polling-stations"), match)
    assert adapted["primaryKey"] == ["DISTRICT_CODE"]
    report, _ = validate_table(path, adapted)
    assert report.valid, [str(i) for i in report.errors[:5]]


def test_adapted_schema_finds_real_errors_under_the_matched_constraints(tmp_path: Path) -> None:
    original = (SAMPLES / "lambeth_polling-stations.csv").read_text(encoding="utf-8").splitlines()
    first_row = original[1].split(",")
    original.append(",".join(["Duplicate Hall", "1 Road", "SW9 1AA", "Ward", first_row[4], "x", "1"]))
    bad = tmp_path / "polling.csv"
    bad.write_text("\n".join(original) + "\n", encoding="utf-8")
    match = best_schema(read_header(bad))
    assert match is not None
    report, _ = validate_table(bad, adapt_schema(load_schema("polling-stations"), match))
    codes = {i.code for i in report.errors}
    assert "table/type-error" in codes  # EASTING "x" is not a number
    assert codes & {"table/primary-key", "table/unique-error"}  # DISTRICT_CODE repeated


def test_match_table_adapts_the_schema_to_the_files_locale() -> None:
    path = SAMPLES / "koeln_haushalt_bezirke_produktgruppen.csv"  # ';' and '2.952' for 2952
    found = match_table(path)
    assert found is not None
    match, schema = found
    assert match.schema == "budget"
    plan = next(f for f in schema["fields"] if f["name"] == "Plan 2011")
    assert (plan["type"], plan["decimalChar"], plan["groupChar"]) == ("number", ",", ".")
    report, _ = validate_table(path, schema)
    assert report.valid, [str(i) for i in report.errors[:5]]

    found = match_table(SAMPLES / "boston_311-service-requests_100.csv")
    assert found is not None and found[0].schema == "service-requests"
    assert not any("decimalChar" in f for f in found[1]["fields"])
    assert match_table(SAMPLES / "koeln_btw2013_ergebnis_stimmbezirk.csv") is None


def test_read_header_skips_a_report_preamble_and_strips_padding() -> None:
    header = read_header(SAMPLES / "lambeth_payments-over-500_2012-06.csv")
    assert header == ["Body", "Department", "Supplier Name", "Invoice Creation Date",
                      "Invoice Nett Amount", "Subj Description"]
    assert read_header(SAMPLES / "dh_spend-over-25k_2011-09.csv")[-1] == "Amount in Sterling"


# --- the `lodestar schemas` commands -------------------------------------------------------


def test_cli_lists_every_bundled_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schemas", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    trees = next(line for line in lines if line.startswith("street-trees "))
    assert "16 fields" in trees and "Street trees" in trees
    assert main(["schemas", "list", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == len(lines)
    for row in rows:
        assert row["fields"] == len(load_schema(row["name"])["fields"])


def test_cli_shows_fields_with_types_and_constraints(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schemas", "show", "spending-over-500"]) == 0
    out = capsys.readouterr().out
    assert "  Paid Date  date (%d/%m/%Y)  — required" in out
    assert "  Type of Expenditure  string  — required, one of Revenue | Capital" in out
    assert "primary key: Trans No" in out
    assert main(["schemas", "show", "budget", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == load_schema("budget")


def test_cli_show_of_an_unknown_schema_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schemas", "show", "parking"]) == 2
    assert "no bundled schema named 'parking'" in capsys.readouterr().err


def test_cli_match_shows_candidates_and_the_mapping(capsys: pytest.CaptureFixture[str]) -> None:
    path = SAMPLES / "koeln_aed-standorte.csv"
    assert main(["schemas", "match", str(path)]) == 0
    out = capsys.readouterr().out
    assert "best: defibrillators" in out
    assert "'Öffnungszeiten' → Öffnungszeiten (name, 1.00)" in out
    first = out.splitlines()[1].split()
    assert (first[0], first[1]) == ("1.00", "defibrillators")

    assert main(["schemas", "match", str(path), "--format", "json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["best"] == "defibrillators"
    assert answer["header"] == ["Standort", "Adresse", "Montageort des Defibrillators", "Öffnungszeiten"]
    scores = [c["score"] for c in answer["candidates"]]
    assert scores == sorted(scores, reverse=True) and len(scores) == len(bundled_schemas())
    assert answer["candidates"][0]["columns"][0] == {
        "index": 0, "column": "Standort", "field": "Standort", "score": 1.0, "via": "name"}


def test_cli_match_exits_1_when_nothing_fits(capsys: pytest.CaptureFixture[str]) -> None:
    path = SAMPLES / "koeln_btw2013_ergebnis_stimmbezirk.csv"
    assert main(["schemas", "match", str(path)]) == 1
    assert "no bundled schema fits" in capsys.readouterr().out
    assert main(["schemas", "match", str(path), "--format", "json"]) == 1
    assert json.loads(capsys.readouterr().out)["best"] is None


def test_cli_match_of_a_missing_file_is_a_usage_error(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schemas", "match", str(tmp_path / "nowhere.csv")]) == 2
    assert "does not exist" in capsys.readouterr().err
