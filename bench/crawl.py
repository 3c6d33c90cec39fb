"""Benchmark: coprod's whole crawl against its peers, on a synthetic news site served by nginx.

It generates the site (`bench/sitegen.py`: `--articles N` articles of about 52 KB in
Ukrainian, Russian and English, ~120 links a page, paginated listings, an archive, a share
of volunteer stories with Telegram and jar links), serves it with nginx (Debian's; installed
with apt-get when missing; run unprivileged on a free port of 127.0.0.1 with its own prefix
and config in a temporary folder) as `vesti.bench.localhost` (named in the crawlers' own
/etc/hosts, in a mount namespace: run it as root), and crawls it, in rounds whose order alternates, with:

- `coprod`: `coprod crawl` into a fresh catalogue: the whole pipeline (fetch, WARC capture,
  extraction, language, relevance, discovery, store, frontier);
- `peer1`: a single-file Scrapy spider following every link, running
  `trafilatura.extract(with_metadata=True)` and langdetect in its callback and committing each
  item to SQLite (`bench/peers/scrapy_trafilatura.py`);
- `peer1-pool`: the same spider with that work in a pool of 2 processes;
- `peer2`: `trafilatura.spider.focused_crawler` with its sleep at 0 (fetches and follows,
  extracts nothing; `bench/peers/trafilatura_focused.py`).

For each run: unique pages fetched (distinct 200 answers in nginx's access log), wall time,
unique pages per second, CPU ms per page of the whole process tree (the process and every
descendant, from wait4), cores used (CPU seconds / wall seconds), peak proportional set size
of the tree (sum of the processes' Pss in /proc/PID/smaps_rollup, sampled every second), and the CPU ms per
page of the first and the last 1,000 pages (from the tree's CPU sampled against the access
log's times). Per round, the ratio of coprod's pages per second to each peer's, and the
medians of the ratios over the rounds. Goals (issue 12): >= 5x peer1 and >= 3x peer2, >= 1.8
cores, peak PSS <= 600 MB, the last 1,000 pages within 10% of the first 1,000.

    .venv/bin/python bench/crawl.py --articles 500                 # a quick look
    .venv/bin/python bench/crawl.py --articles 10000 --rounds 2    # the figures of the README
    .venv/bin/python bench/crawl.py --articles 2000 --tools coprod peer2 --json out.json
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import json
import os
import platform
import pwd
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from sitegen import Site, generate  # noqa: E402

TOOLS = ("coprod", "peer1", "peer1-pool", "peer2")
BIN = Path(sys.executable).parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
WINDOW = 1000  # pages in the first and last window of the flatness figure
HOST = "vesti.bench.localhost"  # the site's name, in the crawlers' own /etc/hosts


# --- nginx ---------------------------------------------------------------------------------------

NGINX_CONF = """
worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    charset utf-8;
    log_format bench '$msec $status $request_uri';
    access_log {prefix}/access.log bench;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    sendfile on;
    keepalive_requests 1000000;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        index index.html;
        location / {{ try_files $uri $uri/ =404; }}
    }}
}}
"""


def ensure_nginx() -> str:
    found = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.path.exists(p)), None)
    if found:
        return found
    print("nginx missing: apt-get install -y nginx", file=sys.stderr)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "nginx"], check=True, env=env)
    return shutil.which("nginx") or "/usr/sbin/nginx"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def nginx(site: Site, work: Path) -> Iterator[tuple[str, Path]]:
    """nginx serving the site on a free loopback port, as an unprivileged user (nobody when
    this runs as root); yields the site's URL and the access log."""
    binary = ensure_nginx()
    prefix = work / "nginx"
    prefix.mkdir()
    port = free_port()
    (prefix / "nginx.conf").write_text(NGINX_CONF.format(prefix=prefix, port=port, root=site.root))
    kwargs = {}
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        os.chown(prefix, nobody.pw_uid, nobody.pw_gid)
        for folder in (work, site.root):
            folder.chmod(0o755)
        kwargs = {"user": nobody.pw_uid, "group": nobody.pw_gid, "extra_groups": []}
    server = subprocess.Popen([binary, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-e", str(prefix / "error.log")], **kwargs)
    try:
        deadline = time.monotonic() + 10
        while True:
            if server.poll() is not None:
                raise SystemExit(f"nginx did not start: {(prefix / 'error.log').read_text(errors='replace')[-2000:]}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            if time.monotonic() > deadline:
                raise SystemExit("nginx did not answer within 10 s")
            time.sleep(0.05)
        yield f"http://{HOST}:{port}/", prefix / "access.log"
    finally:
        server.send_signal(signal.SIGQUIT)  # graceful stop
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


# --- measuring a process tree --------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    found = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{task}/children") as handle:
                found += [int(c) for c in handle.read().split()]
    return found


def tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        todo += _children(current)
    return pids


def _cpu_ticks(pid: int) -> int:
    """utime + stime + cutime + cstime: the process and its reaped descendants."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15])


def _pss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/smaps_rollup") as handle:
        for line in handle:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


@dataclass
class Sampler:
    """Samples a process tree's CPU (seconds) and PSS (KB) until it ends."""

    pid: int
    interval: float = 0.25
    # Reading smaps_rollup makes the kernel walk a process's pages: every 0.25 s it cost the
    # benchmark 13% of a core, taken from the crawl it measures; every second, a quarter.
    pss_every: int = 4
    cpu: list[tuple[float, float]] = field(default_factory=list)  # (monotonic time, CPU seconds)
    peak_pss_kb: int = 0
    peak_processes: int = 0

    def run(self, done: threading.Event) -> None:
        sample = 0
        while not done.is_set():
            now, ticks, pss, pids = time.monotonic(), 0, 0, tree(self.pid)
            with_pss = sample % self.pss_every == 0
            for pid in pids:
                with contextlib.suppress(OSError, ValueError, IndexError):
                    ticks += _cpu_ticks(pid)
                    pss += _pss_kb(pid) if with_pss else 0
            self.cpu.append((now, ticks / CLOCK_TICKS))
            self.peak_pss_kb = max(self.peak_pss_kb, pss)
            self.peak_processes = max(self.peak_processes, len(pids))
            sample += 1
            done.wait(self.interval)

    def cpu_at(self, when: float) -> float:
        times = [t for t, _ in self.cpu]
        i = bisect.bisect_left(times, when)
        if i <= 0:
            return self.cpu[0][1] if self.cpu else 0.0
        if i >= len(self.cpu):
            return self.cpu[-1][1]
        (t0, c0), (t1, c1) = self.cpu[i - 1], self.cpu[i]
        return c0 + (c1 - c0) * (when - t0) / (t1 - t0) if t1 > t0 else c1


@dataclass
class Run:
    tool: str
    round: int
    pages: int  # unique pages answered 200 (nginx)
    requests: int
    own_count: str  # what the tool says it kept
    seconds: float
    cpu_seconds: float
    peak_pss_mb: float
    processes: int
    first_ms: float | None  # CPU ms per page over the first WINDOW pages
    last_ms: float | None  # ... and over the last WINDOW pages
    exit_code: int

    @property
    def pages_per_s(self) -> float:
        return self.pages / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms_per_page(self) -> float:
        return 1000 * self.cpu_seconds / self.pages if self.pages else 0.0

    @property
    def cores(self) -> float:
        return self.cpu_seconds / self.seconds if self.seconds else 0.0

    @property
    def flatness(self) -> float | None:
        return self.last_ms / self.first_ms if self.first_ms and self.last_ms else None

    def row(self) -> dict:
        return asdict(self) | {
            "pages_per_s": round(self.pages_per_s, 2),
            "cpu_ms_per_page": round(self.cpu_ms_per_page, 2),
            "cores": round(self.cores, 2),
            "last_over_first": round(self.flatness, 3) if self.flatness else None,
        }


def _log_offset(log: Path) -> int:
    return log.stat().st_size if log.exists() else 0


def _fetches(log: Path, offset: int) -> tuple[list[tuple[float, str]], int]:
    """(time, path) of each first 200 answer per path since `offset`, and all requests."""
    firsts: dict[str, float] = {}
    requests = 0
    with log.open("rb") as handle:
        handle.seek(offset)
        for line in handle:
            parts = line.decode("utf-8", "replace").split()
            if len(parts) < 3:
                continue
            requests += 1
            if parts[1] == "200" and parts[2] != "/robots.txt":
                firsts.setdefault(parts[2], float(parts[0]))
    return sorted((t, p) for p, t in firsts.items()), requests


def with_host(command: list[str], work: Path) -> list[str]:
    """The command in a mount namespace whose /etc/hosts also names the site's host: the
    crawlers reach it by name, as on the web (trafilatura's link filter, courlan, drops links
    to IP addresses and to names without a suffix, so 127.0.0.1 and localhost will not do)."""
    hosts = work / "hosts"
    if not hosts.exists():
        hosts.write_text(Path("/etc/hosts").read_text() + f"\n127.0.0.1 {HOST}\n")
    return ["unshare", "--mount", "--", "sh", "-c", 'mount --bind "$0" /etc/hosts && exec "$@"', str(hosts), *command]


def measure(tool: str, round_: int, command: list[str], log: Path, cwd: Path, env: dict[str, str], own: callable) -> Run:
    offset = _log_offset(log)
    out = (cwd / "output.log").open("wb")
    started_wall = time.time()
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    sampler = Sampler(process.pid)
    done = threading.Event()
    thread = threading.Thread(target=sampler.run, args=(done,), daemon=True)
    thread.start()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.monotonic() - started
    done.set()
    thread.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    out.close()
    time.sleep(0.3)  # nginx writes its log lines as answers finish
    fetches, requests = _fetches(log, offset)
    # The wall clock of a fetch (nginx's $msec) on the sampler's monotonic clock.
    to_monotonic = started - started_wall
    first = last = None
    if len(fetches) >= 2 * WINDOW:
        at = lambda i: sampler.cpu_at(fetches[i][0] + to_monotonic)  # noqa: E731
        first = 1000 * (at(WINDOW) - at(0)) / WINDOW
        last = 1000 * (at(len(fetches) - 1) - at(len(fetches) - 1 - WINDOW)) / WINDOW
    return Run(
        tool=tool,
        round=round_,
        pages=len(fetches),
        requests=requests,
        own_count=own(cwd),
        seconds=round(seconds, 2),
        cpu_seconds=round(usage.ru_utime + usage.ru_stime, 2),
        peak_pss_mb=round(sampler.peak_pss_kb / 1024, 1),
        processes=sampler.peak_processes,
        first_ms=round(first, 2) if first is not None else None,
        last_ms=round(last, 2) if last is not None else None,
        exit_code=process.returncode,
    )


# --- the tools -----------------------------------------------------------------------------------

COPROD_SEEDS = """
version: 1
study:
  name: crawl benchmark
  region: Dnipropetrovsk oblast
  region_code: UA12000000000090473
  places: [builtin:places-dnipropetrovsk]
  window: {{start: 2022-02-24, end: 2023-12-31}}
crawl:
  depth: 50
  pages_per_source: {cap}
  delay: 0.0
  concurrency: {concurrency}
  concurrency_per_domain: {concurrency}
  timeout: 60
  user_agent: "coprod-bench/0.1 (+https://example.org/coprod; research crawler)"
  autothrottle: {{start_delay: 0.0, max_delay: 1.0, target_concurrency: {concurrency}.0}}
  retry: {{times: 1, backoff_base: 0.5, backoff_max: 2.0}}
lexicon: [builtin:coproduction]
database: sqlite:///catalogue.sqlite
sources:
  - name: bench-news
    kind: news
    start_urls: ["{url}"]
    region: Dnipropetrovsk oblast
"""


def _tail(path: Path, lines: int = 3) -> str:
    text = path.read_text(errors="replace").strip().splitlines() if path.exists() else []
    return " | ".join(text[-lines:])[:300]


def _own_coprod(cwd: Path) -> str:
    for line in reversed((cwd / "output.log").read_text(errors="replace").splitlines()):
        if line.startswith("run "):
            return line.split(": ", 1)[1]
    return "no summary: " + _tail(cwd / "output.log")


def _own_sqlite(cwd: Path) -> str:
    import sqlite3

    try:
        with contextlib.closing(sqlite3.connect(cwd / "pages.sqlite")) as db:
            return f"{db.execute('select count(*) from pages').fetchone()[0]} rows"
    except sqlite3.Error as error:
        return f"no rows ({error}): " + _tail(cwd / "output.log")


def _own_focused(cwd: Path) -> str:
    lines = (cwd / "output.log").read_text(errors="replace").strip().splitlines()
    return lines[-1] if lines else "no output"


def command_of(tool: str, url: str, cwd: Path, site: Site, concurrency: int) -> tuple[list[str], callable]:
    if tool == "coprod":
        seeds = cwd / "seeds.yaml"
        seeds.write_text(COPROD_SEEDS.format(url=url, cap=site.pages * 2, concurrency=concurrency))
        return [str(BIN / "coprod"), "crawl", "--seeds", str(seeds), "--db", f"sqlite:///{cwd / 'catalogue.sqlite'}"], _own_coprod
    if tool in ("peer1", "peer1-pool"):
        workers = "2" if tool == "peer1-pool" else "0"
        settings = ["-s", f"PAGES_DB={cwd / 'pages.sqlite'}", "-s", f"CONCURRENT_REQUESTS={concurrency}", "-s", f"CONCURRENT_REQUESTS_PER_DOMAIN={concurrency}", "-s", "LOG_LEVEL=INFO"]
        return [str(BIN / "scrapy"), "runspider", str(HERE / "peers" / "scrapy_trafilatura.py"), "-a", f"start={url}", "-a", f"workers={workers}", *settings], _own_sqlite
    if tool == "peer2":
        return [sys.executable, str(HERE / "peers" / "trafilatura_focused.py"), url], _own_focused
    raise ValueError(tool)


# --- the report ----------------------------------------------------------------------------------


def table(runs: list[Run]) -> str:
    head = f"{'tool':<11} {'rnd':>3} {'pages':>6} {'secs':>7} {'pages/s':>8} {'CPU ms/pg':>9} {'cores':>5} {'PSS MB':>7} {'procs':>5} {'first ms':>8} {'last ms':>8} {'last/1st':>8}  kept"
    lines = [head, "-" * len(head)]
    for r in runs:
        flat = f"{r.flatness:.2f}" if r.flatness else "-"
        lines.append(
            f"{r.tool:<11} {r.round:>3} {r.pages:>6} {r.seconds:>7.1f} {r.pages_per_s:>8.1f} {r.cpu_ms_per_page:>9.1f} {r.cores:>5.2f} "
            f"{r.peak_pss_mb:>7.0f} {r.processes:>5} {r.first_ms or 0:>8.1f} {r.last_ms or 0:>8.1f} {flat:>8}  {r.own_count}"
            + ("" if r.exit_code == 0 else f"  EXIT {r.exit_code}")
        )
    return "\n".join(lines)


def ratios(runs: list[Run]) -> dict[str, dict]:
    """coprod's pages/s over each peer's, per round (the runs of one round are neighbours in
    time), and the median."""
    by_round: dict[int, dict[str, Run]] = {}
    for r in runs:
        by_round.setdefault(r.round, {})[r.tool] = r
    found = {}
    for peer in TOOLS[1:]:
        values = [rs["coprod"].pages_per_s / rs[peer].pages_per_s for rs in by_round.values() if "coprod" in rs and peer in rs and rs[peer].pages_per_s]
        if values:
            found[peer] = {"per_round": [round(v, 2) for v in values], "median": round(statistics.median(values), 2)}
    return found


def goals(runs: list[Run], found: dict[str, dict]) -> list[str]:
    mine = [r for r in runs if r.tool == "coprod"]
    if not mine:
        return []
    median = lambda values: statistics.median(values) if values else None  # noqa: E731
    cores = median([r.cores for r in mine])
    pss = max(r.peak_pss_mb for r in mine)
    flat = median([r.flatness for r in mine if r.flatness])
    lines = []
    for peer, goal in (("peer1", 5.0), ("peer2", 3.0)):
        if peer in found:
            value = found[peer]["median"]
            lines.append(f"coprod / {peer} pages/s: median {value:.2f} (goal >= {goal:g}): {'met' if value >= goal else 'NOT met'}")
    lines.append(f"coprod cores used: median {cores:.2f} (goal >= 1.8): {'met' if cores >= 1.8 else 'NOT met'}")
    lines.append(f"coprod peak PSS of the tree: {pss:.0f} MB (goal <= 600): {'met' if pss <= 600 else 'NOT met'}")
    if flat is not None:
        lines.append(f"coprod last {WINDOW} pages / first {WINDOW}, CPU per page: median {flat:.2f} (goal <= 1.10): {'met' if flat <= 1.10 else 'NOT met'}")
    return lines


def machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), platform.processor())
    memory = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    load = os.getloadavg()
    return f"{os.cpu_count()} cores ({model}), {memory / 2**20:.0f} GiB, Python {platform.python_version()}, load before {load[0]:.2f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=2000, help="articles of the synthetic site (default 2000)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of runs; each round runs every tool once, the order alternating (default 2)")
    parser.add_argument("--tools", nargs="+", choices=TOOLS, default=list(TOOLS), help="which to run (default: all)")
    parser.add_argument("--concurrency", type=int, default=16, help="concurrent requests of the Scrapy crawlers (default 16)")
    parser.add_argument("--json", metavar="FILE", help="also write the runs and ratios as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (site, logs, catalogues)")
    args = parser.parse_args()
    # A SIGTERM unwinds like Ctrl-C: nginx is stopped and the temporary folder removed.
    signal.signal(signal.SIGTERM, lambda number, frame: sys.exit(128 + number))

    work = Path(tempfile.mkdtemp(prefix="coprod-bench-"))
    try:
        started = time.monotonic()
        site = generate(work / "site", args.articles)
        print(f"site: {len(site.articles)} articles, {len(site.listings)} listings and other pages, generated in {time.monotonic() - started:.1f} s", file=sys.stderr)
        print(f"machine: {machine()}", file=sys.stderr)
        env = dict(os.environ, COPROD_CACHE_DIR=os.environ.get("COPROD_CACHE_DIR", str(Path.home() / ".cache" / "coprod")))
        runs: list[Run] = []
        with nginx(site, work) as (url, log):
            for round_ in range(1, args.rounds + 1):
                order = args.tools if round_ % 2 else args.tools[::-1]
                for tool in order:
                    cwd = work / f"{tool}-{round_}"
                    cwd.mkdir()
                    command, own = command_of(tool, url, cwd, site, args.concurrency)
                    run = measure(tool, round_, with_host(command, work), log, cwd, env, own)
                    runs.append(run)
                    print(f"round {round_} {tool}: {run.pages} pages in {run.seconds:.1f} s, {run.pages_per_s:.1f} pages/s, {run.cpu_ms_per_page:.1f} CPU ms/page, "
                          f"{run.cores:.2f} cores, {run.peak_pss_mb:.0f} MB PSS; {run.own_count}", file=sys.stderr)
                    if not args.keep:
                        shutil.rmtree(cwd, ignore_errors=True)
                    if run.exit_code != 0:
                        break
                if runs[-1].exit_code != 0:
                    # Ratios against a failed run mean nothing: stop with what was measured.
                    print(f"{runs[-1].tool} failed (exit {runs[-1].exit_code}): stopping", file=sys.stderr)
                    break
        found = ratios(runs)
        print(f"\ncrawl benchmark: {len(site.articles)} articles, {site.pages} pages; {machine()}; {time.strftime('%Y-%m-%d')}\n")
        print(table(runs))
        print()
        for peer, value in found.items():
            print(f"coprod / {peer:<10} pages/s per round: {', '.join(f'{v:.2f}' for v in value['per_round'])}; median {value['median']:.2f}")
        print()
        print("\n".join(goals(runs, found)))
        if args.json:
            Path(args.json).write_text(json.dumps({"articles": args.articles, "pages": site.pages, "machine": machine(), "runs": [r.row() for r in runs], "ratios": found}, indent=2))
        return 0 if all(r.exit_code == 0 for r in runs) else 1
    finally:
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
