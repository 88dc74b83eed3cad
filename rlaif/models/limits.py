"""Per-model flow control: an in-flight limit that backs off after repeated 429s, and request and
token rate limits.

Both work with whichever event loop is running (``generate_sync`` starts a new one per call),
because they keep plain counters and create their waiting futures on the loop in use.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque


class AdaptiveLimiter:
    """At most ``limit`` calls in flight. ``limit`` starts at ``maximum``, halves after
    ``shrink_after`` rate-limited (429) answers in a row and climbs back by one after ``limit``
    successes in a row. A call abandoned client-side (a timeout) may still run server-side:
    :meth:`hold` keeps counting it for a while, so the limit stays true for the server."""

    def __init__(self, maximum: int, *, shrink_after: int = 2):
        if maximum < 1:
            raise ValueError("maximum concurrency must be at least 1")
        self.maximum = maximum
        self.limit = maximum
        self.in_flight = 0
        self.peak_in_flight = 0
        self.shrink_after = shrink_after
        self._rate_limited_streak = 0
        self._success_streak = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._held_until: list[float] = []

    @property
    def abandoned_in_flight(self) -> int:
        """Abandoned calls still counted as in flight (see :meth:`hold`)."""
        now = time.monotonic()
        self._held_until = [until for until in self._held_until if until > now]
        return len(self._held_until)

    def hold(self, seconds: float) -> None:
        """Count one more call in flight for ``seconds``: one abandoned client-side that the
        server may still be running (it takes a slot of its own; the retry takes another)."""
        if seconds > 0:
            self._held_until.append(time.monotonic() + seconds)

    async def acquire(self) -> None:
        """Wait for a free slot and take it."""
        while self.in_flight + self.abandoned_in_flight >= self.limit:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            wake_at = min(self._held_until, default=None)
            try:
                # A held slot frees itself when its time is up, with no release() to wake us.
                timeout = None if wake_at is None else max(0.0, wake_at - time.monotonic())
                await asyncio.wait([waiter], timeout=timeout)
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight + len(self._held_until))

    def release(self) -> None:
        """Give a slot back."""
        self.in_flight -= 1
        self._wake()

    async def __aenter__(self) -> AdaptiveLimiter:
        await self.acquire()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.release()

    def record_rate_limited(self) -> None:
        """A call was answered 429: after ``shrink_after`` in a row, halve the limit."""
        self._success_streak = 0
        self._rate_limited_streak += 1
        if self._rate_limited_streak >= self.shrink_after:
            self.limit = max(1, self.limit // 2)
            self._rate_limited_streak = 0

    def record_success(self) -> None:
        """A call succeeded: after ``limit`` in a row, allow one more in flight."""
        self._rate_limited_streak = 0
        if self.limit >= self.maximum:
            return
        self._success_streak += 1
        if self._success_streak >= self.limit:
            self.limit += 1
            self._success_streak = 0
            self._wake()

    def _wake(self) -> None:
        free = self.limit - self.in_flight - self.abandoned_in_flight
        while free > 0 and self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                free -= 1


class RateLimiter:
    """Spaces request starts ``60 / requests_per_minute`` seconds apart and, after calls that
    used many tokens, waits until ``tokens_per_minute`` allows more."""

    def __init__(
        self, requests_per_minute: float | None = None, tokens_per_minute: float | None = None
    ):
        self.requests_per_minute = requests_per_minute
        self.tokens_per_minute = tokens_per_minute
        self._next_start = 0.0
        self._tokens_free_at = 0.0

    @property
    def active(self) -> bool:
        """Whether any limit is set."""
        return bool(self.requests_per_minute or self.tokens_per_minute)

    async def wait(self) -> None:
        """Sleep until the next request may start, and reserve that start."""
        if not self.active:
            return
        now = time.monotonic()
        start = max(now, self._tokens_free_at)
        if self.requests_per_minute:
            start = max(start, self._next_start)
            self._next_start = start + 60.0 / self.requests_per_minute
        if start > now:
            await asyncio.sleep(start - now)

    def record_tokens(self, tokens: int) -> None:
        """Charge ``tokens`` against the token budget."""
        if self.tokens_per_minute and tokens > 0:
            now = time.monotonic()
            self._tokens_free_at = max(now, self._tokens_free_at) + tokens * 60.0 / (
                self.tokens_per_minute
            )
