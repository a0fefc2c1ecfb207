"""`lodestar freshness`, `lodestar alerts …` and `lodestar confirm-current`: statuses, alert events,
their delivery and its log."""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.errors import UsageError
from portal.freshness import parse_instant
from portal.instance import Instance


def parse_now(text: str | None) -> datetime:
    """`--now`: an ISO 8601 instant (UTC when it names no zone), or the current instant."""
    if text is None:
        return datetime.now(timezone.utc)
    return parse_instant(text)


def cmd_freshness(args: argparse.Namespace) -> int:
    """Evaluate every dataset's freshness at an instant (now by default); `--record` keeps a what-if."""
    from portal.watch import evaluate_freshness

    now = parse_now(args.now)
    with Instance.open() as instance:
        # An evaluation at a chosen instant is a what-if unless asked: it must not write a history
        # that later real evaluations would contradict (and so raise false alerts).
        evaluation = evaluate_freshness(instance, now, record=args.now is None or args.record, refuse_earlier=True)
        recorded = evaluation.recorded
        if recorded:
            from portal.scorecard_graph import refresh_scorecards

            refresh_scorecards(instance, now)  # status periods and scores, as SPARQL sees them
    changed = set(evaluation.changed)
    ordered = evaluation.table.rows()
    if args.format == "json":
        print(json.dumps({
            "evaluated_at": now.isoformat(), "recorded": recorded, "events_written": evaluation.events,
            "datasets": [{"dataset": f"{o.publisher}/{o.dataset}", "title": o.title, "status": o.result.status,
                          "previous": o.previous, "changed": row in changed, "alert": o.alert,
                          "since": o.since.isoformat() if o.since else None, "evidence": o.evidence()}
                         for row, o in ((row, evaluation.outcome(row)) for row in ordered)]}, indent=2))
        return 0
    print(f"freshness at {now.isoformat()}" + ("" if recorded else " (what-if: nothing recorded)"))
    for row, o in ((row, evaluation.outcome(row)) for row in ordered):
        flag = f" (was {o.previous})" if row in changed and o.previous else ""
        claim = o.evidence()["claim"]
        print(f"{o.result.status:<12}{o.publisher}/{o.dataset}{flag} — {o.result.reason}"
              + (f" The publisher {claim}." if claim else ""))
    if recorded:
        print(f"{len(changed)} status change(s) recorded, {evaluation.events} alert event(s) written")
    return 0


def _event_dict(event: Any, link: str) -> dict[str, Any]:
    from portal.alerts.events import view_of

    return view_of(event, link).payload()


def cmd_alerts_list(args: argparse.Namespace) -> int:
    """The newest alert events, filtered like the feed."""
    from portal.alerts.feed import select_events

    with Instance.open() as instance, instance.session() as session:
        events = select_events(session, publisher=args.publisher, theme=args.theme, dataset=args.dataset,
                               limit=args.limit)
        shown = [_event_dict(e, instance.uris.dataset(e.publisher, e.dataset_slug)) for e in events]
    if args.format == "json":
        print(json.dumps(shown, indent=2))
        return 0
    for item in shown:
        data = item["data"]
        print(f"{item['timestamp']}  {item['id']}  {data['kind']:<10} {data['severity']:<8} {data['dataset']} "
              f"— {data['summary']}")
    if not shown:
        print("no alert events")
    return 0


def cmd_alerts_deliver(args: argparse.Namespace) -> int:
    """Send what is pending once: fan out new events, then every delivery that is due."""
    from portal.alerts.channels import channels_for
    from portal.alerts.outbox import deliver_pending

    with Instance.open() as instance:
        channels = channels_for(instance)
        tally = deliver_pending(instance, channels, now=parse_now(args.now) if args.now else None)
    print(f"{tally.fanned_out} event(s) fanned out into {tally.created} delivery(ies) over "
          f"{', '.join(c.name for c in channels)}; {tally.sent} delivered, {tally.retrying} to retry, "
          f"{tally.deferred} waiting for their digest, {tally.given_up} given up")
    for error in tally.errors:
        print(f"  error: {error}")
    return 1 if tally.errors else 0


def cmd_alerts_log(args: argparse.Namespace) -> int:
    """The delivery log: deliveries (of an event, a channel, a target) with every attempt."""
    from portal.alerts.models import AlertEvent, Delivery, DeliveryAttempt

    with Instance.open() as instance, instance.session() as session:
        query = select(Delivery).options(selectinload(Delivery.event)).order_by(Delivery.id.desc()).limit(args.limit)
        if args.event:
            query = query.join(AlertEvent).where(AlertEvent.event_id == args.event)
        if args.channel:
            query = query.where(Delivery.channel == args.channel)
        if args.target:
            query = query.where(Delivery.target == args.target)
        if args.status:
            query = query.where(Delivery.status == args.status)
        deliveries = list(session.scalars(query))
        attempts: dict[int, list[DeliveryAttempt]] = {}
        for attempt in session.scalars(select(DeliveryAttempt).where(
                DeliveryAttempt.delivery_id.in_([d.id for d in deliveries])).order_by(DeliveryAttempt.id)):
            attempts.setdefault(attempt.delivery_id, []).append(attempt)
        rows: list[dict[str, Any]] = [{"delivery": d.id, "event": d.event.event_id, "kind": d.event.kind,
                 "dataset": f"{d.event.publisher}/{d.event.dataset_slug}", "channel": d.channel, "target": d.target,
                 "status": d.status, "attempts": d.attempts, "next_attempt_at": d.next_attempt_at.isoformat(),
                 "last_error": d.last_error,
                 "log": [{"at": a.attempted_at.isoformat(), "ok": a.ok, "status_code": a.status_code,
                          "duration_ms": a.duration_ms, "error": a.error, "manual": a.manual}
                         for a in attempts.get(d.id, [])]} for d in deliveries]
    if args.format == "json":
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        print(f"#{row['delivery']} {row['channel']} → {row['target']}: {row['status']} after {row['attempts']} "
              f"attempt(s) — {row['event']} {row['kind']} {row['dataset']}")
        for logged in row["log"]:
            answer = f"HTTP {logged['status_code']}" if logged["status_code"] else (logged["error"] or "")
            manual = " (manual)" if logged["manual"] else ""
            print(f"    {logged['at']}  {'ok' if logged['ok'] else 'failed'}  {answer}  "
                  f"{logged['duration_ms']} ms{manual}")
    if not rows:
        print("no deliveries")
    return 0


def cmd_alerts_resend(args: argparse.Namespace) -> int:
    """Send one delivery again now (logged as a manual attempt)."""
    from portal.alerts.channels import channels_for
    from portal.alerts.outbox import resend

    with Instance.open() as instance:
        outcome = resend(instance, args.delivery, channels_for(instance))
    print(f"delivery #{args.delivery}: " + ("delivered" if outcome.ok else f"failed — {outcome.error or outcome.status_code}"))
    return 0 if outcome.ok else 3


def cmd_confirm_current(args: argparse.Namespace) -> int:
    """Record that a dataset is still current (counts as an update) and record its freshness at once."""
    from portal.watch import confirm_current

    publisher, _, slug = args.dataset.partition("/")
    if not publisher or not slug:
        raise UsageError(f"name the dataset as PUBLISHER/DATASET, not {args.dataset!r}")
    with Instance.open() as instance:
        evaluation = confirm_current(instance, publisher, slug, by=args.by or "", note=args.note or "",
                                     now=parse_now(args.now))
        from portal.scorecard_graph import refresh_scorecards

        refresh_scorecards(instance, evaluation.table.now)
        for o in evaluation:
            if (o.publisher, o.dataset) == (publisher, slug):
                print(f"{publisher}/{slug} confirmed still current: now {o.result.status} — {o.result.reason}")
    return 0


def register(sub: Any) -> None:
    """Add `freshness`, `alerts …` and `confirm-current`."""
    p = sub.add_parser("freshness", help="evaluate freshness of every dataset (recording changes and alerts)")
    p.add_argument("--now", help="evaluate at this ISO 8601 instant instead of now (not recorded unless --record)")
    p.add_argument("--record", action="store_true", help="record an evaluation made with --now")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=cmd_freshness)

    alerts = sub.add_parser("alerts", help="alert events and their delivery").add_subparsers(
        dest="alerts_command", required=True)
    p = alerts.add_parser("list", help="the newest alert events")
    p.add_argument("--publisher")
    p.add_argument("--theme", help="EU data theme code (ENVI) or IRI")
    p.add_argument("--dataset", help="PUBLISHER/DATASET")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=cmd_alerts_list)
    p = alerts.add_parser("deliver", help="send pending alerts once (lodestar schedule does it continuously)")
    p.add_argument("--now", help=argparse.SUPPRESS)  # scenario tests move the clock
    p.set_defaults(func=cmd_alerts_deliver)
    p = alerts.add_parser("log", help="the delivery log: every delivery and attempt")
    p.add_argument("--event", help="an event id (evt_…)")
    p.add_argument("--channel", choices=("webhook", "email", "reminder"))
    p.add_argument("--target", help="an endpoint id, subscription id or address")
    p.add_argument("--status", choices=("pending", "delivered", "failed", "cancelled"))
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=cmd_alerts_log)
    p = alerts.add_parser("resend", help="send one delivery again now")
    p.add_argument("delivery", type=int, help="the delivery number shown by `alerts log`")
    p.set_defaults(func=cmd_alerts_resend)

    p = sub.add_parser("confirm-current", help="record that a dataset is still current (counts as an update)")
    p.add_argument("dataset", help="PUBLISHER/DATASET")
    p.add_argument("--by", help="who confirms (kept in the log)")
    p.add_argument("--note", help="why it is still current")
    p.add_argument("--now", help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_confirm_current)
