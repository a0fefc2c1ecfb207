"""The one place where exceptions become HTTP responses, with one JSON error shape."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from portal.errors import PortalError


def wants_json() -> bool:
    """True for machine clients: a .json path, /sparql, /api/ (CKAN), /-/ APIs or a JSON Accept header."""
    path = request.path
    if path.endswith(".json") or path.startswith(("/sparql", "/-/", "/api/")):
        return True
    if request.is_json:  # a JSON body asks for a JSON answer
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def error_response(status: int, code: str, message: str) -> ResponseReturnValue:
    """`{"error": {"status", "code", "message"}}` for machines, a page for people."""
    if wants_json():
        response = jsonify(error={"status": status, "code": code, "message": message})
        response.status_code = status
        return response
    return render_template("error.html", status=status, code=code, message=message), status


def register(app: Flask) -> None:
    """Install the handlers on the app."""

    @app.errorhandler(PortalError)
    def portal_error(exc: PortalError) -> ResponseReturnValue:
        """Lodestar's own errors carry their HTTP status."""
        return error_response(exc.http_status, exc.code, str(exc))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> ResponseReturnValue:
        """Werkzeug's (404 for unknown paths, 405, …) in the same shape."""
        status = exc.code or 500
        return error_response(status, f"http/{status}", exc.description or exc.name)
