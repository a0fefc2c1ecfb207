"""Publisher scorecards and the league table as pages with charts, and their JSON twins.

`?now=` (an ISO 8601 instant; UTC when it has no offset) evaluates the figures at another instant.
Without it the league table is the one kept when the scorecards were last published ("basis":
"published"), a scorecard is computed at this instant.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, Response, jsonify, render_template, request, url_for
from markupsafe import Markup

from portal.db import utcnow
from portal.freshness import parse_instant
from portal.scorecard_charts import share_chart, status_chart
from portal.scorecard_graph import SCORECARDS, overdue_query
from portal.scorecard_history import last_quarter
from portal.scorecards import DEFINITIONS, league_table, saved_league, scorecard
from portal.web import get_instance

bp = Blueprint("scorecards", __name__)


def _instant() -> datetime:
    """The instant asked for by `?now=`, or the current one; a value that is no ISO 8601 instant is a 400."""
    given = request.args.get("now")
    if not given:
        return utcnow()
    return parse_instant(given, "?now=")


def _ask(at: datetime) -> dict[str, Any]:
    """The example question for the SPARQL endpoint, about the quarter before `at`."""
    start, end = last_quarter(at)
    uris = get_instance().uris
    query = overdue_query(uris, start, end)
    quarter, last_day = f"Q{(start.month + 2) // 3} {start.year}", end - timedelta(days=1)
    return {"question": f"Which publishers had datasets overdue (or delinquent) last quarter, {quarter} "
                        f"({start:%Y-%m-%d} to {last_day:%Y-%m-%d})?",
            "quarter": {"start": start.isoformat(), "end": end.isoformat()},
            "graph": uris.portal_graph(SCORECARDS), "query": query,
            "endpoint": url_for("sparql.sparql", _external=True),
            "run": url_for("sparql.sparql", query=query, _external=True)}


def _league() -> dict[str, Any]:
    """The league table at `?now=`; without it, the one kept at the last publication of the scorecards
    (after each harvest and recorded freshness evaluation), so that a page does not assess every dataset
    of a big portal; before the first publication, the one at this instant."""
    instance = get_instance()
    kept = None if request.args.get("now") else saved_league(instance)
    if kept is not None:
        at, rows, basis = datetime.fromisoformat(kept["at"]), kept["publishers"], "published"
    else:
        at = _instant()
        rows, basis = [row.to_dict() for row in league_table(instance, at)], "computed"
    return {"at": at.isoformat(), "basis": basis, "definitions": DEFINITIONS, "publishers": rows,
            "ask": _ask(at)}


@bp.get("/publishers")
def publishers() -> str:
    """The league table of publishers: freshness, lags, metadata quality and trends."""
    return render_template("league.html", league=_league(), now_arg=request.args.get("now"))


@bp.get("/publishers.json")
def publishers_json() -> Response:
    """The league table as JSON."""
    return jsonify(_league())


def _card(publisher: str) -> dict[str, Any]:
    at = _instant()
    card = scorecard(get_instance(), publisher, at).to_dict()
    card["ask"] = _ask(at)
    return card


@bp.get("/publisher/<publisher>/scorecard")
def scorecard_page(publisher: str) -> str:
    """One publisher's scorecard: figures, charts over 12 months, metadata quality, every dataset."""
    card = _card(publisher)
    points = card["trend"]["points"]
    labels = [point["label"] for point in points]
    # pygal escapes every text it writes (labels, titles, descriptions): the SVG is safe to inline.
    charts = {"share": Markup(share_chart(labels, [point["share_fresh"] for point in points])),
              "status": Markup(status_chart(labels, [point["counts"] for point in points]))}
    return render_template("scorecard.html", c=card, charts=charts, now_arg=request.args.get("now"))


@bp.get("/publisher/<publisher>/scorecard.json")
def scorecard_json(publisher: str) -> Response:
    """One publisher's scorecard as JSON."""
    return jsonify(_card(publisher))
