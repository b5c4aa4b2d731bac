"""The service's one clock (epoch seconds), so every expiry is judged against the same time, and tests can move it."""

import time


def now() -> int:
    return int(time.time())
