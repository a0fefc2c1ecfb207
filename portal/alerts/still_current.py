"""The "still current" link in a publisher reminder: the contact point confirms with one click.

A reminder names one event (the dataset falling due, or late). Its link carries the event id and
a key, the HMAC of that id under the instance secret, so nothing is stored to hand it out and no
other event's link can be made from it. Opening it (GET) shows the dataset and a button and changes
nothing (mail scanners prefetch links); the button (POST) records the confirmation as `lodestar
confirm-current` does: it counts as an update, is kept with who and why, and the status is recorded
at once, with its "back to fresh" event.

A link works once, while its dataset is still late (due, overdue or delinquent) and for at most
`LINK_DAYS` days after its event.
"""

from __future__ import annotations

import hashlib
import hmac
from base64 import urlsafe_b64encode
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from portal.alerts.events import LATE
from portal.alerts.mail_subscriptions import instance_secret
from portal.alerts.models import AlertEvent, FreshnessConfirmation
from portal.db import Dataset, utcnow
from portal.errors import NotFoundError

if TYPE_CHECKING:
    from portal.instance import Instance
    from portal.watch import Evaluation

#: How long a reminder's link works, at most, after its event.
LINK_DAYS = 60
#: Who a confirmation by link is recorded as.
BY_LINK = "contact point, by the link in its reminder"


def link_key(instance: Instance, event_id: str) -> str:
    """The secret part of an event's "still current" link."""
    digest = hmac.new(instance_secret(instance.path), f"still-current:{event_id}".encode(), hashlib.sha256).digest()
    return urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def link_url(instance: Instance, event_id: str) -> str:
    """The "still current" link of a reminder about an event."""
    return f"{instance.uris.base}/still-current/{event_id}/{link_key(instance, event_id)}"


def _note(event_id: str) -> str:
    return f"reminder {event_id}"


@dataclass(frozen=True)
class StillCurrentLink:
    """What a link is about, and whether it can still be used (`refusal` says why not)."""

    event_id: str
    publisher: str
    slug: str
    title: str
    status: str | None
    status_since: datetime | None
    confirmed_at: datetime | None  # when this link was used
    refusal: str | None

    @property
    def dataset(self) -> str:
        """``publisher/slug``."""
        return f"{self.publisher}/{self.slug}"


def look_up(instance: Instance, event_id: str, key: str, *, now: datetime | None = None) -> StillCurrentLink:
    """The link's dataset and state; NotFoundError when the key does not fit (the same as an unknown event)."""
    if len(event_id) > 80 or not hmac.compare_digest(link_key(instance, event_id), key):
        raise NotFoundError("this link is not valid; use the one in the reminder e-mail")
    moment = now or utcnow()
    with instance.session() as session:
        event = session.scalar(select(AlertEvent).where(AlertEvent.event_id == event_id))
        dataset = session.get(Dataset, event.dataset_id) if event is not None else None
        if event is None or dataset is None:
            raise NotFoundError("this link is not valid; use the one in the reminder e-mail")
        used = session.scalar(select(FreshnessConfirmation.confirmed_at).where(
            FreshnessConfirmation.dataset_id == dataset.id, FreshnessConfirmation.note == _note(event_id)))
        refusal = None
        if used is not None:
            refusal = "used"
        elif dataset.withdrawn:
            refusal = "withdrawn"
        elif dataset.freshness_status not in LATE:
            refusal = "not-late"
        elif moment > event.occurred_at + timedelta(days=LINK_DAYS):
            refusal = "expired"
        return StillCurrentLink(event_id, dataset.publisher, dataset.slug, dataset.title, dataset.freshness_status,
                                dataset.freshness_since, used, refusal)


def confirm_by_link(instance: Instance, event_id: str, key: str, *,
                    now: datetime | None = None) -> tuple[StillCurrentLink, Evaluation | None]:
    """Use the link: record "still current" (once); the link's state after, and the evaluation if recorded."""
    from portal.watch import confirm_current

    link = look_up(instance, event_id, key, now=now)
    if link.refusal is not None:
        return link, None
    evaluation = confirm_current(instance, link.publisher, link.slug, by=BY_LINK, note=_note(event_id),
                                 now=now or utcnow())
    return look_up(instance, event_id, key, now=now), evaluation


__all__ = ["BY_LINK", "LINK_DAYS", "StillCurrentLink", "confirm_by_link", "link_key", "link_url", "look_up"]
