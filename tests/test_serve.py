"""`coprod serve` behind gunicorn: an analyst logged in stays logged in whichever worker
process answers, and after the server is restarted (the session key is kept, not random)."""

from __future__ import annotations

import http.client
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from urllib.parse import urlencode

import pytest
import redis
from sqlalchemy.orm import Session

from review.auth import add_user
from storage.db import open_catalogue
from tests.conftest import DATABASE_ENV, DEMO_SEEDS, TEST_REDIS_URL

pytestmark = pytest.mark.e2e
PASSWORD = "serve test password"
ACCESS = re.compile(r'pid=<?(\d+)>? .*"GET /queue HTTP/1\.[01]" (\d{3}) ')
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Message
    text: str

    def session_cookie(self) -> str:
        """The `session=...` pair of the Set-Cookie headers (the login also sets a device cookie)."""
        return next(value.split(";")[0] for value in self.headers.get_all("Set-Cookie", []) if value.startswith("session="))


def request(port: int, method: str, path: str, cookie: str | None = None, body: dict | None = None) -> Answer:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Connection": "close"} | ({"Cookie": cookie} if cookie else {})
    data = None
    if body is not None:
        data = urlencode(body)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    connection.request(method, path, body=data, headers=headers)
    response = connection.getresponse()
    answer = Answer(response.status, response.headers, response.read().decode("utf-8", "replace"))
    connection.close()
    return answer


def log_in(port: int, name: str, password: str) -> Answer:
    """The login form's session cookie and CSRF token, then the form posted with them."""
    form = request(port, "GET", "/login")
    token = TOKEN.search(form.text)[1]
    return request(port, "POST", "/login", form.session_cookie(), {"name": name, "password": password, "next": "/queue", "csrf_token": token})


class Server:
    def __init__(self, database: str, state: Path, log: Path, env: dict[str, str] | None = None):
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("COPROD_")} | DATABASE_ENV.get(database, {}) | {"COPROD_STATE_DIR": str(state)} | (env or {})
        self.log = log.open("a")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "crawler.app.cli", "serve", "--workers", "2", "--port", str(self.port), "--db", database, "--seeds", str(DEMO_SEEDS)],
            stdout=self.log, stderr=self.log, env=env, start_new_session=True,
        )
        for _ in range(300):
            try:
                request(self.port, "GET", "/login")
                return
            except OSError:
                assert self.process.poll() is None, log.read_text()
                time.sleep(0.1)
        raise AssertionError("the server did not answer")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=60)
        self.log.close()


def test_a_login_holds_across_workers_and_a_restart(catalogue_url: str, tmp_path: Path) -> None:
    engine = open_catalogue(catalogue_url)
    with Session(engine) as session, session.begin():
        add_user(session, "ana", "analyst", PASSWORD)
    engine.dispose()
    state, log = tmp_path / "state", tmp_path / "access.log"
    server = Server(catalogue_url, state, log)
    try:
        assert request(server.port, "GET", "/queue").status == 303  # not logged in: to the login page
        login = log_in(server.port, "ana", PASSWORD)
        assert login.status == 303
        cookie = login.session_cookie()
        answered: set[int] = set()
        with ThreadPoolExecutor(max_workers=6) as pool:
            for _ in range(20):  # bursts of requests until both workers answered some
                statuses = list(pool.map(lambda _: request(server.port, "GET", "/queue", cookie).status, range(6)))
                assert statuses == [200] * 6
                time.sleep(0.2)  # the access log is written after the answer
                answered = {int(pid) for pid, status in ACCESS.findall(log.read_text()) if status == "200"}
                if len(answered) >= 2:
                    break
        assert len(answered) == 2, "every request was answered by one worker"
        # Without a Redis for the study, each worker counts login tries on its own, and says so.
        assert "each of the 2 workers counts login tries in its own memory" in log.read_text()
        key_file = state / "secret_key"
        assert key_file.stat().st_mode & 0o777 == 0o600
        key = key_file.read_text()
    finally:
        server.stop()
    again = Server(catalogue_url, state, log)
    try:
        assert request(again.port, "GET", "/queue", cookie).status == 200  # still logged in
        assert request(again.port, "GET", "/queue").status == 303
    finally:
        again.stop()
    assert key_file.read_text() == key


LOGIN_POST = re.compile(r'pid=<?(\d+)>? .*"POST /login HTTP/1\.[01]" (\d{3}) ')


@pytest.fixture
def study_redis() -> Iterator[tuple[str, str]]:
    """The study's Redis as a team crawl names it (crawl.frontier), with a prefix of this test's own."""
    client = redis.Redis.from_url(TEST_REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as error:
        pytest.skip(f"no Redis at {TEST_REDIS_URL} ({type(error).__name__}); .ci/run starts one")
    prefix = f"coprod-test-{secrets.token_hex(4)}"
    try:
        yield f"{TEST_REDIS_URL}?prefix={prefix}", prefix
    finally:
        for key in client.scan_iter(f"*{prefix}*"):
            client.delete(key)
        client.close()


def test_several_workers_count_login_tries_once_in_the_study_redis(catalogue_url: str, tmp_path: Path, study_redis: tuple[str, str]) -> None:
    frontier, prefix = study_redis
    engine = open_catalogue(catalogue_url)
    with Session(engine) as session, session.begin():
        add_user(session, "bo", "analyst", PASSWORD)
    engine.dispose()
    log = tmp_path / "access.log"
    server = Server(catalogue_url, tmp_path / "state", log, env={"COPROD_FRONTIER": frontier})
    statuses: list[int] = []
    answered: set[int] = set()
    try:
        with ThreadPoolExecutor(max_workers=6) as pool:
            for _ in range(8):  # bursts of wrong passwords until both workers answered some
                statuses += pool.map(lambda _: log_in(server.port, "bo", "wrong horse battery").status, range(6))
                time.sleep(0.2)  # the access log is written after the answer
                answered = {int(pid) for pid, _ in LOGIN_POST.findall(log.read_text())}
                if len(answered) >= 2:
                    break
    finally:
        server.stop()
    assert len(answered) == 2, "every login was answered by one worker"
    # Counted apart, each worker would let its own 5 tries reach the password check.
    assert statuses.count(401) == 5 and statuses.count(429) == len(statuses) - 5, statuses
    text = log.read_text()
    assert f"login tries counted in {TEST_REDIS_URL}" in text and "in its own memory" not in text
    client = redis.Redis.from_url(TEST_REDIS_URL)
    assert list(client.scan_iter(f"*{prefix}*"))
    client.close()
