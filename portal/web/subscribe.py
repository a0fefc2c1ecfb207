"""The subscribe page: alerts by Atom feed, by signed webhook or by e-mail; confirming and unsubscribing.

Forms that change something carry a per-form token kept in Flask's session (CSRF); JSON requests
(``Content-Type: application/json``) need none, since a browser cannot send one cross-site without
asking first. Confirming is a POST behind a button, because mail scanners fetch GET links; one-click
unsubscribe (RFC 8058) is a cookieless POST to the link itself, and answers 200.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, jsonify, render_template, request, session
from sqlalchemy import select
from werkzeug.exceptions import BadRequest, Forbidden

from portal.alerts.events import SEVERITIES, Filters
from portal.alerts.mail_subscriptions import check_filters, describe, filters_of, theme_label
from portal.db import Dataset
from portal.errors import ConfigError, NotFoundError, SourceUnavailableError, UsageError
from portal.instance import Instance
from portal.web import get_instance
from portal.web.errors import wants_json

bp = Blueprint("subscribe", __name__)
log = logging.getLogger(__name__)

_FORMS = ("webhook", "email")


def _choices(instance: Instance) -> dict[str, Any]:
    """Publishers and themes to pick from, as the datasets have them."""
    with instance.session() as db:
        publishers = sorted(db.scalars(select(Dataset.publisher).distinct()))
        themes: dict[str, str] = {}
        for (values,) in db.execute(select(Dataset.metadata_json["themes"])):
            for value in values if isinstance(values, list) else []:
                if isinstance(value, str) and value.startswith(("http://", "https://")):
                    themes.setdefault(value, theme_label(value))
    return {"publishers": publishers,
            "themes": [{"iri": iri, "label": label} for iri, label in sorted(themes.items(), key=lambda t: t[1])]}


def _feeds(base: str, filters: Filters) -> list[dict[str, str]]:
    """The Atom feeds for the chosen filters: every alert, and one per filter chosen."""
    feeds = [{"title": "Every alert", "url": f"{base}/alerts.atom"}]
    for name, label in (("publisher", "Publisher"), ("theme", "Theme"), ("dataset", "Dataset")):
        value = getattr(filters, name)
        if value:
            shown = theme_label(value) if name == "theme" else value
            feeds.append({"title": f"{label}: {shown}", "url": f"{base}/alerts.atom?{urlencode({name: value})}"})
    return feeds


def _field(values: Mapping[str, Any], name: str) -> str | None:
    """A submitted field as text (absent or empty: None); a JSON number, list or object is refused."""
    value = values.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise UsageError(f"{name}: give text, not {type(value).__name__} {json.dumps(value)[:80]}")
    return value


def _asked_filters(values: Mapping[str, Any]) -> Filters:
    """The filters in a query string, form or JSON body (empty values are "any")."""
    return check_filters(publisher=_field(values, "publisher"), theme=_field(values, "theme"),
                         dataset=_field(values, "dataset"),
                         min_severity=_field(values, "min_severity") or "warning")


def _csrf_token(form: str) -> str:
    """The session's token for one form (made on first use; stays for the session)."""
    if not current_app.secret_key:
        raise ConfigError("the portal has no secret key, so its forms cannot be protected; set SECRET_KEY")
    tokens = dict(session.get("csrf") or {})
    if form not in tokens:
        tokens[form] = secrets.token_urlsafe(32)
        session["csrf"] = tokens
    return str(tokens[form])


def _submitted(form: str) -> Mapping[str, Any]:
    """The submitted fields: a JSON object (no CSRF token needed) or the form `form` with its token."""
    if request.is_json:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise BadRequest("the body must be a JSON object")
        return body
    expected = (session.get("csrf") or {}).get(form) if current_app.secret_key else None
    if not expected or not hmac.compare_digest(str(expected), request.form.get("csrf_token", "")):
        raise Forbidden("this form has expired or did not come from this site; reload the page and send it again")
    return request.form


def _json_answer() -> bool:
    return request.is_json or wants_json()


def _private(response: Response) -> Response:
    """Pages with secrets or secret links: never cached, never sent on as a Referer."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _page(filters: Filters) -> dict[str, Any]:
    instance = get_instance()
    return {"feeds": _feeds(instance.uris.base, filters), **_choices(instance), "severities": list(SEVERITIES),
            "email": bool(instance.settings.smtp_url),
            "chosen": {"publisher": filters.publisher, "theme": filters.theme, "dataset": filters.dataset,
                       "min_severity": filters.min_severity}}


@bp.get("/subscribe")
def subscribe_page() -> str:
    """One page, three ways in: Atom feeds, a webhook, e-mail."""
    page = _page(_asked_filters(request.args))
    return render_template("subscribe.html", page=page, csrf={form: _csrf_token(form) for form in _FORMS})


@bp.get("/subscribe.json")
def subscribe_json() -> Response:
    """The feeds for the filters asked for, and what can be chosen, as JSON."""
    return jsonify(_page(_asked_filters(request.args)))


@bp.post("/subscribe/webhook")
def subscribe_webhook() -> tuple[Response | str, int]:
    """Register a webhook endpoint; its signing secret is shown this once."""
    from portal.alerts.webhook_endpoints import add_endpoint

    values = _submitted("webhook")
    filters = _asked_filters(values)
    endpoint_id, secret = add_endpoint(
        get_instance(), _field(values, "url") or "", publisher=filters.publisher, theme=filters.theme,
        dataset=filters.dataset, min_severity=filters.min_severity, owner_email=_field(values, "owner_email"),
        description=_field(values, "description") or "")
    answer = {"endpoint_id": endpoint_id, "secret": secret, "filters": describe(filters)}
    if _json_answer():
        return _private(jsonify(answer)), 201
    return _private(Response(render_template("subscribe_webhook.html", endpoint=answer))), 201


@bp.post("/subscribe/email")
def subscribe_email() -> tuple[Response, int]:
    """Start a double opt-in. The answer is the same whether or not the address is subscribed already."""
    from portal.alerts.mail import start_subscription

    instance = get_instance()
    if not instance.settings.smtp_url:
        raise NotFoundError("this portal sends no e-mail (no SMTP server is configured); use a feed or a webhook")
    values = _submitted("email")
    filters = _asked_filters(values)
    mode = _field(values, "mode") or ("digest" if values.get("digest") else "immediate")
    if mode not in ("immediate", "digest"):
        raise UsageError(f"mode: immediate or digest, not {mode!r}")
    try:
        start_subscription(instance, _field(values, "email") or "", publisher=filters.publisher,
                           theme=filters.theme, dataset=filters.dataset, min_severity=filters.min_severity,
                           mode=mode)
    except SourceUnavailableError:  # answering otherwise would tell who is subscribed already
        log.exception("could not send a confirmation e-mail")
    message = ("If this address can receive e-mail, a confirmation message is on its way. "
               "Follow its link to start the subscription; nothing is sent to you until you do.")
    if _json_answer():
        return jsonify(status="confirmation-requested", message=message), 202
    return Response(render_template("subscribe_email.html", message=message,
                                    subscription=describe(filters, mode))), 202


@bp.get("/subscribe/confirm/<token>")
def confirm_page(token: str) -> Response:
    """What the link would confirm, with a button (GET confirms nothing: mail scanners prefetch links)."""
    from portal.alerts.mail import pending_confirmation

    subscription = pending_confirmation(get_instance(), token)
    return _private(Response(render_template(
        "subscribe_confirm.html", done=False, email=subscription.email,
        subscription=describe(filters_of(subscription), subscription.mode))))


@bp.post("/subscribe/confirm/<token>")
def confirm_post(token: str) -> Response:
    """Confirm the subscription (the token works once)."""
    from portal.alerts.mail import confirm

    subscription = confirm(get_instance(), token)
    summary = describe(filters_of(subscription), subscription.mode)
    if _json_answer():
        return _private(jsonify(status="active", subscription_id=subscription.subscription_id,
                                subscription=summary))
    return _private(Response(render_template("subscribe_confirm.html", done=True, email=subscription.email,
                                             subscription=summary)))


@bp.get("/unsubscribe/<key>")
def unsubscribe_page(key: str) -> Response:
    """What the link would cancel, with a button."""
    from portal.alerts.mail_subscriptions import subscription_for_key

    subscription = subscription_for_key(get_instance(), key)
    return _private(Response(render_template(
        "subscribe_unsubscribe.html", done=subscription.status == "unsubscribed", email=subscription.email,
        subscription=describe(filters_of(subscription), subscription.mode))))


@bp.post("/unsubscribe/<key>")
def unsubscribe_post(key: str) -> Response:
    """Unsubscribe: the button, or a mail client's RFC 8058 one-click POST (no cookies, no token; idempotent)."""
    from portal.alerts.mail import unsubscribe

    subscription = unsubscribe(get_instance(), key)
    summary = describe(filters_of(subscription), subscription.mode)
    if _json_answer():
        return _private(jsonify(status="unsubscribed", subscription=summary))
    return _private(Response(render_template("subscribe_unsubscribe.html", done=True, email=subscription.email,
                                             subscription=summary)))


def _still_current_answer(link: Any, *, done: bool) -> Response:
    from portal.alerts.still_current import LINK_DAYS

    if _json_answer():
        return _private(jsonify(dataset=link.dataset, status=link.status, confirmed=done or link.refusal == "used",
                                refusal=None if done else link.refusal))
    return _private(Response(render_template("still_current.html", link=link, done=done, days=LINK_DAYS)))


@bp.get("/still-current/<event_id>/<key>")
def still_current_page(event_id: str, key: str) -> Response:
    """A reminder's "still current" link: the dataset and a button (GET changes nothing)."""
    from portal.alerts.still_current import look_up

    return _still_current_answer(look_up(get_instance(), event_id, key), done=False)


@bp.post("/still-current/<event_id>/<key>")
def still_current_post(event_id: str, key: str) -> Response:
    """Confirm the dataset as still current (once per link; it counts as an update)."""
    from portal.alerts.still_current import confirm_by_link

    # The status and its event are recorded at once; the scorecards graph follows at the scheduler's
    # next freshness run (`refresh_scorecards`), not within this request.
    link, evaluation = confirm_by_link(get_instance(), event_id, key)
    return _still_current_answer(link, done=evaluation is not None)
