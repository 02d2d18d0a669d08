"""Login throttling: repeated *failed* logins per username and per client address get 429.

A small fixed-window counter in Django's cache rather than a DRF throttle: DRF's throttles
count every request (successful logins too) and keep a list of timestamps that is read and
rewritten non-atomically. Here each failure is one atomic `incr` on a key that expires with its
window, which is shared by every server process when `CACHE_URL` points at Redis. Once either
counter of the current window reaches the limit (`LOGIN_THROTTLE_RATE`, e.g. `10/min`), login
attempts for that username or from that address are refused without checking the password
until the window ends; `Retry-After` says how many seconds that is.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time

from django.conf import settings
from django.core.cache import cache

from agents.usernames import fold_username
from voipbin_admin.cache_errors import CACHE_UNREACHABLE
from voipbin_admin.errors import ResourceExhausted, Unavailable

logger = logging.getLogger(__name__)

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class LoginThrottled(ResourceExhausted):
    def __init__(self, retry_after: int):
        super().__init__(
            "TOO_MANY_LOGIN_FAILURES",
            f"Too many failed logins. Try again in {retry_after} seconds.",
        )
        self.retry_after = retry_after


def parse_rate(rate: str) -> tuple[int, int]:
    """`10/min` -> (10, 60): how many failures per how many seconds."""
    count, _, period = rate.partition("/")
    return int(count), _PERIODS[period.strip()[:1].lower()]


def _keys(request, username: object) -> list[str]:
    _, period = parse_rate(settings.LOGIN_THROTTLE_RATE)
    window = int(time.time() // period)
    keys = [f"login-failures:address:{request.META.get('REMOTE_ADDR', '')}:{window}"]
    if isinstance(username, str):
        # The folded key of the username (agents/usernames.py): every spelling that signs in to
        # one account counts against that account.
        digest = hashlib.sha256(fold_username(username).encode("utf-8", "replace")).hexdigest()
        keys.append(f"login-failures:username:{digest}:{window}")
    return keys


class SignInUnavailable(Unavailable):
    def __init__(self):
        super().__init__(
            "SIGN_IN_UNAVAILABLE",
            f"Sign-in is unavailable for a moment. Try again in {UNAVAILABLE_RETRY_AFTER} seconds.",
            retry_after=UNAVAILABLE_RETRY_AFTER,
        )


#: Seconds a client is asked to wait while the cache that holds the counters is unreachable.
UNAVAILABLE_RETRY_AFTER = 5


def check_login_allowed(request, username: object) -> None:
    """Raise LoginThrottled when this username or address failed too often in this window.

    Without its counters the limit cannot be kept, so a cache outage refuses sign-in
    (SignInUnavailable, 503) rather than letting guesses through; it passes as soon as the
    cache answers again.
    """
    limit, period = parse_rate(settings.LOGIN_THROTTLE_RATE)
    try:
        counts = cache.get_many(_keys(request, username))
    except CACHE_UNREACHABLE as exc:
        logger.warning("Sign-in refused: the login throttle's cache is unreachable (%s)", exc)
        raise SignInUnavailable from exc
    if any(count >= limit for count in counts.values()):
        retry_after = max(1, math.ceil(period - time.time() % period))
        raise LoginThrottled(retry_after)


def record_login_failure(request, username: object) -> None:
    _, period = parse_rate(settings.LOGIN_THROTTLE_RATE)
    try:
        for key in _keys(request, username):
            cache.add(key, 0, timeout=period + 1)
            try:
                cache.incr(key)
            except ValueError:  # the window ended between add() and incr()
                cache.set(key, 1, timeout=period + 1)
    except CACHE_UNREACHABLE as exc:
        logger.warning("A failed sign-in was not counted: the cache is unreachable (%s)", exc)
        raise SignInUnavailable from exc
