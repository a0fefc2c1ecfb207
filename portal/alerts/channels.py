"""The channels an instance sends alerts by: webhooks always; e-mail and publisher reminders with SMTP."""

from __future__ import annotations

from typing import TYPE_CHECKING

from portal.alerts.outbox import Channel

if TYPE_CHECKING:
    from portal.instance import Instance


def channels_for(instance: Instance) -> list[Channel]:
    """Every channel the instance's settings allow (e-mail ones only when `smtp_url` is set)."""
    from portal.alerts.webhooks import WebhookChannel

    channels: list[Channel] = [WebhookChannel()]
    if instance.settings.smtp_url:
        from portal.alerts.mail import EmailChannel, ReminderChannel

        channels += [EmailChannel(), ReminderChannel()]
    return channels
