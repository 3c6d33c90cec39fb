"""Export of the captures behind the catalogue: the WARC records the cases cite.

One WARC file holds, for every evidence page of every open case, each of its versions'
response and request records, copied byte for byte from the capture files (a case's
evidence is cited as it was fetched, every version of it). The captures are the pages as
published: unlike the table exports, they are not redacted.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from crawler.core.config import Config
from crawler.core.errors import BadInput
from review.export import ExportFilters, check_admin, private_file, record_export, write_meta
from storage.capture import CaptureRef, capture_path, copy_captures
from storage.models import Candidate, Case, CaseEvidence, PageVersion

__all__ = ["cited_versions", "export_captures"]


def cited_versions(session: Session) -> list[PageVersion]:
    """Captured versions of the evidence pages of open (not merged) cases, by page and number."""
    query = (
        select(PageVersion)
        .join(Candidate, Candidate.page_id == PageVersion.page_id)
        .join(CaseEvidence, CaseEvidence.candidate_id == Candidate.id)
        .join(Case, Case.id == CaseEvidence.case_id)
        .where(Case.merged_into_id.is_(None), PageVersion.warc_file.is_not(None))
        .order_by(PageVersion.page_id, PageVersion.number)
        .distinct()
    )
    return list(session.scalars(query))


def export_captures(
    engine: Engine, out: Path, folder: Path, config: Config | None = None, *, user: str | None, password: str | None
) -> int:
    """Write the cited records to `out` (a .warc.gz) and `<out>.meta.json`; return how many
    exchanges were copied. Captures are the pages as published (phones, emails and card
    numbers included), so `user` and `password` must be an admin's, as for an unredacted export."""
    if not out.name.endswith(".warc.gz"):
        raise BadInput(f"{out}: a captures export is a WARC file; name it *.warc.gz")
    check_admin(engine, user, password, "the captures export (the pages as published, unredacted)")
    with Session(engine) as session:
        versions = cited_versions(session)
        refs = [CaptureRef(v.warc_file or "", v.warc_offset or 0, v.warc_length or 0, v.captured_at) for v in versions]  # type: ignore[arg-type]
        runs = sorted({r for v in versions for r in (v.first_run_id, v.last_run_id) if r})
    missing = sorted({ref.file for ref in refs if not capture_path(folder, ref.file).is_file()})
    if missing:
        raise BadInput(f"capture file(s) missing from {folder}: {', '.join(missing[:5])} (pass --captures DIR?)")
    private_file(out)
    with out.open("wb") as handle:
        copied = copy_captures(folder, refs, handle)
    write_meta(engine, out, "captures", "warc", runs, config=config, filters=ExportFilters(), redact=False, user=user, rows={"captures": copied})
    record_export(engine, "captures", "warc", out, False, user, {"captures": copied})
    return copied
