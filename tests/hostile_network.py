"""The network half of the hostile web: run inside a network namespace (`tests.netns`).

Opens the misbehaving servers on 127.0.0.1 of the namespace (a closed port, a plain-HTTP
server for an https URL, a server that never answers, one that hangs up at once), writes the
study file from a template naming their ports as {closed}, {plain}, {silent} and {hangup},
runs `coprod crawl` on it and prints the ports and the crawl's outcome as JSON.

    python -m tests.hostile_network TEMPLATE STUDY DATABASE [TIMEOUT]
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from pathlib import Path


def _listener() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    return sock


def _serve(sock: socket.socket, answer: bytes | None) -> None:
    """Accept forever; answer each connection with `answer` (None: hang up at once)."""
    while True:
        try:
            conn, _ = sock.accept()
        except OSError:
            return
        with conn:
            if answer is not None:
                conn.settimeout(2)
                try:
                    conn.recv(4096)
                    conn.sendall(answer)
                except OSError:
                    pass


def main(argv: list[str]) -> int:
    template, study, database = Path(argv[0]), Path(argv[1]), argv[2]
    timeout = float(argv[3]) if len(argv) > 3 else 240
    closed = _listener()
    ports = {"closed": closed.getsockname()[1]}
    closed.close()
    plain, silent, hangup = _listener(), _listener(), _listener()  # `silent` is never accepted from
    ports |= {"plain": plain.getsockname()[1], "silent": silent.getsockname()[1], "hangup": hangup.getsockname()[1]}
    for sock, answer in ((plain, b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"), (hangup, None)):
        threading.Thread(target=_serve, args=(sock, answer), daemon=True).start()
    text = template.read_text(encoding="utf-8")
    for name, port in ports.items():
        text = text.replace(f"{{{name}}}", str(port))
    study.write_text(text, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "crawler.app.cli", "crawl", "--seeds", str(study), "--db", database],
        capture_output=True, text=True, timeout=timeout,
    )
    print(json.dumps({"ports": ports, "returncode": done.returncode, "stdout": done.stdout, "stderr": done.stderr}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
