"""Datasets a source no longer lists are withdrawn after a complete listing, and only then."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from harvesters.base import HarvestedDataset, ListingItem
from harvesters.dcat import DcatHarvester
from portal.db import Dataset, HarvestRun
from portal.errors import NotFoundError, SourceError
from portal.instance import Instance
from portal.listing import dataset_detail, list_datasets
from portal.pipeline import add_source, harvest
from portal.store import ask
from portal.watch import evaluate_freshness
from tests.conftest import BASE_URL, LAMBETH_CATALOGUE

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)
KEPT = f"{BASE_URL}/graph/lambeth/community-toilets"
GONE = f"{BASE_URL}/graph/lambeth/toilets-copy"

#: A second dataset in the same catalogue, with its own copy of the table.
SECOND = """
<> dcat:dataset <https://lambeth.example/dataset/copy> .
<https://lambeth.example/dataset/copy> a dcat:Dataset ;
  dct:identifier "toilets-copy" ;
  dct:title "A copy of the toilets"@en ;
  dct:publisher [ a foaf:Agent ; dct:identifier "lambeth" ; foaf:name "London Borough of Lambeth" ] ;
  dcat:distribution [ a dcat:Distribution ; dcat:downloadURL <copy.csv> ;
    dct:conformsTo <urn:lodestar:schema:public-toilets> ] .
"""


def list_both(root: Path, both: bool = True) -> None:
    catalogue = LAMBETH_CATALOGUE.replace("{title}", "Community toilets") + (SECOND if both else "")
    (root / "catalog.ttl").write_text(catalogue, encoding="utf-8")
    (root / "copy.csv").write_bytes((root / "toilets.csv").read_bytes())


def has_graph(instance: Instance, graph: str) -> bool:
    return ask(instance.store, f"ASK {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")


def in_catalogue(instance: Instance, slug: str) -> bool:
    return ask(instance.store, f"""ASK {{ GRAPH <{BASE_URL}/graph/catalog> {{
        ?c <http://www.w3.org/ns/dcat#dataset> <{BASE_URL}/dataset/lambeth/{slug}> }} }}""")


def test_a_dataset_no_longer_listed_is_withdrawn_and_comes_back(instance: Instance, source: Path) -> None:
    list_both(source)
    assert harvest(instance, "lambeth", now=T0).datasets_seen == 2
    assert has_graph(instance, GONE) and in_catalogue(instance, "toilets-copy")

    list_both(source, both=False)
    outcome = harvest(instance, "lambeth", now=T0 + timedelta(days=1))
    assert (outcome.status, outcome.datasets_withdrawn) == ("finished", 1)
    assert not has_graph(instance, GONE) and has_graph(instance, KEPT)
    assert not in_catalogue(instance, "toilets-copy") and in_catalogue(instance, "community-toilets")
    with instance.session() as session:
        gone = session.scalar(select(Dataset).where(Dataset.slug == "toilets-copy"))
        assert gone is not None and gone.status == "withdrawn"
        assert gone.withdrawn_at == T0 + timedelta(days=1) and gone.published_digest is None
    assert [d["slug"] for d in list_datasets(instance)] == ["community-toilets"]
    with pytest.raises(NotFoundError, match="withdrawn"):
        dataset_detail(instance, "lambeth", "toilets-copy")
    assert [o.dataset for o in evaluate_freshness(instance, T0 + timedelta(days=90))] == ["community-toilets"]

    list_both(source)
    back = harvest(instance, "lambeth", now=T0 + timedelta(days=2))
    assert (back.datasets_withdrawn, back.datasets_changed) == (0, 1)
    assert has_graph(instance, GONE) and in_catalogue(instance, "toilets-copy")
    assert sorted(d["slug"] for d in list_datasets(instance)) == ["community-toilets", "toilets-copy"]
    with instance.session() as session:
        again = session.scalar(select(Dataset).where(Dataset.slug == "toilets-copy"))
        assert again is not None and (again.status, again.withdrawn_at) == ("active", None)


class BreakingHarvester:
    """A DCAT harvester whose listing breaks off after its first dataset when `breaks` is set."""

    kind = "breaking"
    options = ()
    breaks = False

    def __init__(self, **settings: object) -> None:
        self.dcat = DcatHarvester(**settings)  # type: ignore[arg-type]

    def gather(self, url: str, *, options: object = None, since: object = None) -> Iterator[ListingItem]:
        """The first dataset, then (when breaking) an error as if the next page could not be read."""
        for n, record in enumerate(self.dcat.gather(url)):
            if n == 1 and BreakingHarvester.breaks:
                raise SourceError(f"{url}: page 2 of the listing could not be read")
            yield record


def test_a_listing_that_broke_off_withdraws_nothing(instance: Instance, file_server: tuple[str, Path],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conftest import serve_lambeth

    monkeypatch.setitem(__import__("harvesters").HARVESTERS, "breaking",
                        "tests.test_withdrawal:BreakingHarvester")
    add_source(instance, "lambeth", serve_lambeth(file_server), kind="breaking")
    list_both(file_server[1])
    harvest(instance, "lambeth", now=T0)
    assert has_graph(instance, KEPT) and has_graph(instance, GONE)

    monkeypatch.setattr(BreakingHarvester, "breaks", True)
    outcome = harvest(instance, "lambeth", now=T0 + timedelta(days=1))
    assert (outcome.status, outcome.listing_complete, outcome.datasets_withdrawn) == ("partial", False, 0)
    assert has_graph(instance, KEPT) and has_graph(instance, GONE)
    with instance.session() as session:
        assert {d.status for d in session.scalars(select(Dataset))} == {"active"}
        last = session.scalars(select(HarvestRun).order_by(HarvestRun.id.desc())).first()
        assert last is not None and last.status == "partial" and "page 2" in last.message
        assert last.listing_complete is False and "page 2" in last.errors_json[0]["message"]
