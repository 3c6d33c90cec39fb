"""Running a command in a network namespace of its own, for the tests that need "no network".

`unshare --net` (util-linux; root, or unprivileged user namespaces) gives the command a
namespace with only a loopback interface, down: no route leads anywhere, so no host name
resolves and nothing can leave the machine. `python -m tests.netns --lo CMD...` brings the
loopback up first, for servers and clients that meet on 127.0.0.1 inside it.
"""

from __future__ import annotations

import fcntl
import functools
import os
import shutil
import socket
import struct
import subprocess
import sys

__all__ = ["in_netns", "netns_available", "raise_loopback"]

_SIOCGIFFLAGS, _SIOCSIFFLAGS, _IFF_UP = 0x8913, 0x8914, 0x1


@functools.cache
def netns_available() -> str | None:
    """None when `unshare --net` works here, else why not (the reason a test skips with)."""
    if shutil.which("unshare") is None:
        return "no unshare command (util-linux)"
    done = subprocess.run(["unshare", "--net", "--", "true"], capture_output=True, text=True)
    if done.returncode != 0:
        return f"cannot make a network namespace here: {done.stderr.strip() or done.returncode}"
    return None


def in_netns(*command: str, loopback: bool = False) -> list[str]:
    """The command line that runs `command` in a new network namespace."""
    inner = [sys.executable, "-m", "tests.netns", *(["--lo"] if loopback else []), "--", *command]
    return ["unshare", "--net", "--", *inner]


def raise_loopback() -> None:
    """Bring `lo` up (the ioctl `ip link set lo up` makes)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sh22x", b"lo", 0)
        flags = struct.unpack("16sh22x", fcntl.ioctl(sock, _SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, _SIOCSIFFLAGS, struct.pack("16sh22x", b"lo", flags | _IFF_UP))


def main(argv: list[str]) -> int:
    if argv and argv[0] == "--lo":
        raise_loopback()
        argv = argv[1:]
    if argv and argv[0] == "--":
        argv = argv[1:]
    os.execvp(argv[0], argv)
    return 127  # pragma: no cover - execvp does not return


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
