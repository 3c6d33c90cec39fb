"""The active-learning loop over the catalogue: train on the analysts' decisions, re-rank
the open queue. Runs outside requests: `coprod learn`, started by the app in a subprocess.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from storage.models import Candidate, Decision, Page, RankerRun

__all__ = ["LearnOutcome", "decisions_count", "latest_run", "retrain"]

LABELS = {"include": True, "exclude": False}


@dataclass(frozen=True)
class LearnOutcome:
    trained: bool
    labels: int
    positives: int
    scored: int
    reason: str


def decisions_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Decision).where(Decision.decision.in_(("include", "exclude", "maybe")))) or 0


def latest_run(session: Session) -> RankerRun | None:
    return session.scalar(select(RankerRun).order_by(RankerRun.id.desc()).limit(1))


def retrain(engine: Engine, minimum: int) -> LearnOutcome:
    """Train on the settled candidates (included or excluded), score every other one: the
    engine's probability corrected by what the decisions teach about the text."""
    # Here, not at the top: the review app imports this module for its counts and must
    # start without scikit-learn.
    from review.learning import Example, NotEnoughLabels, Ranker, prior_of

    with Session(engine) as session:
        count = decisions_count(session)
        if count < minimum:
            return LearnOutcome(False, 0, 0, 0, f"{count} decisions, the model starts after {minimum}")
        rows = session.execute(select(Candidate.id, Candidate.status, Page.title, Page.text, Page.relevance).join(Page, Page.id == Candidate.page_id)).all()
    examples = {cid: Example(str(cid), f"{title or ''}\n{text or ''}", prior_of(relevance)) for cid, _, title, text, relevance in rows}
    settled = [(cid, LABELS[status]) for cid, status, *_ in rows if status in LABELS]
    labels = [label for _, label in settled]
    try:
        ranker = Ranker.train([examples[cid] for cid, _ in settled], labels, pool=list(examples.values()))
    except NotEnoughLabels as exc:
        return LearnOutcome(False, len(settled), sum(labels), 0, str(exc))
    open_ids = [cid for cid, status, *_ in rows if status not in LABELS]
    scores = ranker.scores([examples[cid] for cid in open_ids]) if open_ids else []
    with Session(engine) as session, session.begin():
        for cid, score in zip(open_ids, scores, strict=True):
            session.get(Candidate, cid).model_score = round(float(score), 6)
        session.add(RankerRun(decisions=count, labels=len(settled), positives=sum(labels), scored=len(open_ids)))
    return LearnOutcome(True, len(settled), sum(labels), len(open_ids), "trained")
