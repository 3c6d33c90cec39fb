"""The eleven security findings of issue 14, each as the attack that was reproduced, now failing.

1 cards failing Luhn kept whole · 2 the login limit beaten by parallel requests · 3 sessions
that outlive logout, deactivation and demotion · 4 anyone locking any account · 5 CSV
formula injection · 6 open redirect · 7 no CSRF on the login, 500 on a non-ASCII token ·
8 weak passwords · 9 unredacted exports by name alone, world-readable files · 10 no warning
beyond loopback, 500s on malformed parameters · 11 a decision log the database lets change.
"""

from __future__ import annotations

import contextlib
import csv
import http.client
import io
import json
import re
import stat
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from crawler.core.config import load_config
from crawler.core.errors import BadInput
from review.app import create_app, review_config
from review.auth import add_user, change_user, check_password_policy
from review.throttle import account_key
from storage.db import open_catalogue
from storage.models import AuditEvent, Candidate, Decision, DiscoveredSource, Page
from tests.conftest import DEMO_SEEDS, PASSWORD, catalogue_with_users, opened_app, run_coprod

USERS = {"ada": "admin", "ana": "analyst", "bo": "analyst", "vic": "viewer"}
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="module")
def catalogue(demo_crawl, databases) -> str:
    return catalogue_with_users(demo_crawl.url, databases, USERS)


def make_app(url: str, **changes):
    config = replace(review_config(load_config(DEMO_SEEDS), url, "security test key"), **({"retrain_every": 0} | changes))
    app = opened_app(create_app(config))
    app.config["TESTING"] = True
    return app


def token_of(html: str) -> str:
    return TOKEN.search(html)[1]


def login(client, name: str, password: str = PASSWORD, **extra):
    page = client.get("/login", **extra)
    return client.post("/login", data={"name": name, "password": password, "csrf_token": token_of(page.get_data(as_text=True))}, **extra)


def audit_rows(url: str, action: str, user: str | None = None) -> list[AuditEvent]:
    engine = open_catalogue(url, create=False)
    with Session(engine) as session:
        query = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        rows = list(session.scalars(query.where(AuditEvent.user == user) if user else query))
    engine.dispose()
    return rows


# --- 1: a card number that fails the Luhn check reaches no text and no export ------------


def test_1_a_card_failing_luhn_is_masked_in_the_catalogue_and_every_default_export(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'c.sqlite'}"
    page = {"url": "https://x.test/zbir", "title": "Збір 4149 6090 1234 5678", "text": "Волонтери Дніпра збирають на генератори. Картка 4149 6090 1234 5678, дякуємо!"}
    source = tmp_path / "a.jsonl"
    source.write_text(json.dumps(page, ensure_ascii=False) + "\n", encoding="utf-8")
    assert run_coprod("import", str(source), "--seeds", str(DEMO_SEEDS), "--db", db).returncode == 0
    engine = open_catalogue(db, create=False)
    with Session(engine) as session:
        stored = session.scalar(select(Page))
        assert "4149 **** **** 5678" in stored.text and "6090" not in stored.text + (stored.title or "")
    engine.dispose()
    for what in ("pages", "candidates"):
        out = tmp_path / f"{what}.csv"
        assert run_coprod("export", "--what", what, "--db", db, "--seeds", str(DEMO_SEEDS), "--out", str(out)).returncode == 0
        assert "6090" not in out.read_text(encoding="utf-8")


# --- 2: parallel wrong passwords against a real server process ---------------------------


@dataclass
class Served:
    url: str
    process: subprocess.Popen

    def connection(self) -> http.client.HTTPConnection:
        host, port = self.url.removeprefix("http://").split(":")
        return http.client.HTTPConnection(host, int(port), timeout=60)


@contextlib.contextmanager
def waitress(url: str, *args: str) -> Iterator[Served]:
    """The review app under waitress in its own process, on a free loopback port."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.wsgi_server", "--db", url, "--seeds", str(DEMO_SEEDS), *args],
        stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[1],
    )
    assert process.stdout is not None
    try:
        line = process.stdout.readline().strip()
        assert line.startswith("serving http://127.0.0.1:"), line
        yield Served(line.removeprefix("serving "), process)
    finally:
        process.terminate()
        process.wait(timeout=20)
        process.stdout.close()


def _login_form(served: Served) -> tuple[str, str]:
    """A fresh client's session cookie and CSRF token from the login page."""
    connection = served.connection()
    connection.request("GET", "/login")
    answer = connection.getresponse()
    body = answer.read().decode()
    cookie = answer.getheader("Set-Cookie").split(";")[0]
    connection.close()
    return cookie, token_of(body)


def _post_login(served: Served, cookie: str, token: str, name: str, password: str) -> int:
    body = f"name={name}&password={password.replace(' ', '+')}&csrf_token={token}"
    connection = served.connection()
    connection.request("POST", "/login", body=body, headers={"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"})
    status = connection.getresponse().status
    connection.close()
    return status


@pytest.mark.e2e
def test_2_forty_parallel_wrong_passwords_get_no_more_tries_than_the_limit(catalogue: str, databases) -> None:
    url = databases.new(template=catalogue)
    with waitress(url, "--threads", "40") as served:
        forms = [_login_form(served) for _ in range(40)]
        barrier = threading.Barrier(len(forms))
        statuses: list[int] = []

        def attempt(cookie: str, token: str) -> None:
            barrier.wait()
            statuses.append(_post_login(served, cookie, token, "ada", "wrong horse battery"))

        threads = [threading.Thread(target=attempt, args=form) for form in forms]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    # Tries are counted before any password is checked, atomically: exactly the account's
    # budget for an unknown device (5 in 5 minutes) reached the password check.
    assert len(statuses) == 40 and statuses.count(401) == 5 and statuses.count(429) == 35, sorted(statuses)
    assert len(audit_rows(url, "login_failed", "ada")) == 5
    assert len(audit_rows(url, "login_throttled", "ada")) + 40 - 10 >= 35  # the rest: per account, or per address


def test_2_the_throttle_keys_are_bounded_and_shared_through_redis(catalogue: str) -> None:
    # Unknown names share 4,096 buckets: a flood of made-up names cannot grow the table.
    assert len({account_key(f"nobody-{i}", exists=False) for i in range(20_000)}) <= 4096
    redis = pytest.importorskip("redis")
    client = redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis server on 127.0.0.1:6379 (.ci/run starts one)")
    prefix = f"coprod-test-{uuid.uuid4().hex[:8]}"
    try:
        # Two workers with one storage URI: the tries made through one count in the other.
        workers = [make_app(catalogue, limits_storage="redis://127.0.0.1:6379/0", limits_prefix=prefix).test_client() for _ in range(2)]
        for attempt in range(5):
            assert login(workers[attempt % 2], "bo", "wrong horse battery").status_code == 401
        assert login(workers[1], "bo", PASSWORD).status_code == 429
        assert client.keys(f"*{prefix}*")
    finally:
        for key in client.scan_iter(f"*{prefix}*"):
            client.delete(key)
        client.close()


# --- 3: sessions end at logout, deactivation and role change -----------------------------


def _session_cookie(client) -> str:
    return client.get_cookie("session").value


def _replay(app, cookie: str, path: str = "/queue") -> int:
    stranger = app.test_client()
    stranger.set_cookie("session", cookie)
    return stranger.get(path).status_code


def test_3_a_stolen_session_cookie_dies_at_logout_deactivation_and_role_change(catalogue: str) -> None:
    engine = open_catalogue(catalogue, create=False)
    with Session(engine) as session, session.begin():
        add_user(session, "tmp-admin", "admin", PASSWORD)
        add_user(session, "tmp-analyst", "analyst", PASSWORD)
    app = make_app(catalogue)
    client = app.test_client()
    assert login(client, "tmp-analyst").status_code == 303
    stolen = _session_cookie(client)
    assert _replay(app, stolen) == 200
    client.post("/logout", data={"csrf_token": token_of(client.get("/queue").get_data(as_text=True))})
    assert _replay(app, stolen) == 303  # to the login page: the copy is dead too

    for change in ({"active": False}, {"role": "viewer"}):
        client = app.test_client()
        name = "tmp-admin"
        with Session(engine) as session, session.begin():
            change_user(session, name, by="test", active=True, role="admin")
        assert login(client, name).status_code == 303
        cookie = _session_cookie(client)
        assert _replay(app, cookie, "/conflicts") == 200
        with Session(engine) as session, session.begin():
            change_user(session, name, by="test", **change)
        assert _replay(app, cookie, "/conflicts") == 303 and client.get("/conflicts").status_code == 303
    engine.dispose()
    assert {e.detail.get("account") for e in audit_rows(catalogue, "user_changed")} >= {"tmp-admin"}


# --- 4: a stranger cannot lock an account out; addresses behind a proxy ------------------


def test_4_a_stranger_exhausting_the_account_budget_does_not_lock_its_owner_out(catalogue: str) -> None:
    app = make_app(catalogue)
    owner = app.test_client()
    assert login(owner, "ana").status_code == 303  # the owner's browser gets a device cookie
    owner.post("/logout", data={"csrf_token": token_of(owner.get("/queue").get_data(as_text=True))})
    # Strangers from many addresses use up the account's budget (5 tries from unknown
    # browsers in 5 minutes; the owner's own first login was one of them) ...
    codes = [login(app.test_client(), "ana", "guess number one", environ_base={"REMOTE_ADDR": f"198.51.100.{n}"}).status_code for n in range(6)]
    assert codes == [401] * 4 + [429] * 2
    # ... so even the right password from yet another unknown browser must wait,
    assert login(app.test_client(), "ana", PASSWORD, environ_base={"REMOTE_ADDR": "198.51.100.99"}).status_code == 429
    # but the owner, on the browser it logged in from before, still gets in.
    assert login(owner, "ana").status_code == 303


def test_4_forwarded_for_is_believed_only_from_configured_proxies(catalogue: str) -> None:
    def tries(app, forwarded: bool) -> list[int]:
        codes = []
        for n in range(11):
            client = app.test_client()
            headers = {"X-Forwarded-For": f"203.0.113.{n}"} if forwarded else {}
            page = client.get("/login", headers=headers)
            codes.append(client.post("/login", headers=headers, data={"name": f"nobody{n}", "password": "x", "csrf_token": token_of(page.get_data(as_text=True))}).status_code)
        return codes

    # Not configured: a client cannot escape the address limit (10 a minute) by inventing addresses.
    assert tries(make_app(catalogue), forwarded=True)[-1] == 429
    # Behind one proxy: every forwarded client has its own budget, so none is refused.
    assert 429 not in tries(make_app(catalogue, trusted_proxies=1), forwarded=True)


# --- 5: CSV and XLSX formula injection ----------------------------------------------------


@pytest.mark.parametrize("title", ["\r=1+1", "=HYPERLINK(\"http://evil.example\")", "  @SUM(A1)", "\t-2+3", "+1"])
def test_5_a_hostile_title_stays_one_text_cell(tmp_path: Path, title: str) -> None:
    db = f"sqlite:///{tmp_path / 'c.sqlite'}"
    page = {"url": "https://x.test/a", "title": title, "text": "Волонтери Дніпра збирають кошти на генератори для укриттів."}
    source = tmp_path / "a.jsonl"
    source.write_text(json.dumps(page) + "\n", encoding="utf-8")
    assert run_coprod("import", str(source), "--seeds", str(DEMO_SEEDS), "--db", db).returncode == 0
    out = tmp_path / "pages.csv"
    assert run_coprod("export", "--what", "pages", "--db", db, "--out", str(out)).returncode == 0
    raw = out.read_bytes().decode()
    assert "\r" not in raw
    # One row, and no cell of it starts with what a spreadsheet runs (a bare CR, which
    # spreadsheets take for a new row, is a quoted line feed now).
    header, *rows = list(csv.reader(io.StringIO(raw)))
    assert len(rows) == 1 and len(rows[0]) == len(header)
    assert dict(zip(header, rows[0], strict=True))["title"] == "'" + title.replace("\r", "\n")
    assert not [cell for cell in rows[0] if cell[:1] in ("=", "+", "-", "@", "\r", "\n", "\t")]
    xlsx = tmp_path / "pages.xlsx"
    assert run_coprod("export", "--what", "pages", "--format", "xlsx", "--db", db, "--out", str(xlsx)).returncode == 0
    sheet = openpyxl.load_workbook(xlsx)["pages"]
    column = [c.value for c in sheet[1]].index("title") + 1
    cell = sheet.cell(row=2, column=column)
    assert cell.data_type == "s" and str(cell.value).startswith("'")


# --- 6: open redirect ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    ["/\t/evil.example", "//evil.example/", "/\\evil.example", "https://evil.example/", "/%2F%2Fevil.example", "/ /evil.example",
     "/queue\r\nSet-Cookie: x=1", "javascript:alert(1)", "/no-such-page", "/\u3000/evil.example"],
)
def test_6_next_is_only_a_path_of_this_app(catalogue: str, target: str) -> None:
    client = make_app(catalogue).test_client()
    page = client.get("/login", query_string={"next": target})
    assert page.status_code == 200
    answer = client.post("/login", data={"name": "vic", "password": PASSWORD, "next": target, "csrf_token": token_of(page.get_data(as_text=True))})
    assert answer.status_code == 303 and answer.headers["Location"] == "/queue"


def test_6_a_path_of_the_app_is_kept(catalogue: str) -> None:
    client = make_app(catalogue).test_client()
    answer = client.get("/cases?x=1")
    assert answer.status_code == 303
    page = client.get(answer.headers["Location"])
    answer = client.post("/login", data={"name": "vic", "password": PASSWORD, "next": "/cases?x=1", "csrf_token": token_of(page.get_data(as_text=True))})
    assert answer.headers["Location"] == "/cases?x=1"


# --- 7: CSRF on the login form too; a non-ASCII token is a 400 ------------------------------


def test_7_the_login_needs_its_token_and_a_non_ascii_token_is_refused_with_400(catalogue: str) -> None:
    app = make_app(catalogue)
    client = app.test_client()
    client.get("/login")
    assert client.post("/login", data={"name": "ana", "password": PASSWORD}).status_code == 400
    assert client.post("/login", data={"name": "ana", "password": PASSWORD, "csrf_token": "підроблений"}).status_code == 400
    assert login(client, "ana").status_code == 303
    cid = first_candidate(catalogue)
    for token in ("підроблений-токен", "é" * 90, "\x00", ""):
        answer = client.post(f"/candidates/{cid}/decide", data={"decision": "maybe", "csrf_token": token})
        assert answer.status_code == 400, token
    answer = client.post(f"/candidates/{cid}/decide", data={"decision": "maybe"}, headers={"X-CSRFToken": "токен"})
    assert answer.status_code == 400


def first_candidate(url: str) -> int:
    engine = open_catalogue(url, create=False)
    with Session(engine) as session:
        cid = session.scalar(select(Candidate.id).order_by(Candidate.id))
    engine.dispose()
    return cid


# --- 8: weak passwords --------------------------------------------------------------------


@pytest.mark.parametrize("weak", ["12345678", "password", "        ", "            ", "password1234", "123456789012", "qwertyuiop12", "olena-olena-olena"])
def test_8_short_or_common_passwords_are_refused(weak: str, tmp_path: Path) -> None:
    with pytest.raises(BadInput):
        check_password_policy("olena", weak)
    db = f"sqlite:///{tmp_path / 'c.sqlite'}"
    refused = subprocess.run(
        [sys.executable, "-m", "crawler.app.cli", "users", "add", "olena", "--role", "admin", "--password-stdin", "--db", db],
        input=weak + "\n", capture_output=True, text=True, timeout=60,
    )
    assert refused.returncode == 2 and "password" in refused.stderr


def test_8_a_long_uncommon_password_is_taken() -> None:
    check_password_policy("olena", "birch kettle lantern 1991")


# --- 9: unredacted exports need an admin's password; files are the owner's -----------------


def test_9_unredacted_exports_need_an_admin_and_its_password(catalogue: str, databases, tmp_path: Path) -> None:
    db = databases.new(template=catalogue)
    out = tmp_path / "cases.csv"
    base = ("export", "--what", "candidates", "--no-redact", "--db", db, "--out", str(out))
    for who, password in ((("--user", "ada"), None), (("--user", "ada"), "wrong horse battery"), (("--user", "ana"), PASSWORD), ((), PASSWORD)):
        env = {"COPROD_ADMIN_PASSWORD": password} if password else {}
        refused = run_coprod(*base, *who, env=env)
        assert refused.returncode == 2 and "admin" in refused.stderr and not out.exists()
    done = run_coprod(*base, "--user", "ada", env={"COPROD_ADMIN_PASSWORD": PASSWORD})
    assert done.returncode == 0, done.stderr
    assert json.loads(out.with_name(out.name + ".meta.json").read_text())["redaction"] == {"on": False, "by": "ada"}
    for written in (out, out.with_name(out.name + ".meta.json")):
        assert stat.S_IMODE(written.stat().st_mode) == 0o600, written
    refusals = audit_rows(db, "export_refused")
    assert len(refusals) == 4 and {r.user for r in refusals} == {"ada", "ana", None}
    exports = audit_rows(db, "export")
    assert exports[-1].user == "ada" and exports[-1].detail["redacted"] is False and exports[-1].detail["table"] == "candidates"


def test_9_the_catalogue_and_captures_are_created_owner_only(demo_crawl) -> None:
    if not demo_crawl.url.startswith("sqlite:///"):
        pytest.skip("the catalogue is a PostgreSQL database, no file; the SQLite lane checks its file and captures")
    path = Path(demo_crawl.url.removeprefix("sqlite:///"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    captures = path.with_name(path.stem + "-captures")
    assert stat.S_IMODE(captures.stat().st_mode) == 0o700
    files = list(captures.glob("*.warc.gz"))
    assert files and all(stat.S_IMODE(f.stat().st_mode) == 0o400 for f in files)


# --- 10: a warning beyond loopback; 400, never 500, for malformed parameters -------------


def test_10_serving_beyond_loopback_warns(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'c.sqlite'}"
    # 192.0.2.1 (TEST-NET-1) is no address of this machine: the bind fails after the warning,
    # so nothing is ever exposed.
    answer = run_coprod("serve", "--host", "192.0.2.1", "--port", "8800", "--seeds", str(DEMO_SEEDS), "--db", db, timeout=60)
    assert "warning: serving on 192.0.2.1, beyond this machine" in answer.stderr
    quiet = subprocess.run(
        [sys.executable, "-c", "from crawler.app.cli.serve import beyond_loopback as b; print(b('127.0.0.1'), b('localhost'), b('::1'), b('0.0.0.0'))"],
        capture_output=True, text=True, timeout=60,
    )
    assert quiet.stdout.split() == ["False", "False", "False", "True"]


MALFORMED = [
    "/queue?page=99999999999999999999", "/queue?page=-1", "/queue?page=abc", "/queue?page=1e9", "/queue?status=%3Cscript%3E",
    "/queue?kind=zzz", "/queue?q=%00%0d%0a", "/queue?place=%E2%80%AE", "/candidates/{c}?version=99999999999999999999999",
    "/candidates/{c}/capture?version=-5", "/candidates/99999999999999999999999", "/audit?page=999999999999", "/sources?status=%FF",
    "/login?next=%0d%0aLocation:%20http://evil.example", "/cases/99999999999999999999",
]


@pytest.mark.parametrize("path", MALFORMED)
def test_10_malformed_parameters_never_give_a_500(catalogue: str, path: str) -> None:
    client = make_app(catalogue).test_client()
    assert login(client, "ada").status_code == 303
    answer = client.get(path.format(c=first_candidate(catalogue)))
    assert answer.status_code in (200, 303, 400, 404), (path, answer.status_code)
    assert b"Traceback" not in answer.data


def test_10_a_huge_page_number_is_a_400_and_a_crlf_next_is_dropped(catalogue: str) -> None:
    client = make_app(catalogue).test_client()
    page = client.get("/login?next=%2Fqueue%0d%0aSet-Cookie:%20evil=1")
    assert page.status_code == 200 and 'name="next" value="/queue"' in page.get_data(as_text=True)
    assert login(client, "ada").status_code == 303
    assert client.get("/queue?page=99999999999999999999").status_code == 400
    form = {"decision": "include", "case": "9" * 40, "csrf_token": token_of(client.get("/queue").get_data(as_text=True))}
    assert client.post(f"/candidates/{first_candidate(catalogue)}/decide", data=form).status_code == 400


# --- 11: the decision log is append-only in the database; the audit log -------------------


def _change_the_log(url: str) -> list[str]:
    """Try to rewrite and erase the decision and audit logs behind the app's back."""
    refused = []
    engine = open_catalogue(url, create=False)
    for statement in ("UPDATE decisions SET decision = 'exclude'", "DELETE FROM decisions", "UPDATE audit_log SET action = 'nothing'", "DELETE FROM audit_log"):
        try:
            with engine.begin() as connection:
                connection.execute(text(statement))
        except DBAPIError as error:
            assert "append-only" in str(error)
            refused.append(statement)
    engine.dispose()
    return refused


def _seed_log(url: str) -> None:
    engine = open_catalogue(url, create=False)
    with Session(engine) as session, session.begin():
        cid = session.scalar(select(Candidate.id).order_by(Candidate.id))
        session.add(Decision(candidate_id=cid, user="ana", decision="include", fields={}))
        session.add(AuditEvent(action="login", user="ana", detail={}))
    engine.dispose()


def test_11_update_and_delete_on_the_decision_log_fail_in_the_crawled_catalogue(catalogue: str, databases) -> None:
    url = databases.new(template=catalogue)
    _seed_log(url)
    assert len(_change_the_log(url)) == 4
    engine = open_catalogue(url, create=False)
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Decision)) >= 1
        assert session.scalar(select(func.count()).select_from(AuditEvent)) >= 1
    engine.dispose()


@pytest.fixture
def postgresql(postgres_databases) -> str:
    """A database of our own on the local PostgreSQL (skips without one; dropped at the end)."""
    return postgres_databases.new()


def test_11_update_and_delete_on_the_decision_log_fail_in_postgresql(postgresql: str) -> None:
    engine = open_catalogue(postgresql)
    with Session(engine) as session, session.begin():
        source = session.merge(__import__("storage.models", fromlist=["Source"]).Source(name="s", kind="news", start_urls=[], allowed_domains=[]))
        session.flush()
        page = Page(url="https://x.test/a", fetched_url="https://x.test/a", source_id=source.id, title="t", text="Волонтери", flagged=True)
        session.add(page)
        session.flush()
        session.add(Candidate(page_id=page.id, score=1.0))
    engine.dispose()
    _seed_log(postgresql)
    assert len(_change_the_log(postgresql)) == 4
    engine = open_catalogue(postgresql, create=False)
    with engine.begin() as connection:
        with pytest.raises(DBAPIError, match="append-only"):
            connection.execute(text("TRUNCATE decisions CASCADE"))
    engine.dispose()


def test_11_logins_failures_source_decisions_and_exports_are_audited_and_shown_to_admins(catalogue: str) -> None:
    app = make_app(catalogue)
    analyst = app.test_client()
    assert login(analyst, "bo", "not the password at all").status_code == 401
    assert login(analyst, "bo").status_code == 303
    engine = open_catalogue(catalogue, create=False)
    with Session(engine) as session:
        key = session.scalar(select(DiscoveredSource.key).where(DiscoveredSource.kind == "site").order_by(DiscoveredSource.key))
    engine.dispose()
    token = token_of(analyst.get("/queue").get_data(as_text=True))
    assert analyst.post("/sources/decide", data={"key": key, "status": "rejected", "csrf_token": token}).status_code == 303
    assert analyst.get("/audit").status_code == 403
    admin = app.test_client()
    assert login(admin, "ada").status_code == 303
    page = admin.get("/audit").get_data(as_text=True)
    for action in ("login_failed", "login", "source_decided"):
        assert f"<td>{action}</td>" in page
    assert key in page and "<td>bo</td>" in page
    assert "source_decided" in admin.get("/audit?action=source_decided&user=bo").get_data(as_text=True)
