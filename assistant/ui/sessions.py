"""Conversations of `/chat` API callers, by Gradio session, in memory only."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

from assistant.answering.conversation import Conversation


class Sessions:
    """Conversations of `/chat` API callers by Gradio session, in memory only.

    At most `cap` sessions and `turns` turns each; a session unused for `ttl` seconds is
    dropped. Nothing is written anywhere.
    """

    def __init__(self, cap: int = 1000, ttl: float = 3600.0, turns: int = 20) -> None:
        self.cap, self.ttl, self.turns = cap, ttl, turns
        self._items: OrderedDict[str, tuple[float, Conversation]] = OrderedDict()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sweeper: threading.Thread | None = None

    def get(self, key: str, new: bool = False) -> Conversation:
        """The session's conversation (a fresh one if `new`, unknown or expired)."""
        now = time.monotonic()
        with self._lock:
            used, old = self._items.pop(key, (0.0, None))  # re-inserted below: most recent last
            if old is not None and now - used > self.ttl:
                old = None
            while self._items and (len(self._items) >= self.cap
                                   or now - next(iter(self._items.values()))[0] > self.ttl):
                self._items.popitem(last=False)  # least recently used first
            # a caller continuing a session this server no longer holds has lost its context
            conv = old if old is not None and not new else Conversation(lost=not new)
            del conv.turns[:-self.turns]
            self._items[key] = (now, conv)
            return conv

    def sweep(self) -> None:
        """Drop every session unused for longer than `ttl`."""
        now = time.monotonic()
        with self._lock:
            while self._items and now - next(iter(self._items.values()))[0] > self.ttl:
                self._items.popitem(last=False)

    def start_sweeping(self, every: float = 60.0) -> None:
        """Sweep on a timer, so idle conversations go even when no later call arrives."""
        def loop() -> None:
            while not self._stop.wait(every):
                self.sweep()

        if self._sweeper is None:
            self._sweeper = threading.Thread(target=loop, name="stagecode-sessions", daemon=True)
            self._sweeper.start()

    def __len__(self) -> int:
        return len(self._items)
