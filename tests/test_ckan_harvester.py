"""The CKAN harvester over loopback: recorded answers served as-is, a generated portal of thousands
of packages built from the recorded shapes (`bench.ckan_portal`), faults, incremental runs, and the
whole pipeline on a registered ckan source.
"""

from __future__ import annotations

import copy
import functools
import http.server
import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from bench.ckan_portal import ALWAYS, LoopbackCkan, recorded_packages, serve
from harvesters import HarvestedDataset, ListingItem, ListingProblem, StillListed, harvester_for
from harvesters.ckan import SORT, CkanHarvester, portal_root
from portal.egress import Egress
from portal.errors import SourceError
from portal.instance import Instance
from tests.conftest import SHARED, serve_http

SAMPLES = SHARED / "samples" / "ckan"
EPOCH = datetime(2024, 1, 1, tzinfo=timezone.utc)


def _sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text(encoding="utf-8"))


@pytest.fixture
def egress() -> Iterator[Egress]:
    """An egress client that lets loopback through, with a short deadline and quick backoff."""
    with Egress(allow_private_addresses=True, deadline=1.0, backoff=0.01) as client:
        yield client


def harvester(egress: Egress, *, rows: int = 100, max_bytes: int = 50 * 1024 * 1024) -> CkanHarvester:
    """The harvester as the registry makes it, with a page size for the test."""
    made = harvester_for("ckan", max_bytes=max_bytes, egress=egress)
    assert isinstance(made, CkanHarvester)
    made.rows = rows
    return made


def split(items: list[ListingItem]) -> tuple[list[HarvestedDataset], list[StillListed], list[ListingProblem]]:
    """Records, still-listed markers and problems, in listing order."""
    return ([i for i in items if isinstance(i, HarvestedDataset)], [i for i in items if isinstance(i, StillListed)],
            [i for i in items if isinstance(i, ListingProblem)])


# -- recorded answers, served byte for byte -------------------------------------------------------------

class _Recorded(http.server.BaseHTTPRequestHandler):
    """Answers every package_search with the same recorded body, as a portal ignoring `start` would."""

    body = b""

    def do_GET(self) -> None:
        status = 200 if "/api/3/action/package_search" in self.path else 404
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=utf-8")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def gather_recorded(body: bytes, egress: Egress) -> list[ListingItem]:
    """Harvest a server that answers package_search with `body`."""
    handler = type("Recorded", (_Recorded,), {"body": body})
    with serve_http(handler) as (url, _):
        return list(harvester(egress).gather(url))


def test_demo_ckan_org_search_answer_gives_its_three_packages(egress: Egress) -> None:
    answer = _sample("demo.ckan.org_packages.json")
    records, _, problems = split(gather_recorded((SAMPLES / "demo.ckan.org_packages.json").read_bytes(), egress))
    assert not problems
    assert [r.identifier for r in records] == [p["id"] for p in answer["result"]["results"]]
    italian = next(r for r in records if r.identifier == "17be64bb-da74-4195-9bb8-565c39846af2")
    assert italian.publisher_id == "sdb"
    assert italian.extras["Anno"] == next(e["value"] for e in answer["result"]["results"][2]["extras"])
    assert italian.landing_page.endswith("/dataset/2016-regione-asia-est-oceania-classi-di-eta")
    assert len(italian.resources) == 1 and italian.resources[0].url.startswith("http")


def test_dados_gov_br_organisation_answer_gives_its_six_packages(egress: Egress) -> None:
    body = (SAMPLES / "dados.gov.br_package_search_by_organization.json").read_bytes()
    records, _, problems = split(gather_recorded(body, egress))
    assert not problems and len(records) == 6
    assert {r.publisher_id for r in records} == {"agencia-espacial-brasileira-aeb"}
    assert sum(len(r.resources) for r in records) == 18


@pytest.mark.parametrize("sample, on_page", [("dados.gov.br_package_search_all.json", 10),
                                             ("envidat.ch_package_search.json", 2)])
def test_a_recorded_first_page_served_again_for_the_next_start_is_caught(sample: str, on_page: int,
                                                                          egress: Egress) -> None:
    """These answers say 13,786 and 858 packages but hold one page; served again for start=N it is a loop."""
    records, _, problems = split(gather_recorded((SAMPLES / sample).read_bytes(), egress))
    assert len(records) == on_page
    assert len(problems) == 1 and "again" in problems[0].message


def test_toronto_package_show_record_keeps_refresh_rate_and_custom_fields(egress: Egress) -> None:
    package = _sample("toronto_package_show_street-tree-data.result.json")
    answer = {"help": "", "success": True, "result": {"count": 1, "results": [package]}}
    [record] = split(gather_recorded(json.dumps(answer).encode(), egress))[0]
    assert record.frequency == "Monthly"  # Toronto's top-level `refresh_rate`
    assert record.extras["owner_division"] == "Parks, Forestry & Recreation"
    assert record.extras["is_retired"] == "false" and record.extras["refresh_rate"] == "Monthly"
    assert len(record.resources) == 15 and record.publisher_id == "city-of-toronto"
    assert record.contact_email == "opendata@toronto.ca"
    assert record.keywords == [t["display_name"] for t in package["tags"]]


def test_envidat_package_show_record_keeps_language_and_tags_as_given(egress: Egress) -> None:
    package = _sample("envidat.ch_package_show.json")["result"]
    answer = {"success": True, "result": {"count": 1, "results": [package]}}
    [record] = split(gather_recorded(json.dumps(answer).encode(), egress))[0]
    assert record.languages == [package["language"]]
    assert record.keywords and all(k == k.upper() for k in record.keywords)
    assert record.extras["doi"] == package["doi"]
    assert record.licence == package["license_id"] == "other-undefined"  # no licence URL: CKAN's id
    assert record.extras["license_title"] == "Other (Specified in the description)"
    assert record.extras["publication"] == package["publication"]  # a custom field, kept as given


def test_a_licence_url_is_preferred_to_the_licence_id(egress: Egress) -> None:
    package = next(p for p in recorded_packages() if p.get("license_url", "").startswith("https://creativecommons"))
    answer = {"success": True, "result": {"count": 1, "results": [package]}}
    [record] = split(gather_recorded(json.dumps(answer).encode(), egress))[0]
    assert record.licence == "https://creativecommons.org/licenses/by/4.0/"
    assert record.extras["license_id"] == "cc-by"


# -- a generated portal of thousands of packages -------------------------------------------------------

def test_thousands_of_packages_over_many_pages(egress: Egress) -> None:
    portal = LoopbackCkan(2500, resources_per_package=1)
    with serve(portal) as url:
        records, still, problems = split(list(harvester(egress).gather(url)))
    assert not problems and not still
    assert [r.identifier for r in records] == [portal.package_id(i) for i in range(2500)]
    assert portal.calls["package_search"] == 25
    assert {params["sort"] for _, _, params in portal.searches} == {SORT}
    assert [int(p["start"]) for _, _, p in portal.searches] == list(range(0, 2500, 100))
    # every recorded shape went through the mapping
    assert {r.title for r in records} == {p["title"] for p in recorded_packages()}


def test_the_api_address_and_a_root_address_are_the_same_source() -> None:
    assert portal_root("https://ckan.example/api/3/action/") == "https://ckan.example"
    assert portal_root("https://ckan.example/data/api/3") == "https://ckan.example/data"
    assert portal_root("https://ckan.example/") == "https://ckan.example"


def test_a_source_given_by_its_api_address_is_read_with_the_api_key(egress: Egress) -> None:
    portal = LoopbackCkan(30)
    with serve(portal) as url:
        items = list(harvester(egress).gather(url + "/api/3/action", options={"api_key": "s3cret"}))
    assert len(split(items)[0]) == 30
    assert portal.authorizations and set(portal.authorizations) == {"s3cret"}


def test_organisation_filter(egress: Egress) -> None:
    portal = LoopbackCkan(600)
    org = "agencia-espacial-brasileira-aeb"
    with serve(portal) as url:
        records, _, problems = split(list(harvester(egress).gather(url, options={"organization": org})))
    expected = [portal.package_id(i) for i in range(600) if portal.organization(i) == org]
    assert not problems and len(expected) > 100  # more than one page of them
    assert [r.identifier for r in records] == expected
    assert {p["fq"] for _, _, p in portal.searches} == {f"organization:{org}"}


@pytest.mark.parametrize("key, value", [("frequency", "weekly"), ("update_frequency", "daily"),
                                        ("accrual_periodicity", "R/P1M"), ("accrualPeriodicity", "R/P1Y"),
                                        ("Frequência de atualização", "Mensal")])
def test_frequency_from_each_extra_spelling(key: str, value: str, egress: Egress) -> None:
    template = copy.deepcopy(next(p for p in recorded_packages() if p["name"] == "100-validated-species-of-plants"))
    template["extras"] = [{"key": key, "value": value}, {"key": "spatial_coverage", "value": "Lambeth"}]
    portal = LoopbackCkan(3, templates=[template])
    with serve(portal) as url:
        records = split(list(harvester(egress).gather(url)))[0]
    assert len(records) == 3
    assert {r.frequency for r in records} == {value}
    assert all(r.extras[key] == value and r.extras["spatial_coverage"] == "Lambeth" for r in records)


def test_a_package_without_a_frequency_has_none_and_keeps_its_extras(egress: Egress) -> None:
    portal = LoopbackCkan(len(recorded_packages()))
    with serve(portal) as url:
        records = split(list(harvester(egress).gather(url)))[0]
    by_name = {r.landing_page.rsplit("/", 1)[-1].rsplit("-", 1)[0]: r for r in records}
    assert by_name["2016-regione-asia-est-oceania-classi-di-eta"].frequency is None
    assert by_name["siorg"].frequency is not None  # "Frequência de Atualização dos Dados"
    assert "deprecatedResources" in by_name[next(n for n in by_name if n.startswith("the-importance"))].extras


def test_the_loopback_portal_answers_ckanapi_by_post_and_get_with_ckan_error_shape(egress: Egress) -> None:
    import ckanapi

    from harvesters.ckan import EgressSession

    portal = LoopbackCkan(30)
    with serve(portal) as url:
        for get_only in (False, True):
            ckan = ckanapi.RemoteCKAN(url, session=EgressSession(egress), get_only=get_only)
            shown = ckan.action.package_show(id=portal.package_name(7))
            assert shown["id"] == portal.package_id(7) and shown["resources"][0]["url"].startswith(url)
            assert ckan.action.package_list(limit=5, offset=10) == sorted(
                portal.package_name(i) for i in range(30))[10:15]
            orgs = ckan.action.organization_list(all_fields=True)
            assert sum(o["package_count"] for o in orgs) == sum(1 for i in range(30) if portal.organization(i))
            assert ckan.action.status_show()["ckan_version"].startswith("2.")
            with pytest.raises(ckanapi.NotFound):
                ckan.action.package_show(id="no-such-package")
            with pytest.raises(ckanapi.SearchQueryError):
                ckan.action.package_search(sort="popularity sideways")
    assert portal.calls["package_show"] == 4


# -- incremental runs ----------------------------------------------------------------------------------

def test_incremental_listing_fetches_the_changed_and_names_the_rest(egress: Egress) -> None:
    portal = LoopbackCkan(1250)  # package i was modified at EPOCH + i minutes
    portal.touch(3, EPOCH + timedelta(days=30))
    since = EPOCH + timedelta(minutes=1200)
    with serve(portal) as url:
        records, still, problems = split(list(harvester(egress).gather(url, since=since)))
    changed = [3] + list(range(1190, 1250))  # the ten-minute skew margin takes in 1190…1199
    assert not problems
    assert sorted(r.identifier for r in records) == sorted(portal.package_id(i) for i in changed)
    assert {s.identifier for s in still} == {portal.package_id(i) for i in range(1250) if i not in changed}
    assert len(still) == 1250 - len(changed)
    assert any(p.get("fl") == "id,name" for _, _, p in portal.searches)
    assert any(p.get("fq") == "metadata_modified:[2024-01-01T19:50:00Z TO *]" for _, _, p in portal.searches)


def test_incremental_listing_with_nothing_changed_names_every_package(egress: Egress) -> None:
    portal = LoopbackCkan(2100)
    with serve(portal) as url:
        records, still, problems = split(list(harvester(egress).gather(url, since=EPOCH + timedelta(days=60))))
    assert not records and not problems and len(still) == 2100
    assert portal.calls["package_search"] == 1 + 3  # one empty search, three pages of 1000 ids


def test_a_portal_that_cannot_search_by_date_is_listed_in_full(egress: Egress) -> None:
    portal = LoopbackCkan(150)
    portal.faults.unsearchable = {"metadata_modified"}
    with serve(portal) as url:
        records, still, problems = split(list(harvester(egress).gather(url, since=EPOCH + timedelta(days=60))))
    assert len(records) == 150 and not still and not problems
    assert "metadata_modified" in portal.searches[0][2]["fq"]  # asked first, refused, then listed in full


# -- faults --------------------------------------------------------------------------------------------

def test_a_first_page_that_hangs_past_the_deadline_is_a_source_error(egress: Egress) -> None:
    portal = LoopbackCkan(300)
    portal.faults.hang = {0: ALWAYS}
    with serve(portal) as url, pytest.raises(SourceError, match="deadline|timed out|time"):
        list(harvester(egress).gather(url))


def test_a_middle_page_that_hangs_is_a_listing_problem_and_the_listing_goes_on(egress: Egress) -> None:
    portal = LoopbackCkan(300)
    portal.faults.hang = {100: ALWAYS}
    with serve(portal) as url:
        records, _, problems = split(list(harvester(egress).gather(url)))
    assert len(records) == 200 and len(problems) == 1 and problems[0].where == "package_search start=100"


def test_a_page_that_hangs_once_is_tried_again(egress: Egress) -> None:
    portal = LoopbackCkan(300)
    portal.faults.hang = {100: 1}
    with serve(portal) as url:
        records, _, problems = split(list(harvester(egress).gather(url)))
    assert len(records) == 300 and not problems


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_honoured(status: int) -> None:
    portal = LoopbackCkan(300)
    portal.faults.status = {100: (status, 1, 1)}
    with serve(portal) as url, Egress(allow_private_addresses=True, deadline=10.0, backoff=0.01) as client:
        records, _, problems = split(list(harvester(client).gather(url)))
    assert len(records) == 300 and not problems
    asked = [(t, s) for t, s, p in portal.searches if p["start"] == "100"]
    assert [s for _, s in asked] == [status, 200]
    assert asked[1][0] - asked[0][0] >= 0.95  # waited as told


def test_a_page_that_stays_unavailable_is_a_listing_problem(egress: Egress) -> None:
    portal = LoopbackCkan(300)
    portal.faults.status = {200: (503, 0, ALWAYS)}
    with serve(portal) as url:
        records, _, problems = split(list(harvester(egress).gather(url)))
    assert len(records) == 200 and [p.where for p in problems] == ["package_search start=200"]
    assert "503" in problems[0].message


def test_a_truncated_body_is_tried_again(egress: Egress) -> None:
    portal = LoopbackCkan(300)
    portal.faults.truncate = {100: 1}
    with serve(portal) as url:
        records, _, problems = split(list(harvester(egress).gather(url)))
    assert len(records) == 300 and not problems


def test_a_body_truncated_every_time_is_a_listing_problem_and_on_the_first_page_a_source_error(
        egress: Egress) -> None:
    portal = LoopbackCkan(300)
    portal.faults.truncate = {100: ALWAYS}
    with serve(portal) as url:
        records, _, problems = split(list(harvester(egress).gather(url)))
        assert len(records) == 200 and len(problems) == 1
        portal.faults.truncate = {0: ALWAYS}
        with pytest.raises(SourceError):
            list(harvester(egress).gather(url))


def test_a_page_failing_mid_run_leaves_the_rest_of_the_listing(egress: Egress) -> None:
    portal = LoopbackCkan(500)
    portal.faults.fail = {200: ALWAYS}
    with serve(portal) as url:
        records, _, problems = split(list(harvester(egress).gather(url)))
    assert [p.where for p in problems] == ["package_search start=200"] and "500" in problems[0].message
    assert [r.identifier for r in records] == [portal.package_id(i) for i in range(500) if not 200 <= i < 300]


def test_the_same_page_served_twice_stops_the_listing(egress: Egress) -> None:
    portal = LoopbackCkan(500)
    portal.faults.repeat = {200: 100}
    with serve(portal) as url:
        records, _, problems = split(list(harvester(egress).gather(url)))
    assert len(records) == 200 and len({r.identifier for r in records}) == 200
    assert len(problems) == 1 and "again" in problems[0].message
    assert portal.calls["package_search"] == 3  # it did not go on to 300 and 400


def test_a_count_that_changes_mid_run_makes_the_listing_incomplete(egress: Egress) -> None:
    portal = LoopbackCkan(300)
    portal.faults.count_change = {100: -7}
    with serve(portal) as url:
        _, _, problems = split(list(harvester(egress).gather(url)))
    assert len(problems) == 1 and "from 300 to 293" in problems[0].message


def test_an_empty_source_lists_nothing_without_error(egress: Egress) -> None:
    portal = LoopbackCkan(300)
    portal.faults.empty = True
    with serve(portal) as url:
        assert list(harvester(egress).gather(url)) == []
    assert portal.calls["package_search"] == 1


def test_an_oversized_answer_is_refused(egress: Egress) -> None:
    portal = LoopbackCkan(300, resources_per_package=1)
    portal.faults.oversize = {100: 3_000_000}
    with serve(portal) as url:
        records, _, problems = split(list(harvester(egress, max_bytes=2_000_000).gather(url)))
        assert len(records) == 200 and len(problems) == 1 and "limit" in problems[0].message
        portal.faults.oversize = {0: 3_000_000}
        with pytest.raises(SourceError, match="limit"):
            list(harvester(egress, max_bytes=2_000_000).gather(url))


def test_a_portal_that_answers_html_is_a_source_error(egress: Egress, tmp_path: Path) -> None:
    (tmp_path / "api").mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    with serve_http(handler) as (url, _), pytest.raises(SourceError, match="404"):
        list(harvester(egress).gather(url))


# -- the whole pipeline --------------------------------------------------------------------------------

def test_pipeline_harvests_a_ckan_source_then_an_unchanged_run_downloads_nothing(
        instance: Instance, monkeypatch: pytest.MonkeyPatch) -> None:
    from portal.pipeline import add_source, harvest

    monkeypatch.setattr(CkanHarvester, "rows", 5)
    portal = LoopbackCkan(12, resources_per_package=1)
    with serve(portal) as url:
        add_source(instance, "loopback", url, kind="ckan")
        first = harvest(instance, "loopback")
        assert first.status == "finished", first.problems
        assert first.datasets_seen == 12 and first.datasets_changed == 12
        assert portal.resource_bodies == 12
        second = harvest(instance, "loopback")
        assert second.status == "finished" and second.datasets_seen == 12 and second.datasets_changed == 0
        assert portal.resource_bodies == 12 and portal.resource_not_modified == 0  # nothing fetched
        portal.touch(4, datetime.now(timezone.utc), content=True)
        third = harvest(instance, "loopback")
        assert third.datasets_changed == 1 and portal.resource_bodies == 13


def test_pipeline_run_with_a_failed_page_is_partial_and_withdraws_nothing(
        instance: Instance, monkeypatch: pytest.MonkeyPatch) -> None:
    from portal.pipeline import add_source, harvest

    monkeypatch.setattr(CkanHarvester, "rows", 4)
    portal = LoopbackCkan(12, resources_per_package=0)
    with serve(portal) as url:
        add_source(instance, "loopback", url, kind="ckan")
        assert harvest(instance, "loopback").datasets_seen == 12
        for i in range(4):
            portal.remove(i)
        portal.faults.fail = {4: ALWAYS}  # the listing now reads 4…7, fails on 8…11
        second = harvest(instance, "loopback", full=True)
    assert second.status == "partial" and not second.listing_complete
    assert second.datasets_withdrawn == 0 and second.datasets_seen == 4
    assert any("start=4" in problem for problem in second.problems)


def test_pipeline_run_of_a_source_that_empties_withdraws_nothing(instance: Instance) -> None:
    from portal.pipeline import add_source, harvest

    portal = LoopbackCkan(6, resources_per_package=0)
    with serve(portal) as url:
        add_source(instance, "loopback", url, kind="ckan")
        assert harvest(instance, "loopback").datasets_seen == 6
        portal.faults.empty = True
        second = harvest(instance, "loopback")  # incremental: nothing changed, and no id listed
    assert second.listing_complete and second.datasets_seen == 0
    assert second.datasets_withdrawn == 0 and second.status == "partial" and second.withdrawal_held


def test_pipeline_passes_the_organisation_stored_with_the_source(instance: Instance) -> None:
    from portal.pipeline import add_source, harvest

    org = "ministerio-da-economia-me"
    portal = LoopbackCkan(30, resources_per_package=0)
    with serve(portal) as url:
        add_source(instance, "economia", url, kind="ckan", options={"organization": org})
        outcome = harvest(instance, "economia")
    assert outcome.status == "finished"
    assert outcome.datasets_seen == sum(portal.organization(i) == org for i in range(30)) > 0
    assert {p["fq"] for _, _, p in portal.searches} == {f"organization:{org}"}


def test_pipeline_publishes_a_package_whose_licence_maps_to_nothing(instance: Instance) -> None:
    """CKAN's `other-pd` maps to no EU licence: kept as given, it must not stop the publication."""
    from portal.pipeline import add_source, harvest

    template = next(p for p in recorded_packages() if p.get("license_id") == "other-pd")
    portal = LoopbackCkan(1, templates=[template], resources_per_package=0)
    with serve(portal) as url:
        add_source(instance, "dados", url, kind="ckan")
        assert harvest(instance, "dados").status == "finished"


def test_the_benchmark_runs_and_its_no_change_run_downloads_nothing() -> None:
    """`python -m bench.ckan` at a tiny size (its portal in a process of its own); timings are not checked."""
    from bench.ckan import markdown, run

    figures = run(packages=6, runs=1, profile=False)
    assert figures["full_status"] == "finished" and figures["full_bodies"] == 6
    assert figures["nochange_bodies"] == 0 and figures["nochange_conditional"] == 0
    assert figures["nochange_seen"] == 6 and figures["list_incr_n"] == 6
    assert "## CKAN harvest" in markdown(figures, 1)
