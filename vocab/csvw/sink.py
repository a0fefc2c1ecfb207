"""Where the columnar converter writes: an ordered stream of text and buffers, and its blank node counter."""

from __future__ import annotations

import queue
import threading
from typing import Any, BinaryIO

from vocab.csvw.conversion import Terms

QUEUED_BUFFERS = 6  # buffers waiting to be written (half a chunk's columns)


class Counter(Terms):
    """Blank node labels, numbered like the row path's, that can also be taken in bulk."""

    def __init__(self) -> None:
        super().__init__()
        self.next = 1

    def blank(self) -> str:
        """A fresh blank node."""
        label = f"_:b{self.next}"
        self.next += 1
        return label


class Sink:
    """The output stream: text from the row path and buffers from the columnar path, in order.

    Buffers are written by a background thread (file writes release the GIL), so that writing one
    chunk overlaps computing the next; the queue is short, so memory stays bounded.
    """

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.pending: list[str] = []
        self.queue: queue.Queue[Any] = queue.Queue(maxsize=QUEUED_BUFFERS)
        self.failure: BaseException | None = None
        self.thread = threading.Thread(target=self._drain, name="csvw-writer", daemon=True)
        self.thread.start()

    def _drain(self) -> None:
        while True:
            item = self.queue.get()
            if item is None:
                return
            if self.failure is None:
                try:
                    self.out.write(item[0] if isinstance(item, tuple) else item)
                except BaseException as exc:  # handed to the converting thread in close()
                    self.failure = exc

    def text(self, value: str) -> None:
        """Write N-Triples text."""
        self.pending.append(value)
        if len(self.pending) >= 4096:
            self.flush()

    def raw(self, data: Any, keep: Any = None) -> None:
        """Write UTF-8 bytes (anything with the buffer protocol; `keep` is held until written)."""
        self.flush()
        self._put((data, keep))

    def _put(self, item: Any) -> None:
        if self.failure is not None:
            raise self.failure
        self.queue.put(item)

    def flush(self) -> None:
        """Hand over what the text buffer holds."""
        if self.pending:
            self._put("".join(self.pending).encode("utf-8"))
            self.pending.clear()

    def close(self) -> None:
        """Write everything, stop the writer thread; the first write error is raised here."""
        try:
            self.flush()
        finally:
            self.queue.put(None)
            self.thread.join()
        if self.failure is not None:
            raise self.failure
