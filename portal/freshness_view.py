"""`/freshness.json` and its page: every dataset's status with the evidence it rests on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from portal.freshness import RECORDED_STATUSES
from portal.instance import Instance
from portal.watch import Evaluation, evaluate_freshness, last_recorded_evaluation


#: Datasets per page unless `limit` says otherwise, and the most a page holds.
PAGE_SIZE, MAX_PAGE = 1000, 10_000


@dataclass(frozen=True)
class FreshnessQuery:
    """Which datasets a freshness listing shows: filters, and a page of them."""

    publisher: str | None = None
    dataset: str | None = None  # publisher/slug
    statuses: frozenset[str] = frozenset()  # empty: every status
    offset: int = 0
    limit: int = PAGE_SIZE

    def params(self) -> dict[str, str]:
        """The filters as query parameters (for the next page's link)."""
        values = {"publisher": self.publisher, "dataset": self.dataset,
                  "status": ",".join(sorted(self.statuses)) or None, "limit": str(self.limit)}
        return {k: v for k, v in values.items() if v}


def freshness_document(instance: Instance, now: datetime | None = None,
                       query: FreshnessQuery | None = None) -> dict[str, Any]:
    """Every active dataset's freshness with its evidence, a page at a time (`query`).

    Without `now`: the last recorded evaluation, at its instant (each status as recorded, with the
    instant it was taken). With `now`: a what-if evaluation at that instant, recorded nowhere.
    `counts` are over the publisher or dataset chosen (whatever the status filter); `total` is how
    many datasets match every filter, of which `datasets` is the page from `offset`.
    """
    query = query or FreshnessQuery()
    recorded_at = last_recorded_evaluation(instance)
    at = now or recorded_at
    if at is None:
        return {"evaluated_at": None, "recorded": False, "datasets": [], "counts": {}, "total": 0,
                "offset": query.offset, "limit": query.limit,
                "note": "No freshness evaluation has been recorded yet (`lodestar freshness`)."}
    evaluation = evaluate_freshness(instance, at, record=False)
    recorded = now is None
    table = evaluation.table
    rows = table.rows(query.publisher)
    if query.dataset is not None:
        rows = [row for row in rows if f"{table.publishers[row]}/{table.slugs[row]}" == query.dataset]
    statuses = {row: _status(evaluation, row, recorded) for row in rows}
    counts = dict.fromkeys(sorted(RECORDED_STATUSES - {"withdrawn"}), 0)
    for status in statuses.values():
        counts[status] = counts.get(status, 0) + 1
    chosen = [row for row in rows if not query.statuses or statuses[row] in query.statuses]
    page = chosen[query.offset:query.offset + query.limit]
    return {"evaluated_at": at.isoformat(), "recorded": recorded,
            "last_recorded_evaluation": recorded_at.isoformat() if recorded_at else None,
            "counts": counts, "total": len(chosen), "offset": query.offset, "limit": query.limit,
            "datasets": [_entry(instance, evaluation, row, recorded=recorded) for row in page]}


def _status(evaluation: Evaluation, row: int, recorded: bool) -> str:
    table = evaluation.table
    if recorded and table.recorded[row] is not None:
        return str(table.recorded[row])
    return table.status(row)


def _entry(instance: Instance, evaluation: Evaluation, row: int, *, recorded: bool) -> dict[str, Any]:
    outcome = evaluation.outcome(row)
    since = evaluation.table.recorded_since_at(row) if recorded else outcome.since
    return {
        "dataset": f"{outcome.publisher}/{outcome.dataset}", "title": outcome.title,
        "link": instance.uris.dataset(outcome.publisher, outcome.dataset),
        "status": _status(evaluation, row, recorded),
        "since": since.isoformat() if since else None,
        **{k: v for k, v in outcome.evidence().items() if k != "status"},
    }
