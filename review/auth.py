"""Accounts of the review app: scrypt password hashes, roles, a login rate limit."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import defaultdict, deque

from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler.core.errors import BadInput
from storage.models import User

__all__ = ["ROLES", "LoginLimiter", "add_user", "check_password", "hash_password", "verify_user"]

ROLES = ("admin", "analyst", "viewer")
# scrypt with n=2**15 takes about 0.1 s on this kind of machine: slow for a guesser.
_N, _R, _P = 2**15, 8, 1


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, maxmem=64 * 1024 * 1024)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    candidate = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), maxmem=64 * 1024 * 1024)
    return hmac.compare_digest(candidate.hex(), digest)


def add_user(session: Session, name: str, role: str, password: str) -> User:
    if role not in ROLES:
        raise BadInput(f"unknown role {role!r}; expected one of: {', '.join(ROLES)}")
    if not name or len(name) > 64 or not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise BadInput(f"a user name is letters, digits, '.', '_' or '-' (got {name!r})")
    if len(password) < 8:
        raise BadInput("a password needs at least 8 characters")
    if session.scalar(select(User).where(User.name == name)) is not None:
        raise BadInput(f"user {name!r} exists already")
    user = User(name=name, role=role, password_hash=hash_password(password))
    session.add(user)
    return user


def verify_user(session: Session, name: str, password: str) -> User | None:
    user = session.scalar(select(User).where(User.name == name, User.active.is_(True)))
    if user is None:
        hash_password(password)  # the same time for an unknown name as for a wrong password
        return None
    return user if check_password(password, user.password_hash) else None


class LoginLimiter:
    """At most `attempts` failed logins per client address and per user name in `window` seconds."""

    def __init__(self, attempts: int = 5, window: float = 300.0):
        self.attempts = attempts
        self.window = window
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def blocked(self, *keys: str) -> bool:
        now = time.monotonic()
        with self._lock:
            for key in keys:
                failures = self._failures[key]
                while failures and now - failures[0] > self.window:
                    failures.popleft()
                if len(failures) >= self.attempts:
                    return True
        return False

    def failed(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in keys:
                self._failures[key].append(now)
