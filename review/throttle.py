"""How fast passwords can be tried: per client address, per account, per known device.

Three budgets, each counted *before* the password is checked, with the `limits` library's
atomic hit (an in-memory counter under a lock, or Redis when several workers share one
`storage_uri`), so parallel requests cannot all slip through between a check and a record:

* per client address (Flask-Limiter's decorator on the login form, `LOGIN_ADDRESS_LIMITS`);
* per account, for clients the account never logged in from (`ACCOUNT_LIMITS`): tiers
  that slow guessing to a few dozen tries a day;
* per known device (`DEVICE_LIMITS`): a browser that logged in to the account before
  carries a signed device cookie and spends its own budget, so a stranger who exhausts
  the account's budget does not lock its owner out (OWASP's device-cookie defence).

Keys are bounded: an account key exists only for a real account; unknown names share
4,096 buckets. Memory storage expires keys when their window ends.
"""

from __future__ import annotations

import hashlib
import secrets
import time

from itsdangerous import BadData, URLSafeTimedSerializer
from limits import RateLimitItem, parse_many
from limits.strategies import RateLimiter

__all__ = ["ACCOUNT_LIMITS", "DEVICE_COOKIE", "DEVICE_LIMITS", "LOGIN_ADDRESS_LIMITS", "LoginThrottle", "account_key"]

LOGIN_ADDRESS_LIMITS = "10 per minute;100 per hour"
ACCOUNT_LIMITS = "5 per 5 minutes;20 per hour;50 per day"
DEVICE_LIMITS = "10 per 5 minutes;100 per day"
DEVICE_COOKIE = "coprod_device"
DEVICE_DAYS = 90


class LoginThrottle:
    def __init__(self, limiter: RateLimiter, secret_key: str, prefix: str = "coprod"):
        self.limiter = limiter
        self.prefix = prefix
        self.account_limits = parse_many(ACCOUNT_LIMITS)
        self.device_limits = parse_many(DEVICE_LIMITS)
        self.signer = URLSafeTimedSerializer(secret_key, salt="coprod-device")

    def device_cookie(self, account: str) -> str:
        return self.signer.dumps({"account": account, "device": secrets.token_urlsafe(12)})

    def device_of(self, account: str, cookie: str | None) -> str | None:
        """The device id in a valid cookie of this account, else None."""
        if not cookie or len(cookie) > 400:
            return None
        try:
            data = self.signer.loads(cookie, max_age=DEVICE_DAYS * 86400)
        except BadData:
            return None
        if not isinstance(data, dict) or data.get("account") != account:
            return None
        return str(data.get("device", ""))[:40] or None

    def admit(self, account_key: str, device: str | None) -> float | None:
        """None when this try may go ahead (and it is counted), else seconds to wait."""
        limits, key = (self.device_limits, f"device:{device}") if device else (self.account_limits, f"account:{account_key}")
        for item in limits:  # shortest window first: a try it refuses is not counted in the longer ones
            if not self.limiter.hit(item, self.prefix, key):
                return self._wait(item, key)
        return None

    def _wait(self, item: RateLimitItem, key: str) -> float:
        reset, _ = self.limiter.get_window_stats(item, self.prefix, key)
        return max(1.0, reset - time.time())


def account_key(name: str, exists: bool) -> str:
    """The account itself, or one of 4,096 shared buckets for a name that is no account."""
    return name if exists else "unknown-" + hashlib.sha256(name.encode("utf-8", "replace")).hexdigest()[:3]
