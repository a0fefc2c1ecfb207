"""A read-only, CKAN-compatible Action API, so that ckanapi, CKAN's harvesters and crawlers can read Lodestar.

``/api/3/action/{action}`` (and ``/api/action/{action}``), GET with a query string or POST with a
JSON body or a form, answered in CKAN's envelope ``{"help", "success", "result"}``. Errors keep CKAN's
own shape — ``{"help", "success": false, "error": {"__type", "message", …}}`` — inside this blueprint
only (the rest of the portal has its one JSON error shape, `portal.web.errors`):

- 404 "Not Found Error": no such package or organization (a withdrawn dataset is not found, and the
  message says when it was withdrawn);
- 409 "Validation Error": a parameter of the wrong type or missing, keyed by the parameter as CKAN does;
- 400 "Search Query Error": a `q`, `fq` or `sort` that cannot be understood;
- 403 "Authorization Error": an action that would change the catalogue (``package_create``,
  ``*_update``, ``*_delete`` …) — they exist in CKAN, and here nobody is allowed them;
- 400 "Bad Request": an action CKAN does not have either, or a body that is not a JSON object
  (CKAN itself answers these two with a bare JSON string; the envelope is kept here so that every
  answer of this API has one shape, and ckanapi raises the same `CKANAPIError` for both).

The actions: `package_search`, `package_show`, `package_list`, `organization_list`,
`organization_show`, `status_show` and `help_show`. Limits follow CKAN's defaults: `rows` at most
1000; `organization_list` gives at most 1000 names, or 25 organizations with `all_fields`;
`organization_show` with `include_datasets` lists the first 1000 datasets by name.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, request
from werkzeug.datastructures import MultiDict

from portal.ckan_search import FACET_LIMIT, ROWS_MAX, SearchQueryError, SearchRequest, package_search
from portal.ckan_view import CkanView
from portal.errors import NotFoundError, PortalError
from portal.web import get_instance

bp = Blueprint("ckan_api", __name__)

#: Most names and most full organizations `organization_list` gives (CKAN's defaults).
ORGANIZATIONS_MAX = 1000
ORGANIZATIONS_ALL_FIELDS_MAX = 25
#: Words that make a CKAN action one that changes the catalogue.
WRITE_WORDS = frozenset({"create", "update", "patch", "delete", "purge", "revise", "reorder", "upsert", "insert",
                         "follow", "unfollow", "invite", "bulk", "rebuild", "clear", "add", "remove", "regenerate",
                         "revoke"})


class ApiError(Exception):
    """An answer of this API that is not a success: its status, CKAN error type, message and fields."""

    def __init__(self, status: int, error_type: str, message: str, **fields: Any) -> None:
        super().__init__(message)
        self.status, self.error_type, self.message, self.fields = status, error_type, message, fields


def _invalid(name: str, message: str) -> ApiError:
    return ApiError(409, "Validation Error", f"{name}: {message}", **{name: [message]})


def _integer(data: dict[str, Any], name: str, default: int | None, minimum: int = 0) -> int | None:
    value = data.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise _invalid(name, "Invalid integer")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise _invalid(name, "Invalid integer") from None
    if number < minimum:
        raise _invalid(name, "Must be a natural number" if minimum == 0 else f"Must be at least {minimum}")
    return number


def _boolean(data: dict[str, Any], name: str, default: bool = False) -> bool:
    value = data.get(name, default)
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "on", "1", "y", "t"):
        return True
    if text in ("false", "no", "off", "0", "n", "f", ""):
        return False
    raise _invalid(name, "Must be a boolean")


def _words(data: dict[str, Any], name: str) -> list[str] | None:
    """A list parameter given as a list, a JSON list, or comma- or space-separated text."""
    value = data.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.lstrip().startswith("["):
        try:
            value = json.loads(value)
        except ValueError:
            raise _invalid(name, "Must be a list") from None
    if isinstance(value, str):
        value = value.replace(",", " ").split()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _invalid(name, "Must be a list of strings")
    return [v.strip() for v in value if v.strip()]


def _text(data: dict[str, Any], name: str, required: bool = False) -> str:
    value = data.get(name)
    if value is None or value == "":
        if required:
            raise _invalid(name, "Missing value")
        return ""
    if not isinstance(value, str):
        raise _invalid(name, "Must be a string")
    return value


def _view() -> CkanView:
    return CkanView(get_instance())


def package_search_action(data: dict[str, Any]) -> Any:
    """Search the datasets: q, fq (or fq_list), rows, start, sort, fl, facet.field, facet.limit."""
    fq_list = data.get("fq_list") or []
    fq_list = [fq_list] if isinstance(fq_list, str) else fq_list
    if not isinstance(fq_list, list) or not all(isinstance(part, str) for part in fq_list):
        raise _invalid("fq_list", "Must be a list of strings")
    fq = [_text(data, "fq"), *fq_list]
    facet_limit = _integer(data, "facet.limit", FACET_LIMIT, minimum=-1)
    search = SearchRequest(
        q=_text(data, "q"), fq=" AND ".join(f"({part})" for part in fq if part.strip()),
        rows=min(_integer(data, "rows", 10) or 0, ROWS_MAX), start=_integer(data, "start", 0) or 0,
        sort=_text(data, "sort") or None, fl=_words(data, "fl"),
        facet_fields=_words(data, "facet.field") or [],
        facet_limit=10**9 if facet_limit is None or facet_limit < 0 else facet_limit)
    return package_search(_view(), search)


def package_show_action(data: dict[str, Any]) -> Any:
    """One dataset by id or name (`id`)."""
    return _view().package_show(_text(data, "id") or _text(data, "name_or_id", required=True))


def package_list_action(data: dict[str, Any]) -> Any:
    """The names of every dataset, in name order: limit, offset."""
    limit = _integer(data, "limit", None, minimum=1)
    return _view().package_list(limit, _integer(data, "offset", 0) or 0 if limit is not None else 0)


def organization_list_action(data: dict[str, Any]) -> Any:
    """The publishers: all_fields, limit, offset, sort (name, title or package_count; default title asc)."""
    all_fields = _boolean(data, "all_fields")
    most = ORGANIZATIONS_ALL_FIELDS_MAX if all_fields else ORGANIZATIONS_MAX
    sort = " ".join(_text(data, "sort").split()).lower() or "title asc"
    field, _, direction = sort.partition(" ")
    if field not in ("name", "title", "package_count") or direction not in ("", "asc", "desc"):
        raise _invalid("sort", "Must be name, title or package_count, then asc or desc")
    return _view().organization_list(all_fields=all_fields, limit=min(_integer(data, "limit", most) or most, most),
                                     offset=_integer(data, "offset", 0) or 0,
                                     order=f"{field} {direction or 'asc'}")


def organization_show_action(data: dict[str, Any]) -> Any:
    """One publisher by id or name (`id`), with its datasets if `include_datasets`."""
    return _view().organization_show(_text(data, "id", required=True), _boolean(data, "include_datasets"),
                                     ROWS_MAX)


def status_show_action(data: dict[str, Any]) -> Any:
    """The site: CKAN version it answers like, URL, title, extensions."""
    return _view().status()


def help_show_action(data: dict[str, Any]) -> Any:
    """The help text of an action (`name`)."""
    name = _text(data, "name", required=True)
    if name not in ACTIONS:
        raise ApiError(404, "Not Found Error", f"Not found: action {name} does not exist")
    return ACTIONS[name].__doc__


ACTIONS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "package_search": package_search_action,
    "package_show": package_show_action,
    "package_list": package_list_action,
    "organization_list": organization_list_action,
    "organization_show": organization_show_action,
    "status_show": status_show_action,
    "help_show": help_show_action,
}


def _mixed(values: MultiDict[str, str]) -> dict[str, Any]:
    """Parameters as CKAN reads them: a repeated key becomes a list."""
    return {key: items[0] if len(items) == 1 else items for key, items in values.to_dict(flat=False).items()}


def _request_data() -> dict[str, Any]:
    """The action's parameters: the JSON body or form of a POST, else the query string."""
    if request.method == "POST":
        if request.form:
            [(key, value)] = list(request.form.items()) if len(request.form) == 1 else [("", "x")]
            if value in ("", "1") and key.lstrip().startswith("{"):  # a JSON object sent as the form's only key
                return _json_object(key)
            return _mixed(request.form)
        body = request.get_data(as_text=True)
        if body.strip():
            return _json_object(body)
    return _mixed(request.args)


def _json_object(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ApiError(400, "Bad Request", f"Bad request - JSON Error: {exc}") from None
    if not isinstance(data, dict):
        raise ApiError(400, "Bad Request", "Bad request - JSON Error: the request data must be a JSON object")
    return data


def _answer(status: int, body: dict[str, Any]) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


@bp.get("/api/3")
@bp.get("/api")
def version() -> Response:
    """The Action API's version, as CKAN answers at /api/3."""
    return _answer(200, {"version": 3})


@bp.route("/api/3/action/<name>", methods=["GET", "POST"])
@bp.route("/api/action/<name>", methods=["GET", "POST"])
def action(name: str) -> Response:
    """Run one read-only action and answer in CKAN's envelope."""
    body: dict[str, Any] = {"help": f"{request.url_root}api/3/action/help_show?{urlencode({'name': name})}"}
    try:
        if name not in ACTIONS:
            if WRITE_WORDS.intersection(name.lower().split("_")):
                raise ApiError(403, "Authorization Error",
                               f"Access denied: {name} is not allowed, this CKAN API of Lodestar is read-only")
            raise ApiError(400, "Bad Request", f"Bad request - Action name not known: {name}")
        data = _request_data()
        data.pop("callback", None)
        body.update(success=True, result=ACTIONS[name](data))
        return _answer(200, body)
    except (ApiError, PortalError) as exc:
        failure = _failure(exc)
    body.update(success=False, error={"__type": failure.error_type, "message": failure.message, **failure.fields})
    return _answer(failure.status, body)


def _failure(exc: ApiError | PortalError) -> ApiError:
    """The CKAN error an exception is answered with."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, NotFoundError):
        return ApiError(404, "Not Found Error", f"Not found: {exc}" if str(exc) else "Not found")
    if isinstance(exc, SearchQueryError):
        return ApiError(400, "Search Query Error", f"Search Query is invalid: {exc}")
    return ApiError(exc.http_status, "Internal Server Error", f"Internal Server Error: {exc}")
