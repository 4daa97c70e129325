"""The overall deadline of one check, enforced by a watchdog that closes its connections.

Socket timeouts bound each read, not a whole answer: a server that sends one byte a second
never trips them. So every check gets one `Deadline`; a timer fires when it passes and shuts
down every connection the check opened, which makes any blocked read return at once. Callers
also consult it between steps (`check`) and to size their timeouts (`remaining`).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time

from .errors import DeadlineExceeded


class Deadline:
    """One overall deadline for a check, enforced by a watchdog timer.

    Each connection's socket is registered through a `dup()` of it (TLS wrapping detaches the
    original socket object; a duplicate descriptor still refers to the same connection). When the
    timer fires, every registered connection is shut down, so any read blocked on it returns at
    once; the requests in flight then fail and are reported as `DeadlineExceeded`.
    """

    def __init__(self, seconds: float) -> None:
        self._ends_at = time.monotonic() + seconds
        self._lock = threading.Lock()
        self._watched: list[socket.socket] = []
        self._fired = False
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True
        self._timer.start()

    def remaining(self) -> float:
        return max(0.0, self._ends_at - time.monotonic())

    @property
    def expired(self) -> bool:
        return self._fired or time.monotonic() >= self._ends_at

    def check(self) -> None:
        if self.expired:
            raise DeadlineExceeded()

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            if self._fired:
                raise DeadlineExceeded()
            self._watched.append(sock.dup())

    def _fire(self) -> None:
        with self._lock:
            self._fired = True
            for sock in self._watched:
                with contextlib.suppress(OSError):  # the peer may have closed it already
                    sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._timer.cancel()
        with self._lock:
            for sock in self._watched:
                sock.close()
            self._watched.clear()
