"""The service's one clock (epoch seconds), so every expiry is judged against the same time, and tests can move it."""

import time


def now() -> int:
    return int(time.time())


def now_ms() -> int:
    """The same clock in milliseconds, for what a whole second is too coarse for (the rolling one-a-second limit)."""
    return int(time.time() * 1000)
