"""Harvest runs: on record from their start with the process that runs them, and ended on record
however they end (an error, Ctrl-C, SIGTERM), or found abandoned when their process is gone."""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.db import HarvestRun, Source, utcnow
from portal.errors import PortalError, UsageError

if TYPE_CHECKING:
    from portal.instance import Instance

log = logging.getLogger(__name__)

#: Why a run whose process disappeared (SIGKILL, power cut, OOM killer) was ended.
ABANDONED = "interrupted: the harvesting process ended"


def this_process() -> tuple[int, str]:
    """The pid and host name recorded on the runs this process starts."""
    return os.getpid(), socket.gethostname()


def process_token(pid: int) -> str | None:
    """What tells this process from a later one given the same pid: the boot and its start tick.

    None where the system does not say (no ``/proc``), or when no such process exists.
    """
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip()
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()  # after the command name, which may hold spaces
    return f"{boot}:{fields[19]}" if len(fields) > 19 else None


def process_alive(pid: int, token: str | None = None) -> bool:
    """True when the process with this id on this host exists (and is the one `token` names)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, but belongs to someone else
        pass
    return token is None or process_token(pid) in (None, token)


def start_run(session: Session, source: Source, now: datetime) -> HarvestRun:
    """Put a run of `source` on record as running in this process (the caller commits)."""
    pid, host = this_process()
    run = HarvestRun(source=source, started_at=now, status="running", pid=pid, hostname=host,
                     process_token=process_token(pid))
    session.add(run)
    return run


def failure_reason(exc: BaseException) -> str:
    """What a run that ended with `exc` records as its reason."""
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted (Ctrl-C)"
    if isinstance(exc, SystemExit):
        if exc.code == 128 + signal.SIGTERM:
            return "terminated (SIGTERM)"
        return f"terminated (exit {exc.code})" if exc.code not in (None, 0) else "terminated"
    if isinstance(exc, PortalError):
        return str(exc)
    return f"unexpected error {type(exc).__name__}: {exc}"


def fail_run(instance: Instance, run_id: int, reason: str) -> None:
    """End a run as failed with its reason, in a transaction of its own."""
    with instance.session() as session:
        run = session.get(HarvestRun, run_id)
        if run is not None and run.status == "running":
            run.status, run.message, run.finished_at = "failed", reason[:4000], utcnow()


@contextmanager
def failing_run(instance: Instance, run_id: int) -> Iterator[None]:
    """Inside the block, any failure (an error, Ctrl-C, SIGTERM made `SystemExit`) ends the run
    as failed with its reason, then goes on as before."""
    try:
        yield
    except BaseException as exc:
        try:
            fail_run(instance, run_id, failure_reason(exc))
        except PortalError as recording:  # keep the original failure; say why it is not on record
            log.error("run %d failed (%s) and could not be recorded: %s", run_id, exc, recording)
        raise


def fail_abandoned_runs(session: Session, now: datetime | None = None) -> int:
    """Mark failed the runs left `running` by a process of this host that no longer exists.

    A pid given to a later process (after a reboot, say) does not keep a run alive. Runs from
    before processes were recorded (no pid) cannot be running any more either. Runs of other
    hosts are left alone: their processes cannot be seen from here. Returns how many ended.
    """
    _, host = this_process()
    ended = 0
    for run in session.scalars(select(HarvestRun).where(HarvestRun.status == "running")):
        if run.pid is None or (run.hostname == host and not process_alive(run.pid, run.process_token)):
            run.status, run.finished_at = "failed", now or utcnow()
            run.message = ABANDONED
            ended += 1
            log.warning("harvest run %d (pid %s) was abandoned: marked failed", run.id, run.pid)
    return ended


def running_elsewhere(session: Session, source_id: int) -> HarvestRun | None:
    """A run of this source still running in a live process of this host (a harvest under way).

    Runs of other hosts do not count: whether their process still lives cannot be seen from
    here, and a source must not stay blocked by a machine that died.
    """
    _, host = this_process()
    for run in session.scalars(select(HarvestRun).where(
            HarvestRun.source_id == source_id, HarvestRun.status == "running")):
        if run.pid is not None and run.hostname == host and process_alive(run.pid, run.process_token):
            return run
    return None


@contextmanager
def source_lock(instance: Instance, source_id: int, name: str) -> Iterator[None]:
    """Hold the source's harvest lock for the block: two runs of one source never overlap.

    A lock file per source in the instance folder, held with `flock` by the harvesting process
    (the kernel drops it when the process dies, so a crash never leaves a source blocked).
    """
    folder = instance.path / "locks"
    folder.mkdir(exist_ok=True)
    fd = os.open(folder / f"source-{source_id}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise UsageError(f"source {name!r} is being harvested right now by another process; "
                         "wait for that harvest to finish") from None
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
