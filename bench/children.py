"""Loopback servers for the benchmarks, each in a process of its own (so it takes no share of ours)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@contextmanager
def child_server(args: list[str], what: str) -> Iterator[str]:
    """Run `python -m ARGS` until the block ends; yields the first line it prints (its address).

    The child stops when its stdin closes; it is killed if it does not within 30 s.
    """
    process = subprocess.Popen([sys.executable, "-m", *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               cwd=REPO, text=True)
    assert process.stdin is not None and process.stdout is not None
    try:
        line = process.stdout.readline().strip()
        if not line:
            raise RuntimeError(f"{what} did not start")
        yield line
    finally:
        process.stdin.close()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
