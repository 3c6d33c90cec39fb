"""The study report: the screening flow, the cases and the crawl behind them, for a paper.

`collect(session, config)` reads the catalogue into a `ReportData` of plain numbers (pure
reads, no rendering); `write_report(engine, config, out)` writes ``report.html`` (one
self-contained file: figures embedded, no script, no link out), each figure as PNG and SVG
beside it under ``figures/``, the numbers behind every figure as CSV under ``tables/`` and
all of it as ``report.json``.

The screening flow follows the PRISMA habit: each catalogued page leaves the flow at exactly
one step, with one reason, or reaches the end as an included candidate:

    fetched → unique → in language → flagged → screened → included

* **fetched**: every page of the catalogue (one per canonical URL). Leaves when the fetch
  failed or gave nothing to read (its drop reason: ``http_404``, ``not_html``,
  ``empty_extraction``...), when its text is a copy of an earlier page's, or when it is
  another language's version of a story kept once.
* **unique**: pages with a text of their own. Leaves when its language is not one of the
  study's (``study.languages``).
* **in language**: leaves when the relevance engine did not flag it, with the first signal
  that failed: not citizen-to-citizen, no place of the region, outside the window, score
  below the threshold.
* **flagged**: pages in the review queue (candidates). Leaves while not screened yet.
* **screened**: leaves when excluded (by the analyst's reason), left as maybe, or in conflict.
* **included**: the end; the included candidates are the evidence of the catalogue's cases.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display; must precede any figure

import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from crawler.core import __version__ as coprod_version
from crawler.core.config import Config
from review.codebook import Codebook, load_codebook
from review.screening import agreement_from_log
from storage.models import Candidate, Decision, Page, Run, Source
from storage.queries import case_rows, source_rows

__all__ = ["FLOW_STEPS", "FlowStep", "PageFate", "ReportData", "collect", "page_fates", "screening_flow", "write_report"]

FLOW_STEPS = ("fetched", "unique", "in_language", "flagged", "screened", "included")
STEP_LABELS = {
    "fetched": "Pages fetched",
    "unique": "Unique pages with text",
    "in_language": "In the study's languages",
    "flagged": "Flagged as likely cases",
    "screened": "Screened",
    "included": "Included",
}
EXIT_HEADINGS = {
    "fetched": "Removed before screening",
    "unique": "Other languages",
    "in_language": "Not flagged by the engine",
    "flagged": "Awaiting screening",
    "screened": "Not included",
}
_MATPLOTLIB = {
    "svg.hashsalt": "coprod",  # stable element ids: the same data draw the same SVG
    "svg.fonttype": "path",  # text as outlines: the SVG needs no font where it is opened
    "font.family": "DejaVu Sans",  # shipped with matplotlib; has Cyrillic
    "font.size": 9,
}


COPY = "copy of an earlier page"
OTHER_VERSION = "another language's version of a story"


@dataclass(frozen=True)
class PageFate:
    """Where one page left the screening flow (`step`, `reason`), or `step == "included"`."""

    page_id: int
    source: str
    kind: str
    step: str
    reason: str | None


@dataclass(frozen=True)
class FlowStep:
    step: str
    label: str
    count: int
    exits: dict[str, int]  # reason -> pages that left the flow here

    @property
    def left(self) -> int:
        return sum(self.exits.values())


@dataclass
class ReportData:
    """Every number the report shows."""

    study: str
    generated_at: str
    coprod_version: str
    seeds_sha256: str | None
    languages: list[str]
    flow: list[FlowStep]
    flow_by_kind: dict[str, list[FlowStep]]
    cases: int
    case_fields: dict[str, dict[str, int]]  # multi-valued codebook field -> value -> cases
    field_labels: dict[str, str]
    mode_by_direction: dict[str, dict[str, int]]  # direction -> mode -> cases
    timeline: dict[str, int]  # YYYY-MM of the case start date -> cases
    undated_cases: int
    raions: dict[str, int]
    hromadas: dict[str, int]
    unplaced_cases: int
    sources: list[dict[str, Any]]
    runs: list[dict[str, Any]]
    dropped: dict[str, int]
    kappas: list[dict[str, Any]] = field(default_factory=list)
    alphas: list[dict[str, Any]] = field(default_factory=list)


# --- the screening flow -------------------------------------------------------------------


# The engine's reason for a page clearly out of the study (relevance["out_reason"]), as the
# flow's categories: the full reason, with its dates and places, stays on the page.
OUT_REASONS = (
    ("articles are the candidates", "a listing, tag or home page"),
    ("outside the study window", "outside the study window"),
    ("before the study window", "outside the study window"),
    ("no citizen acts", "no citizen actor"),
    ("another region", "another region"),
    ("a run elsewhere", "another region"),
)


def _not_flagged_reason(page: Any) -> str:
    out = page.out_reason
    if out:
        return next((label for key, label in OUT_REASONS if key in out), out)
    return "probability below the threshold"


def _screened_out_reason(status: str, exclude_reason: str | None) -> str:
    if status == "exclude":
        return f"excluded: {exclude_reason or 'no reason given'}"
    return {"maybe": "left as maybe", "conflict": "analysts disagree (conflict)"}.get(status, status)


def page_fates(session: Session, languages: Sequence[str]) -> list[PageFate]:
    """Every page of the catalogue with the step at which it left the flow, by page id."""
    reasons: dict[int, str | None] = {}
    for candidate_id, reason in session.execute(
        select(Decision.candidate_id, Decision.reason).where(Decision.decision == "exclude").order_by(Decision.id)
    ):
        reasons[candidate_id] = reason  # the latest exclusion's reason stands
    # Only the columns the flow reads: a catalogue's texts and verdicts stay in the database.
    query = (
        select(
            Page.id, Page.drop_reason, Page.duplicate_of_id, Page.version_of_id, Page.language,
            Page.relevance["out_reason"].as_string().label("out_reason"), Source.name.label("source"), Source.kind.label("kind"),
            Candidate.id.label("candidate_id"), Candidate.status.label("status"),
        )
        .join(Source, Page.source_id == Source.id)
        .outerjoin(Candidate, Candidate.page_id == Page.id)
        .order_by(Page.id)
    )
    wanted = set(languages)
    fates = []
    for page in session.execute(query):
        candidate_id, status = page.candidate_id, page.status
        if page.drop_reason:
            step, reason = "fetched", page.drop_reason
        elif page.duplicate_of_id is not None:
            step, reason = "fetched", COPY
        elif page.version_of_id is not None:
            step, reason = "fetched", OTHER_VERSION
        elif (page.language or "und") not in wanted:
            step, reason = "unique", f"language: {page.language or 'und'}"
        elif candidate_id is None:
            step, reason = "in_language", _not_flagged_reason(page)
        elif status in ("unscreened", "awaiting_second"):
            step, reason = "flagged", "not screened yet" if status == "unscreened" else "awaiting a second analyst"
        elif status != "include":
            step, reason = "screened", _screened_out_reason(status, reasons.get(candidate_id))
        else:
            step, reason = "included", None
        fates.append(PageFate(page.id, page.source, page.kind, step, reason))
    return fates


def screening_flow(fates: Iterable[PageFate]) -> list[FlowStep]:
    """The flow's steps: how many pages reached each, and why the others left there."""
    exits: dict[str, Counter[str]] = {step: Counter() for step in FLOW_STEPS}
    total = 0
    for fate in fates:
        total += 1
        if fate.step != "included":
            exits[fate.step][fate.reason or "?"] += 1
    steps = []
    remaining = total
    for step in FLOW_STEPS:
        left = exits[step]
        steps.append(FlowStep(step, STEP_LABELS[step], remaining, dict(sorted(left.items(), key=lambda kv: (-kv[1], kv[0])))))
        remaining -= sum(left.values())
    return steps


# --- collecting ---------------------------------------------------------------------------


def _count(values: Iterable[str]) -> dict[str, int]:
    return dict(sorted(Counter(values).items(), key=lambda kv: (-kv[1], kv[0])))


def collect(session: Session, config: Config, codebook: Codebook | None = None) -> ReportData:
    """Read the catalogue into the report's numbers."""
    codebook = codebook or load_codebook(config.codebook_path)
    languages = list(config.study.languages)
    fates = page_fates(session, languages)
    by_kind: dict[str, list[PageFate]] = {}
    for fate in fates:
        by_kind.setdefault(fate.kind, []).append(fate)

    cases = case_rows(session, codebook.fields)
    multi = [f for f in codebook.fields if f.type == "multi"]
    case_fields = {f.name: _count(v for row in cases for v in row.get(f.name) or ()) for f in multi}
    names = {f.name for f in codebook.fields}
    mode_by_direction: dict[str, dict[str, int]] = {}
    if {"direction", "mode"} <= names:
        # Rows and columns in the codebook's order; values not in it (not coded) after.
        directions = list(codebook.field("direction").values)
        modes = list(codebook.field("mode").values)
        found = [(row.get("direction") or "not coded", row.get("mode") or "not coded") for row in cases]
        directions += sorted({d for d, _ in found} - set(directions))
        modes += sorted({m for _, m in found} - set(modes))
        counts = Counter(found)
        mode_by_direction = {d: {m: counts[(d, m)] for m in modes} for d in directions if any(counts[(d, m)] for m in modes)}
    start_field = next((f.name for f in codebook.fields if f.type == "date" and "start" in f.name), None)
    starts = [str(row.get(start_field))[:7] for row in cases if start_field and row.get(start_field)]
    raions = _count(r for row in cases for r in dict.fromkeys(x for x in row["raions"] if x))
    hromadas = _count(h for row in cases for h in dict.fromkeys(x for x in row["hromadas"] if x))

    runs = [
        {
            "run": run.id,
            "spider": run.spider,
            "started": run.started_at.isoformat(timespec="seconds") if run.started_at else None,
            "finished": run.finished_at.isoformat(timespec="seconds") if run.finished_at else None,
            "outcome": run.finish_reason or run.status,
            "fetched": run.pages_fetched,
            "stored": run.pages_stored,
            "dropped": run.pages_dropped,
            "errors": run.errors,
        }
        for run in session.scalars(select(Run).order_by(Run.id))
    ]
    dropped = _count(f.reason or "?" for f in fates if f.step == "fetched" and f.reason not in (COPY, OTHER_VERSION))
    kappas, alphas = agreement_from_log(session)
    sources = [{k: v for k, v in row.items() if not k.startswith("_") and k not in ("start_urls", "allowed_domains")} for row in source_rows(session)]
    return ReportData(
        study=config.study.name,
        generated_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        coprod_version=coprod_version,
        seeds_sha256=config.sha256,
        languages=languages,
        flow=screening_flow(fates),
        flow_by_kind={kind: screening_flow(items) for kind, items in sorted(by_kind.items())},
        cases=len(cases),
        case_fields=case_fields,
        field_labels={f.name: f.label for f in codebook.fields},
        mode_by_direction=mode_by_direction,
        timeline=dict(sorted(Counter(starts).items())),
        undated_cases=len(cases) - len(starts),
        raions=raions,
        hromadas=hromadas,
        unplaced_cases=sum(1 for row in cases if not any(row["raions"])),
        sources=sources,
        runs=runs,
        dropped=dropped,
        kappas=[
            {"analyst_a": a, "analyst_b": b, "kappa": r.kappa, "common_candidates": r.n, "observed_agreement": r.observed}
            for (a, b), r in sorted(kappas.items())
        ],
        alphas=[{"field": name, "alpha": r.alpha, "cases_coded_twice": r.n_units} for name, r in sorted(alphas.items())],
    )


# --- tables -------------------------------------------------------------------------------


def tables(data: ReportData) -> dict[str, pd.DataFrame]:
    """The numbers behind every figure, one table each (also the report's HTML tables)."""
    flow_rows = []
    for step in data.flow:
        flow_rows.append({"step": step.label, "pages": step.count, "left_here": step.left, "reason": ""})
        for reason, n in step.exits.items():
            flow_rows.append({"step": step.label, "pages": "", "left_here": n, "reason": reason})
    kinds = list(data.flow_by_kind)
    by_kind = pd.DataFrame(
        [{"step": s.label, **{kind: data.flow_by_kind[kind][i].count for kind in kinds}, "all": s.count} for i, s in enumerate(data.flow)],
        columns=["step", *kinds, "all"],
    )
    exits_by_kind = pd.DataFrame(
        [
            {"source_kind": kind, "step": step.label, "reason": reason, "pages": n}
            for kind, steps in data.flow_by_kind.items()
            for step in steps
            for reason, n in step.exits.items()
        ],
        columns=["source_kind", "step", "reason", "pages"],
    )
    modes = list(next(iter(data.mode_by_direction.values()), {}))
    crosstab = pd.DataFrame(
        [{"direction": d, **cell} for d, cell in data.mode_by_direction.items()], columns=["direction", *modes]
    )
    out = {
        "screening_flow": pd.DataFrame(flow_rows, columns=["step", "pages", "left_here", "reason"]),
        "flow_by_source_kind": by_kind,
        "flow_exits_by_source_kind": exits_by_kind,
        "cases_by_mode_and_direction": crosstab,
        "case_timeline": pd.DataFrame(list(data.timeline.items()), columns=["start_month", "cases"]),
        "cases_by_raion": pd.DataFrame(list(data.raions.items()), columns=["raion", "cases"]),
        "cases_by_hromada": pd.DataFrame(list(data.hromadas.items()), columns=["hromada", "cases"]),
        "source_yield": pd.DataFrame(data.sources),
        "crawl_runs": pd.DataFrame(data.runs, columns=["run", "spider", "started", "finished", "outcome", "fetched", "stored", "dropped", "errors"]),
        "dropped_by_reason": pd.DataFrame(list(data.dropped.items()), columns=["reason", "pages"]),
        "agreement_kappa": pd.DataFrame(data.kappas, columns=["analyst_a", "analyst_b", "kappa", "common_candidates", "observed_agreement"]),
        "agreement_alpha": pd.DataFrame(data.alphas, columns=["field", "alpha", "cases_coded_twice"]),
    }
    for name, counts in data.case_fields.items():
        out[f"cases_by_{name}"] = pd.DataFrame(list(counts.items()), columns=[name, "cases"])
    return out


# --- figures ------------------------------------------------------------------------------

_BOX = {"boxstyle": "round,pad=0.02,rounding_size=0.02", "linewidth": 1.0}
_MAIN, _SIDE, _EDGE = "#e8f0fb", "#fbeeee", "#333333"


def flow_figure(steps: Sequence[FlowStep], cases: int) -> Figure:
    """The PRISMA-style diagram: the steps down the left, who left at each on the right."""
    side_lines = [min(len(s.exits), 6) + 1 for s in steps[:-1]]
    heights = [max(1.0, 0.34 * n + 0.3) for n in side_lines] + [1.0]
    total = sum(heights) + 0.9
    fig = Figure(figsize=(9.5, 0.75 * total + 0.6))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 10)
    ax.set_ylim(0, total)
    ax.axis("off")
    y = total - 0.2
    centres = []
    for step, height in zip(steps, heights):
        centre = y - height / 2
        centres.append(centre)
        ax.add_patch(FancyBboxPatch((0.2, centre - 0.3), 3.6, 0.6, facecolor=_MAIN, edgecolor=_EDGE, **_BOX))
        ax.text(2.0, centre + 0.08, step.label, ha="center", va="center", weight="bold")
        ax.text(2.0, centre - 0.15, f"n = {step.count}", ha="center", va="center")
        if step.step != "included" and step.exits:
            lines = [f"{EXIT_HEADINGS[step.step]}: n = {step.left}"]
            shown = list(step.exits.items())
            lines += [f"  {_short(reason)}: {n}" for reason, n in shown[:5]]
            if len(shown) > 5:
                lines.append(f"  {len(shown) - 5} other reasons: {sum(n for _, n in shown[5:])}")
            box_h = 0.26 * len(lines) + 0.16
            ax.add_patch(FancyBboxPatch((5.0, centre - box_h / 2), 4.8, box_h, facecolor=_SIDE, edgecolor=_EDGE, **_BOX))
            ax.text(5.12, centre, "\n".join(lines), ha="left", va="center", linespacing=1.35)
            ax.annotate("", xy=(5.0, centre), xytext=(3.8, centre), arrowprops={"arrowstyle": "->", "color": _EDGE})
        y -= height
    for upper, lower in zip(centres, centres[1:]):
        ax.annotate("", xy=(2.0, lower + 0.3), xytext=(2.0, upper - 0.3), arrowprops={"arrowstyle": "->", "color": _EDGE})
    ax.text(2.0, centres[-1] - 0.55, f"evidence of {cases} case{'s' if cases != 1 else ''} in the catalogue", ha="center", va="center", style="italic")
    return fig


def _in_sentence(label: str) -> str:
    """'Service area' -> 'service area'; acronyms ('ICT channels') and names stay."""
    return label if label[:2].isupper() else label[:1].lower() + label[1:]


def _short(text: str, width: int = 58) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def bar_figure(counts: dict[str, int], title: str, xlabel: str = "cases", empty: str = "no cases yet") -> Figure:
    labels = [_short(k, 40) for k in counts]
    fig = Figure(figsize=(7.5, max(1.6, 0.32 * len(labels) + 1.0)), layout="constrained")
    ax = fig.add_subplot()
    ax.set_title(title, loc="left")
    if not counts:
        ax.text(0.5, 0.5, empty, ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return fig
    positions = range(len(labels))
    ax.barh(list(positions), list(counts.values()), color="#4a78b5")
    ax.set_yticks(list(positions), labels)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.xaxis.get_major_locator().set_params(integer=True)
    for position, value in zip(positions, counts.values()):
        ax.text(value, position, f" {value}", va="center")
    return fig


def crosstab_figure(table: dict[str, dict[str, int]]) -> Figure:
    rows = list(table)
    columns = list(next(iter(table.values()), {}))
    fig = Figure(figsize=(6.5, 1.2 + 0.55 * max(len(rows), 1)), layout="constrained")
    ax = fig.add_subplot()
    ax.set_title("Cases by direction and mode", loc="left")
    if not rows:
        ax.text(0.5, 0.5, "no cases yet", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return fig
    values = [[table[r].get(c, 0) for c in columns] for r in rows]
    ax.imshow(values, cmap="Blues", aspect="auto", vmin=0)
    ax.set_xticks(range(len(columns)), columns)
    ax.set_yticks(range(len(rows)), rows)
    peak = max(max(row) for row in values) or 1
    for i, row in enumerate(values):
        for j, value in enumerate(row):
            ax.text(j, i, str(value), ha="center", va="center", color="white" if value > peak / 2 else "black")
    return fig


def timeline_figure(timeline: dict[str, int], undated: int) -> Figure:
    fig = Figure(figsize=(7.5, 2.8), layout="constrained")
    ax = fig.add_subplot()
    ax.set_title(f"Case start dates by month ({undated} without a start date)", loc="left")
    if not timeline:
        ax.text(0.5, 0.5, "no dated cases yet", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return fig
    months = _month_range(min(timeline), max(timeline))
    ax.bar(range(len(months)), [timeline.get(m, 0) for m in months], color="#4a78b5")
    step = max(1, len(months) // 12)
    ax.set_xticks(range(0, len(months), step), months[::step], rotation=45, ha="right")
    ax.set_ylabel("cases")
    ax.yaxis.get_major_locator().set_params(integer=True)
    return fig


def _month_range(first: str, last: str) -> list[str]:
    year, month = int(first[:4]), int(first[5:7])
    months = []
    while f"{year:04d}-{month:02d}" <= last:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def yield_figure(sources: Sequence[dict[str, Any]]) -> Figure:
    fig = Figure(figsize=(7.5, max(2.2, 0.55 * len(sources) + 1.4)), layout="constrained")
    ax = fig.add_subplot()
    ax.set_title("Source yield: pages kept, candidates, cases", loc="left")
    names = [_short(s["source"], 30) for s in sources]
    series = [("pages_kept", "pages kept", "#9bb7dc"), ("candidates", "candidates", "#4a78b5"), ("cases", "cases", "#1d3f72")]
    width = 0.27
    for offset, (key, label, colour) in enumerate(series):
        positions = [i + (offset - 1) * width for i in range(len(names))]
        values = [s[key] for s in sources]
        ax.barh(positions, values, height=width, label=label, color=colour)
        for position, value in zip(positions, values):
            ax.text(value, position, f" {value}", va="center", fontsize=7)
    ax.set_yticks(range(len(names)), names)
    ax.invert_yaxis()
    ax.set_xlabel("count")
    ax.xaxis.get_major_locator().set_params(integer=True)
    fig.legend(loc="outside lower center", ncols=3, frameon=False)
    return fig


def figures(data: ReportData) -> dict[str, tuple[Figure, str]]:
    """Every figure of the report with its caption, by file name."""
    out: dict[str, tuple[Figure, str]] = {
        "screening_flow": (flow_figure(data.flow, data.cases), "Screening flow: every page leaves at exactly one step, with its reason."),
    }
    if data.mode_by_direction:
        out["cases_by_mode_and_direction"] = (crosstab_figure(data.mode_by_direction), "Cases by direction (Linders 2012) and mode.")
    for name, counts in data.case_fields.items():
        label = _in_sentence(data.field_labels.get(name, name))
        out[f"cases_by_{name}"] = (bar_figure(counts, f"Cases by {label}", empty="no case coded with this field yet"), f"Cases by {label} (a case can count under several values).")
    out["case_timeline"] = (timeline_figure(data.timeline, data.undated_cases), "Cases by the month they started.")
    out["cases_by_raion"] = (bar_figure(data.raions, "Cases by raion"), f"Cases by raion ({data.unplaced_cases} cases without a place).")
    out["source_yield"] = (yield_figure(data.sources), "Pages kept, candidates and cases per source.")
    out["dropped_by_reason"] = (bar_figure(data.dropped, "Pages removed before screening, by reason", "pages", "none"), "Pages whose fetch failed or gave nothing to read, by reason.")
    return out


# --- writing ------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["cell"] = _cell
    return env


def _save(fig: Figure, folder: Path, name: str) -> str:
    """Write PNG and SVG; return the SVG as a data URI for the self-contained page."""
    fig.savefig(folder / f"{name}.png", dpi=150, metadata={"Software": None})
    buffer = io.BytesIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    (folder / f"{name}.svg").write_bytes(buffer.getvalue())
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def write_report(engine: Engine, config: Config, out: Path) -> Path:
    """Write the report into `out` (created if needed); return the path of report.html."""
    with Session(engine) as session:
        data = collect(session, config)
    out.mkdir(parents=True, exist_ok=True)
    (out / "figures").mkdir(exist_ok=True)
    (out / "tables").mkdir(exist_ok=True)
    frames = tables(data)
    for name, frame in frames.items():
        frame.to_csv(out / "tables" / f"{name}.csv", index=False, lineterminator="\n")
    embedded = []
    with matplotlib.rc_context(_MATPLOTLIB):
        for name, (fig, caption) in figures(data).items():
            embedded.append({"name": name, "caption": caption, "src": _save(fig, out / "figures", name)})
    payload = asdict(data)
    (out / "report.json").write_text(json.dumps(payload, ensure_ascii=False, indent=1, default=str) + "\n", encoding="utf-8")
    html = _environment().get_template("report.html").render(data=data, figures=embedded, tables=frames, steps=FLOW_STEPS)
    path = out / "report.html"
    path.write_text(html, encoding="utf-8")
    return path
