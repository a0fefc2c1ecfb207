"""`lodestar subscribe|unsubscribe|subscriptions`: e-mail alert subscriptions from the command line."""

from __future__ import annotations

import argparse
import json
from typing import Any

from portal.alerts.events import SEVERITIES


def cmd_subscribe(args: argparse.Namespace) -> int:
    """Start a double opt-in: the address gets an e-mail with a single-use confirmation link."""
    from portal.alerts.mail import start_subscription
    from portal.instance import Instance

    with Instance.open() as instance:
        request = start_subscription(instance, args.email, publisher=args.publisher, theme=args.theme,
                                     dataset=args.dataset, min_severity=args.min_severity,
                                     mode="digest" if args.digest else "immediate")
    subscription = request.subscription
    if request.reason == "sent":
        print(f"{subscription.subscription_id}: a confirmation e-mail was sent to {subscription.email}; "
              "the subscription starts when its link is followed")
    elif request.reason == "already-active":
        print(f"{subscription.subscription_id}: {subscription.email} is already subscribed to exactly this")
    else:
        from portal.alerts.mail_subscriptions import RATE_LIMIT, RATE_WINDOW

        print(f"{subscription.subscription_id}: no e-mail sent — {subscription.email} was sent confirmation "
              f"e-mails recently (at most {RATE_LIMIT} in {RATE_WINDOW}, one per subscription); try again later")
    return 0


def cmd_unsubscribe(args: argparse.Namespace) -> int:
    """Cancel every subscription of an address (operator command; subscribers use the link)."""
    from portal.alerts.mail import unsubscribe_address
    from portal.instance import Instance

    with Instance.open() as instance:
        count = unsubscribe_address(instance, args.email)
    print(f"{count} subscription{'s' if count != 1 else ''} of {args.email} cancelled")
    return 0


def _row(subscription: Any) -> dict[str, Any]:
    return {"subscription_id": subscription.subscription_id, "email": subscription.email,
            "status": subscription.status, "mode": subscription.mode, "publisher": subscription.publisher,
            "theme": subscription.theme, "dataset": subscription.dataset,
            "min_severity": subscription.min_severity,
            "created_at": subscription.created_at.isoformat() if subscription.created_at else None,
            "confirmed_at": subscription.confirmed_at.isoformat() if subscription.confirmed_at else None,
            "last_digest_at": subscription.last_digest_at.isoformat() if subscription.last_digest_at else None}


def cmd_subscriptions_list(args: argparse.Namespace) -> int:
    """List every e-mail subscription with its filters and status."""
    from portal.alerts.mail import list_subscriptions
    from portal.alerts.mail_subscriptions import describe, filters_of
    from portal.instance import Instance

    with Instance.open() as instance:
        subscriptions = list_subscriptions(instance)
    if args.format == "json":
        print(json.dumps([_row(s) for s in subscriptions], indent=2, ensure_ascii=False))
        return 0
    if not subscriptions:
        print("no e-mail subscriptions")
    for s in subscriptions:
        print(f"{s.subscription_id}  {s.status:<12}  {s.email}  {describe(filters_of(s), s.mode)}")
    return 0


def register(sub: Any) -> None:
    """Add `subscribe`, `unsubscribe` and `subscriptions list` to the `lodestar` parser."""
    p = sub.add_parser("subscribe", help="subscribe an e-mail address to freshness alerts (double opt-in)")
    p.add_argument("email")
    p.add_argument("--publisher", help="only this publisher's datasets")
    p.add_argument("--theme", help="only datasets of this theme (EU data-theme code such as ENVI, or an IRI)")
    p.add_argument("--dataset", metavar="PUBLISHER/SLUG", help="only this dataset")
    p.add_argument("--min-severity", choices=SEVERITIES, default="warning",
                   help="least severe alert to send (default warning: overdue and worse)")
    p.add_argument("--digest", action="store_true", help="one e-mail a day instead of one per alert")
    p.set_defaults(func=cmd_subscribe)

    p = sub.add_parser("unsubscribe", help="cancel every e-mail subscription of an address")
    p.add_argument("email")
    p.set_defaults(func=cmd_unsubscribe)

    group = sub.add_parser("subscriptions", help="e-mail alert subscriptions").add_subparsers(
        dest="action", required=True)
    p = group.add_parser("list", help="list every e-mail subscription")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=cmd_subscriptions_list)
