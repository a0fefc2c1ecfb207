"""The web portal: a Flask app factory and its blueprints. Only this package imports Flask."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from flask import Flask, current_app, request
from werkzeug.exceptions import BadRequest

from portal.instance import Instance


def create_app(test_config: Mapping[str, Any] | None = None, instance: Instance | None = None) -> Flask:
    """Build the portal app for an instance (opened lazily from settings when not given)."""
    app = Flask(__name__)
    app.config.from_mapping(LODESTAR_SETTINGS={})
    if test_config:
        app.config.from_mapping(test_config)
    app.extensions["lodestar"] = instance

    from portal.web import (
        alerts, catalogue, ckan_api, errors, health, linked_data, schemas, scorecards, sources, sparql, subscribe,
    )

    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    app.before_request(_refuse_nul)
    app.before_request(_ensure_secret_key)
    errors.register(app)
    app.add_template_filter(when)
    app.register_blueprint(catalogue.bp)
    app.register_blueprint(linked_data.bp)
    app.register_blueprint(sparql.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(sources.bp)
    app.register_blueprint(schemas.bp)
    app.register_blueprint(ckan_api.bp)
    app.register_blueprint(alerts.bp)
    app.register_blueprint(subscribe.bp)
    app.register_blueprint(scorecards.bp)
    return app


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, (list, tuple)):
        return any(_holds_nul(item) for item in value)
    if isinstance(value, dict):
        return any(_holds_nul(key) or _holds_nul(item) for key, item in value.items())
    return False


def _refuse_nul() -> None:
    """Refuse a request with NUL in its path, query, form or JSON body (400): no name, search or filter
    holds one, and a PostgreSQL query given one fails."""
    parts: dict[str, Any] = {"path": request.path, "query": list(request.args.items(multi=True))}
    if request.is_json:
        parts["JSON body"] = request.get_json(silent=True)
    elif request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        parts["form"] = list(request.form.items(multi=True))
    for where, value in parts.items():
        if _holds_nul(value):
            raise BadRequest(f"the request's {where} holds a NUL character (%00), which nothing here can match")


def _ensure_secret_key() -> None:
    """Sign sessions (the subscribe forms' CSRF tokens) with a key kept in the instance folder.

    Read at the first request rather than in the factory, which touches no files.
    """
    if not current_app.secret_key:
        from portal.alerts.mail_subscriptions import session_secret

        current_app.secret_key = session_secret(get_instance().path)


def when(value: str | None) -> str:
    """An ISO 8601 timestamp as people read it: `2026-11-24 05:45 UTC`."""
    if not value:
        return "—"
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def get_instance() -> Instance:
    """The instance the current app serves, opened on first use."""
    instance = current_app.extensions.get("lodestar")
    if instance is None:
        instance = Instance.open(current_app.config["LODESTAR_SETTINGS"])
        current_app.extensions["lodestar"] = instance
    return instance
