"""`lodestar webhooks …`: register alert webhook endpoints, rotate their secrets, read their delivery log."""

from __future__ import annotations

import argparse
import json
from typing import Any

from portal.alerts.events import SEVERITIES
from portal.errors import NotFoundError
from portal.instance import Instance


def cmd_add(args: argparse.Namespace) -> int:
    """Register an endpoint; print its id and its secret (shown only this once)."""
    from portal.alerts.webhook_endpoints import add_endpoint

    with Instance.open() as instance:
        endpoint_id, secret = add_endpoint(
            instance, args.url, publisher=args.publisher, theme=args.theme, dataset=args.dataset,
            min_severity=args.min_severity, owner_email=args.owner, description=args.description)
    print(f"added webhook endpoint {endpoint_id} → {args.url.strip()}")
    print(f"signing secret: {secret}")
    print("The secret is shown only once: give it to the receiver now (it verifies the webhook-signature "
          "header with it). `lodestar webhooks rotate` makes a new one.")
    return 0


def _filters(endpoint: dict[str, Any]) -> str:
    parts = [f"{name}={endpoint[name]}" for name in ("publisher", "dataset", "theme") if endpoint[name]]
    return " ".join(parts + [f"min-severity={endpoint['min_severity']}"])


def cmd_list(args: argparse.Namespace) -> int:
    """Show every endpoint, its filters and state (secrets masked)."""
    from portal.alerts.webhook_endpoints import list_endpoints

    with Instance.open() as instance:
        endpoints = list_endpoints(instance)
    if args.format == "json":
        print(json.dumps(endpoints, indent=2))
        return 0
    if not endpoints:
        print("no webhook endpoints (add one with `lodestar webhooks add URL`)")
    for e in endpoints:
        state = "enabled" if e["enabled"] else f"DISABLED {(e['disabled_at'] or '')[:16]}"
        rotating = f" (+ previous until {e['previous_secret_until'][:16]})" if e["previous_secret_until"] else ""
        print("\t".join(x for x in (e["id"], state, e["url"], _filters(e), f"secret {e['secret']}{rotating}",
                                    f"owner {e['owner_email']}" if e["owner_email"] else "",
                                    e["description"]) if x))
        if not e["enabled"] and e["disabled_reason"]:
            print(f"  disabled: {e['disabled_reason']}")
        elif e["failures_in_row"]:
            print(f"  {e['failures_in_row']} deliveries in a row failed")
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    """Delete an endpoint and cancel its pending deliveries."""
    from portal.alerts.webhook_endpoints import remove_endpoint

    with Instance.open() as instance:
        cancelled = remove_endpoint(instance, args.id)
    print(f"removed webhook endpoint {args.id} ({cancelled} pending deliveries cancelled)")
    return 0


def cmd_rotate(args: argparse.Namespace) -> int:
    """Give an endpoint a new secret; print it."""
    from portal.alerts.webhook_endpoints import ROTATION_GRACE, rotate_secret

    with Instance.open() as instance:
        secret = rotate_secret(instance, args.id)
    hours = ROTATION_GRACE.total_seconds() / 3600
    print(f"new signing secret of {args.id}: {secret}")
    print(f"Shown only once. For the next {hours:g} h each webhook is signed with both the new and the old "
          "secret, so the receiver can switch at any time in between.")
    return 0


def cmd_enable(args: argparse.Namespace) -> int:
    """Enable a disabled endpoint again."""
    from portal.alerts.webhook_endpoints import enable_endpoint

    with Instance.open() as instance:
        enable_endpoint(instance, args.id)
    print(f"enabled webhook endpoint {args.id} (`lodestar webhooks resend` re-sends what it missed)")
    return 0


def cmd_log(args: argparse.Namespace) -> int:
    """Show an endpoint's deliveries and every attempt of each."""
    from portal.alerts.webhook_endpoints import delivery_log

    with Instance.open() as instance:
        entries = delivery_log(instance, args.id, limit=args.limit)
    if args.format == "json":
        print(json.dumps(entries, indent=2))
        return 0
    if not entries:
        print(f"no deliveries to {args.id} yet")
    for d in entries:
        when = f"next try {d['next_attempt_at'][:19]}" if d["status"] == "pending" else (
            f"at {d['delivered_at'][:19]}" if d["delivered_at"] else "")
        print(f"delivery {d['delivery']}\t{d['event']}\t{d['kind']} {d['dataset']}\t{d['status']} {when}".rstrip())
        for a in d["attempts"]:
            code = f"HTTP {a['status_code']}" if a["status_code"] is not None else "no answer"
            note = f"\t{a['error']}" if a["error"] and not a["ok"] else ""
            manual = " (manual)" if a["manual"] else ""
            print(f"  {a['at'][:19]}\t{code}\t{a['duration_ms']} ms{manual}{note}")
    return 0


def cmd_resend(args: argparse.Namespace) -> int:
    """Send one webhook delivery again now (logged as a manual attempt)."""
    from portal.alerts.channels import channels_for
    from portal.alerts.models import Delivery
    from portal.alerts.outbox import resend
    from portal.alerts.webhook_endpoints import CHANNEL

    with Instance.open() as instance:
        with instance.session() as session:
            delivery = session.get(Delivery, args.delivery_id)
            if delivery is None or delivery.channel != CHANNEL:
                raise NotFoundError(f"no webhook delivery {args.delivery_id}")
        outcome = resend(instance, args.delivery_id, channels_for(instance))
    answer = f"HTTP {outcome.status_code}" if outcome.status_code is not None else "no answer"
    if outcome.ok:
        print(f"delivery {args.delivery_id}: delivered ({answer}, {outcome.duration_ms} ms)")
        return 0
    print(f"delivery {args.delivery_id}: failed ({answer}, {outcome.duration_ms} ms): {outcome.error}")
    return 3


def register(sub: Any) -> None:
    """Add `lodestar webhooks add|list|remove|rotate|enable|log|resend`."""
    hooks = sub.add_parser("webhooks", help="alert webhook endpoints (Standard Webhooks)").add_subparsers(
        dest="action", required=True)
    p = hooks.add_parser("add", help="register an endpoint; prints its signing secret once")
    p.add_argument("url", help="the receiver's http(s) URL")
    p.add_argument("--publisher", help="only this publisher's datasets (slug)")
    p.add_argument("--theme", help="only datasets of this theme: an EU data-theme code (ENVI) or IRI")
    p.add_argument("--dataset", metavar="PUB/SLUG", help="only this dataset")
    p.add_argument("--min-severity", default="warning",
                   help=f"least severe event sent, one of {', '.join(SEVERITIES)} (default warning)")
    p.add_argument("--owner", metavar="EMAIL", help="told by e-mail when the endpoint is disabled")
    p.add_argument("--description", default="")
    p.set_defaults(func=cmd_add)
    p = hooks.add_parser("list", help="list endpoints (secrets masked)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=cmd_list)
    p = hooks.add_parser("remove", help="delete an endpoint and cancel its pending deliveries")
    p.add_argument("id")
    p.set_defaults(func=cmd_remove)
    p = hooks.add_parser("rotate", help="new signing secret (the old one keeps signing for 24 h)")
    p.add_argument("id")
    p.set_defaults(func=cmd_rotate)
    p = hooks.add_parser("enable", help="enable a disabled endpoint again")
    p.add_argument("id")
    p.set_defaults(func=cmd_enable)
    p = hooks.add_parser("log", help="an endpoint's deliveries and every attempt")
    p.add_argument("id")
    p.add_argument("--limit", type=int, default=20, help="most deliveries shown, newest first (default 20)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=cmd_log)
    p = hooks.add_parser("resend", help="send one delivery again now (logged as manual)")
    p.add_argument("delivery_id", type=int)
    p.set_defaults(func=cmd_resend)
