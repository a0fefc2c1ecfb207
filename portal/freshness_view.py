"""`/freshness.json` and its page: every dataset's status with the evidence it rests on."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from portal.freshness import RECORDED_STATUSES
from portal.instance import Instance
from portal.watch import Evaluation, evaluate_freshness, last_recorded_evaluation


def freshness_document(instance: Instance, now: datetime | None = None) -> dict[str, Any]:
    """Every active dataset's freshness with its evidence.

    Without `now`: the last recorded evaluation, at its instant (each status as recorded, with the
    instant it was taken). With `now`: a what-if evaluation at that instant, recorded nowhere.
    """
    recorded_at = last_recorded_evaluation(instance)
    at = now or recorded_at
    if at is None:
        return {"evaluated_at": None, "recorded": False, "datasets": [], "counts": {},
                "note": "No freshness evaluation has been recorded yet (`lodestar freshness`)."}
    evaluation = evaluate_freshness(instance, at, record=False)
    return {"evaluated_at": at.isoformat(), "recorded": now is None,
            "last_recorded_evaluation": recorded_at.isoformat() if recorded_at else None,
            "counts": _counts(evaluation, recorded=now is None),
            "datasets": [_entry(instance, evaluation, row, recorded=now is None) for row in evaluation.table.rows()]}


def _status(evaluation: Evaluation, row: int, recorded: bool) -> str:
    table = evaluation.table
    if recorded and table.recorded[row] is not None:
        return str(table.recorded[row])
    return table.status(row)


def _counts(evaluation: Evaluation, *, recorded: bool) -> dict[str, int]:
    counts = dict.fromkeys(sorted(RECORDED_STATUSES - {"withdrawn"}), 0)
    for row in range(len(evaluation)):
        status = _status(evaluation, row, recorded)
        counts[status] = counts.get(status, 0) + 1
    return counts


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
