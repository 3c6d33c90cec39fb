"""Accounts of the review app: scrypt password hashes, roles, a password policy, account
changes that end open sessions, and the admin check of the CLI's unredacted exports."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading

from sqlalchemy import select
from sqlalchemy.orm import Session
from zxcvbn import zxcvbn

from crawler.core.errors import BadInput
from storage import audit
from storage.models import User

__all__ = [
    "MIN_PASSWORD_CHARS",
    "ROLES",
    "Busy",
    "add_user",
    "authenticate_admin",
    "change_user",
    "check_password",
    "check_password_policy",
    "hash_password",
    "verify_user",
]

ROLES = ("admin", "analyst", "viewer")
MIN_PASSWORD_CHARS = 12
# zxcvbn's score: 3 is "safely unguessable" (about 10^8-10^10 guesses); it matches a
# password against its lists of common passwords, words and names, keyboard walks,
# repeats, sequences and dates, with the account name as one more word to avoid.
MIN_PASSWORD_SCORE = 3
# scrypt with n=2**15, r=8 takes about 0.1 s and 32 MB: slow for a guesser, and a burst of
# parallel logins could exhaust memory, so only a few hashes run at once per process.
_N, _R, _P = 2**15, 8, 1
_HASHING = threading.BoundedSemaphore(2)
_HASH_WAIT = 30.0


class Busy(RuntimeError):
    """Too many password checks are running; the caller answers 503."""


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, _N, _R, _P)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    if not _HASHING.acquire(timeout=_HASH_WAIT):
        raise Busy("too many logins at once; try again in a moment")
    try:
        return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=64 * 1024 * 1024)
    finally:
        _HASHING.release()


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    return hmac.compare_digest(_scrypt(password, bytes.fromhex(salt), int(n), int(r), int(p)).hex(), digest)


def check_password_policy(name: str, password: str) -> None:
    """At least `MIN_PASSWORD_CHARS` characters and not guessable (zxcvbn); raises BadInput."""
    if len(password) < MIN_PASSWORD_CHARS:
        raise BadInput(f"a password needs at least {MIN_PASSWORD_CHARS} characters")
    verdict = zxcvbn(password[:200], user_inputs=[name, "coprod"])
    if verdict["score"] < MIN_PASSWORD_SCORE:
        why = verdict["feedback"]["warning"] or "it is too easy to guess"
        raise BadInput(f"that password is too weak: {why.rstrip('.')}; try a few unrelated words")


def _check_name(name: str) -> None:
    if not name or len(name) > 64 or not name.replace("-", "").replace("_", "").replace(".", "").isalnum() or not name.isascii():
        raise BadInput(f"a user name is ASCII letters, digits, '.', '_' or '-' (got {name!r})")


def add_user(session: Session, name: str, role: str, password: str, by: str | None = None) -> User:
    if role not in ROLES:
        raise BadInput(f"unknown role {role!r}; expected one of: {', '.join(ROLES)}")
    _check_name(name)
    check_password_policy(name, password)
    if session.scalar(select(User).where(User.name == name)) is not None:
        raise BadInput(f"user {name!r} exists already")
    user = User(name=name, role=role, password_hash=hash_password(password))
    session.add(user)
    audit.record(session, "user_added", by, None, account=name, role=role)
    return user


def change_user(
    session: Session, name: str, *, by: str | None, role: str | None = None, active: bool | None = None, password: str | None = None
) -> User:
    """Change an account's role, activity or password; each change ends its open sessions."""
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise BadInput(f"no user {name!r}")
    changes: dict[str, object] = {}
    if role is not None and role != user.role:
        if role not in ROLES:
            raise BadInput(f"unknown role {role!r}; expected one of: {', '.join(ROLES)}")
        changes["role"] = [user.role, role]
        user.role = role
    if active is not None and active != user.active:
        changes["active"] = [user.active, active]
        user.active = active
    if password is not None:
        check_password_policy(name, password)
        user.password_hash = hash_password(password)
        changes["password"] = "changed"
    if changes:
        user.session_version += 1
        audit.record(session, "user_changed", by, None, account=name, **changes)
    return user


def verify_user(session: Session, name: str, password: str) -> User | None:
    user = session.scalar(select(User).where(User.name == name, User.active.is_(True)))
    if user is None:
        hash_password(password)  # the same time for an unknown name as for a wrong password
        return None
    return user if check_password(password, user.password_hash) else None


def authenticate_admin(session: Session, name: str | None, password: str | None, what: str) -> User:
    """The active admin account `name`, when `password` is its password; else BadInput
    (and the refusal is audited by the caller's transaction)."""
    user = verify_user(session, name, password) if name and password else None
    if user is None or user.role != "admin":
        audit.record(session, "export_refused", name, None, what=what, reason="not an authenticated admin")
        raise BadInput(
            f"{what} needs an admin: give --user NAME of an active admin account and its password "
            "(asked for on a terminal, or in $COPROD_ADMIN_PASSWORD)"
        )
    return user
