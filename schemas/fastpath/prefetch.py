"""Reading ahead: the next chunks are parsed (pyarrow, outside the GIL) while the current one is
checked (polars, outside the GIL), so reading and checking share the machine's cores."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")

#: Chunks read ahead at most: memory stays bounded at a few blocks.
DEPTH = 2

_DONE = object()


class _Failure:
    """An exception raised by the reading thread, handed to the consumer."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def read_ahead(items: Iterator[T], depth: int = DEPTH) -> Iterator[T]:
    """Yield what `items` yields, produced by a thread up to `depth` items ahead.

    An exception in the producer is raised here, where the consumer would have met it; a
    consumer that stops early stops the producer too.
    """
    box: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        box.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            box.put(_DONE)
        except BaseException as exc:  # handed over, raised in the consumer
            box.put(_Failure(exc))

    thread = threading.Thread(target=produce, name="fastpath-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            item = box.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.exc
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting to put
            try:
                box.get_nowait()
            except queue.Empty:
                thread.join(timeout=0.1)
