"""Raw capture: every fetched response written to WARC files, with the request that got it.

This is the storage side (writing, reading, recovering and copying WARC files); the
downloader middleware that feeds it during a crawl is `crawler.capture`.

Each exchange is a gzipped response record followed by its request record (warcio,
digests included, so `warcio check` passes); a `CaptureRef` (file, offset, length, time)
names the pair and travels with the page into the catalogue, where each page version
cites its capture. Files are named from spider, run, time and a counter only, rotate by
size (`COPROD_CAPTURE_MAX_BYTES`), and live in the capture folder: `COPROD_CAPTURE_DIR`
(setting, then environment variable), else `<catalogue stem>-captures/` beside a SQLite
catalogue, else `data/captures`. Records are flushed to the operating system as they are
written, before the page that cites them can reach the store, so no committed row ever
cites bytes that are not on disk.
"""

from __future__ import annotations

import base64
import datetime as dt
import fcntl
import hashlib
import logging
import os
import re
import stat
import zlib
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from http import HTTPStatus
from io import BytesIO
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url
from warcio.archiveiterator import ArchiveIterator
from warcio.bufferedreaders import DecompressingBufferedReader
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import GzippingWrapper, WARCWriter

from crawler.core import __version__ as coprod_version

__all__ = [
    "CAPTURE_META",
    "NOT_MODIFIED_FLAG",
    "CaptureDamaged",
    "CaptureRef",
    "Captured",
    "WarcCapture",
    "capture_dir",
    "capture_path",
    "copy_captures",
    "read_capture",
    "recover_captures",
]

logger = logging.getLogger(__name__)

CAPTURE_META = "coprod_capture"  # request meta key: the CaptureRef (as a dict) of its response
NOT_MODIFIED_FLAG = "not_modified"  # response flag: rebuilt from its capture after a 304
DEFAULT_MAX_BYTES = 100_000_000
DEFAULT_COMPRESSION_LEVEL = 6  # as small as warcio's 9 on HTML (within 1%), 40% less CPU
# Hop-by-hop framing: the body Scrapy hands over is already de-chunked.
_FRAMING_HEADERS = {"transfer-encoding"}
_PHRASES = {status.value: status.phrase for status in HTTPStatus}
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\.warc\.gz")
_RUN_OF_FILE = re.compile(r"-run(\d+)-")


@dataclass(frozen=True)
class CaptureRef:
    """Where one exchange lies: a file in the capture folder, the byte range of its
    response record and request record, and when it was captured (UTC)."""

    file: str
    offset: int
    length: int
    captured_at: dt.datetime

    def to_json(self) -> dict[str, Any]:
        return asdict(self) | {"captured_at": self.captured_at.isoformat()}

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> CaptureRef:
        return cls(value["file"], int(value["offset"]), int(value["length"]), dt.datetime.fromisoformat(value["captured_at"]))


@dataclass(frozen=True)
class Captured:
    """A captured response read back: the payload as sent (`raw`, still content-encoded)
    and decoded (`body`)."""

    url: str
    warc_date: str
    status: int
    headers: list[tuple[str, str]]
    raw: bytes
    body: bytes

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key.lower() == name.lower()), None)


def capture_dir(database_url: str | None, explicit: str | None = None, configured: str | None = None) -> Path:
    """The capture folder: `explicit` (a flag or setting), else $COPROD_CAPTURE_DIR, else
    `configured` (the study file's `captures`, a path every machine of a team crawl shares),
    else beside a SQLite catalogue (`data/coprod.sqlite` -> `data/coprod-captures/`), else
    `data/captures`."""
    chosen = explicit or os.environ.get("COPROD_CAPTURE_DIR") or configured
    if chosen:
        return Path(chosen)
    if database_url:
        parsed = make_url(database_url)
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            path = Path(parsed.database)
            return path.with_name(f"{path.stem}-captures")
    return Path("data/captures")


def capture_path(folder: Path, name: str) -> Path:
    """A capture file by its stored name; never anything outside the folder."""
    if not _SAFE_NAME.fullmatch(name):
        raise ValueError(f"not a capture file name: {name!r}")
    return folder / name


class _Gzip(GzippingWrapper):
    def __init__(self, out: IO[bytes], level: int):
        self.compressor = zlib.compressobj(level, zlib.DEFLATED, zlib.MAX_WBITS + 16)
        self.out = out


class _WARCWriter(WARCWriter):
    """warcio's writer, one gzip member per record as always, at a chosen level (warcio's
    own is fixed at 9)."""

    def __init__(self, out: IO[bytes], level: int, **kwargs: Any):
        super().__init__(out, gzip=False, **kwargs)
        self.level = level

    def _write_warc_record(self, out: IO[bytes], record: Any) -> None:
        super()._write_warc_record(_Gzip(out, self.level), record)


class WarcCapture:
    """Writes exchanges into `<prefix>-NNNNN.warc.gz` files, a new file once one reaches
    `max_bytes`; each file starts with a warcinfo record."""

    def __init__(self, folder: Path, prefix: str, max_bytes: int = DEFAULT_MAX_BYTES, level: int = DEFAULT_COMPRESSION_LEVEL):
        if not 1 <= level <= 9:
            raise ValueError(f"gzip compression level {level}: expected 1 to 9")
        self.folder = folder
        self.prefix = prefix
        self.max_bytes = max_bytes
        self.level = level
        self.counter = 0
        self.handle: IO[bytes] | None = None
        self.writer: WARCWriter | None = None
        self.name = ""
        self.path = folder
        self.files: list[str] = []

    def open(self) -> WarcCapture:
        # The pages as published (phones, emails, cards): the crawling account's alone.
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.counter += 1
        self.name = f"{self.prefix}-{self.counter:05d}.warc.gz"
        self.path = capture_path(self.folder, self.name)
        fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)  # never overwrite a capture
        self.handle = os.fdopen(fd, "wb")
        # Held while the file is written: `recover_captures` leaves a live writer's file alone.
        fcntl.flock(self.handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        self.writer = _WARCWriter(self.handle, self.level, warc_version="1.1")
        info = {"software": f"coprod/{coprod_version} (warcio)", "format": "WARC File Format 1.1", "isPartOf": self.prefix}
        self.writer.write_record(self.writer.create_warcinfo_record(self.name, info))
        self.handle.flush()
        self.files.append(self.name)
        return self

    def write(
        self,
        url: str,
        method: str,
        request_headers: Iterable[tuple[str, str]],
        request_body: bytes,
        status: int,
        response_headers: Iterable[tuple[str, str]],
        body: bytes,
        captured_at: dt.datetime | None = None,
    ) -> CaptureRef:
        """Append one exchange (response record, then its request record); flushed.
        Lengths are given so warcio digests the bodies in memory, without temporary files."""
        if self.handle is None or self.handle.tell() >= self.max_bytes:
            self.close()
            self.open()
        assert self.handle is not None and self.writer is not None
        when = captured_at or dt.datetime.now(dt.UTC).replace(tzinfo=None)
        date = {"WARC-Date": when.isoformat(timespec="microseconds") + "Z"}
        reason = _PHRASES.get(status, "Unknown")
        http = StatusAndHeaders(
            f"{status} {reason}", [(k, v) for k, v in response_headers if k.lower() not in _FRAMING_HEADERS], protocol="HTTP/1.1"
        )
        response = self.writer.create_warc_record(url, "response", payload=BytesIO(body), length=len(body), http_headers=http, warc_headers_dict=date)
        target = urlsplit(url)
        path = (target.path or "/") + (f"?{target.query}" if target.query else "")
        headers = list(request_headers)
        if not any(k.lower() == "host" for k, _ in headers):
            headers.insert(0, ("Host", target.netloc))
        sent = StatusAndHeaders(f"{method} {path}", headers, protocol="HTTP/1.1", is_http_request=True)
        request = self.writer.create_warc_record(url, "request", payload=BytesIO(request_body), length=len(request_body), http_headers=sent, warc_headers_dict=date)
        offset = self.handle.tell()
        self.writer.write_request_response_pair(request, response)
        self.handle.flush()
        return CaptureRef(self.name, offset, self.handle.tell() - offset, when)

    def close(self) -> None:
        if self.handle is not None:
            self.handle.flush()
            os.fsync(self.handle.fileno())
            _seal(self.path)
            self.handle.close()
            self.handle = self.writer = None


def _seal(path: Path) -> None:
    """A complete capture becomes read-only: evidence is not edited, and a file still
    writable after its writer is gone was left by a crash. Only its owner reads it."""
    path.chmod(stat.S_IRUSR)


def complete_length(handle: IO[bytes]) -> int:
    """The length of the file's leading run of complete gzip members (every record is one):
    where a crawl killed mid-write left a partial record, the file is good up to here."""
    good = offset = 0  # end of the last complete member; file offset of what was fed so far
    decompressor = zlib.decompressobj(wbits=31)
    while chunk := handle.read(1 << 20):
        while chunk:
            try:
                decompressor.decompress(chunk)
            except zlib.error:
                return good
            if not decompressor.eof:
                offset += len(chunk)  # the member goes on in the next chunk
                break
            offset += len(chunk) - len(decompressor.unused_data)
            good = offset
            chunk = decompressor.unused_data
            decompressor = zlib.decompressobj(wbits=31)
    return good


def recover_captures(folder: Path, live_runs: frozenset[int] = frozenset()) -> list[tuple[str, int]]:
    """Capture files a crashed crawl left open (still writable, no live writer): cut each back
    to its last complete record and seal it. Returns (file, bytes cut) for each one.

    Files of `live_runs` are left alone: on a folder shared by several machines a writer on
    another host holds no lock this host can see (network file systems may not pass flock on).
    """
    repaired = []
    if not folder.is_dir():
        return repaired
    for path in sorted(folder.glob("*.warc.gz")):
        if not _SAFE_NAME.fullmatch(path.name) or not path.stat().st_mode & stat.S_IWUSR:
            continue
        run = _RUN_OF_FILE.search(path.name)
        if run and int(run[1]) in live_runs:
            continue
        with path.open("r+b") as handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # another crawl is writing it
            size = os.fstat(handle.fileno()).st_size
            good = complete_length(handle)
            if good < size:
                handle.truncate(good)
                os.fsync(handle.fileno())
            _seal(path)
        repaired.append((path.name, size - good))
        logger.info("Recovered capture %(file)s left by a stopped crawl (%(cut)d bytes of a partial record cut)", {"file": path.name, "cut": size - good})
    return repaired


class CaptureDamaged(ValueError):
    """The capture a reference names is not a whole, intact response record any more (cut,
    overwritten, bytes flipped): the message says where and what, never the bytes."""


def read_capture(folder: Path, ref: CaptureRef) -> Captured:
    """The response record a capture reference names; `CaptureDamaged` when it is not one
    any more (its payload must match its digest), `OSError` when the file is gone."""
    with capture_path(folder, ref.file).open("rb") as handle:
        handle.seek(ref.offset)
        try:
            captured = _read_response(handle)
        except CaptureDamaged as damage:
            raise CaptureDamaged(f"{ref.file}@{ref.offset}: {damage}") from None
        except Exception as error:  # whatever a damaged record makes warcio or zlib raise
            raise CaptureDamaged(f"{ref.file}@{ref.offset}: unreadable ({_plain_reason(error)})") from None
    return captured


def _plain_reason(error: Exception) -> str:
    """The error's type, and its message when that is short plain text (warcio's quote the
    damaged bytes)."""
    message = str(error)
    if message and len(message) <= 120 and message.isascii() and message.isprintable() and "\\x" not in message:
        return f"{type(error).__name__}: {message}"
    return type(error).__name__


def _read_response(handle: IO[bytes]) -> Captured:
    for record in ArchiveIterator(handle):
        if record.rec_type != "response" or record.http_headers is None:
            break
        raw = record.raw_stream.read()
        digest = record.rec_headers.get_header("WARC-Payload-Digest")
        if digest and digest.startswith("sha1:") and digest != "sha1:" + base64.b32encode(hashlib.sha1(raw).digest()).decode():
            raise CaptureDamaged("its payload does not match its digest")
        return Captured(
            url=record.rec_headers.get_header("WARC-Target-URI"),
            warc_date=record.rec_headers.get_header("WARC-Date"),
            status=int(record.http_headers.get_statuscode()),
            headers=list(record.http_headers.headers),
            raw=raw,
            body=_decoded(record, raw),
        )
    raise CaptureDamaged("not a response record")


def _decoded(record: Any, raw: bytes) -> bytes:
    encoding = (record.http_headers.get_header("Content-Encoding") or "").lower()
    if encoding not in ("gzip", "deflate", "br"):
        return raw
    return DecompressingBufferedReader(BytesIO(raw), decomp_type=encoding).read()


def copy_captures(folder: Path, refs: Iterable[CaptureRef], out: IO[bytes]) -> int:
    """Copy the cited exchanges, byte for byte, each once, after a warcinfo record; returns
    how many were copied (gzip members concatenate into a valid WARC file)."""
    writer = WARCWriter(out, gzip=True, warc_version="1.1")
    writer.write_record(writer.create_warcinfo_record(None, {"software": f"coprod/{coprod_version}", "format": "WARC File Format 1.1"}))
    copied = 0
    for ref in dict.fromkeys(refs):
        with capture_path(folder, ref.file).open("rb") as handle:
            handle.seek(ref.offset)
            out.write(handle.read(ref.length))
        copied += 1
    return copied
