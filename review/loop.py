"""The active-learning loop over the catalogue: train on the analysts' decisions, re-rank
the open queue. Runs outside requests: `coprod learn`, started by the app in a subprocess.

Every attempt is a `ranker_runs` row with its outcome (trained, not_enough_labels, failed)
and why, so the app can say when the model failed and when a retraining is due, instead of
quietly ranking by an old model.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from storage.models import Candidate, Decision, Page, RankerRun

__all__ = ["LearnOutcome", "LoopStatus", "decisions_count", "learning_status", "record_failure", "retrain"]

LABELS = {"include": True, "exclude": False}


@dataclass(frozen=True)
class LearnOutcome:
    trained: bool
    labels: int
    positives: int
    scored: int
    reason: str


@dataclass(frozen=True)
class LoopStatus:
    """Where the loop stands: the model ranking the queue (if any), the last attempt, the
    decisions in the log, and whether a retraining is due and why."""

    trained: RankerRun | None
    last: RankerRun | None
    decisions: int
    learning_after: int
    unscored: int

    @property
    def due(self) -> str | None:
        if self.decisions < self.learning_after:
            return None
        if self.last is None:
            return f"{self.decisions} decisions are in the log: the first training is due"
        if self.decisions > self.last.decisions:
            return f"{self.decisions - self.last.decisions} new decisions since the last training: a retraining is due"
        if self.trained is not None and self.last.outcome == "trained" and self.unscored:
            return f"{self.unscored} open candidates wait for the model's score: a retraining is due"
        return None

    @property
    def failure(self) -> str | None:
        if self.last is None or self.last.outcome == "trained":
            return None
        when = self.last.trained_at.isoformat(timespec="minutes")
        if self.last.outcome == "not_enough_labels":
            return f"the model could not train at {when}: {self.last.detail} (it tries again after new decisions)"
        return f"training the model failed at {when}: {self.last.detail} (it tries again after new decisions)"


def decisions_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Decision).where(Decision.decision.in_(("include", "exclude", "maybe")))) or 0


def learning_status(session: Session, learning_after: int) -> LoopStatus:
    trained = session.scalar(select(RankerRun).where(RankerRun.outcome == "trained").order_by(RankerRun.id.desc()).limit(1))
    last = session.scalar(select(RankerRun).order_by(RankerRun.id.desc()).limit(1))
    unscored = 0
    if trained is not None:
        unscored = session.scalar(
            select(func.count()).select_from(Candidate).where(Candidate.model_score.is_(None), Candidate.status.not_in(tuple(LABELS)))
        ) or 0
    return LoopStatus(trained, last, decisions_count(session), learning_after, unscored)


def record_failure(session: Session, decisions: int, detail: str) -> None:
    """An attempt that ended without a word from `retrain` (the trainer crashed)."""
    session.add(RankerRun(decisions=decisions, labels=0, positives=0, scored=0, outcome="failed", detail=detail[-1000:]))


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
        with Session(engine) as session, session.begin():
            session.add(RankerRun(decisions=count, labels=len(settled), positives=sum(labels), scored=0, outcome="not_enough_labels", detail=str(exc)))
        return LearnOutcome(False, len(settled), sum(labels), 0, str(exc))
    open_ids = [cid for cid, status, *_ in rows if status not in LABELS]
    scores = ranker.scores([examples[cid] for cid in open_ids]) if open_ids else []
    with Session(engine) as session, session.begin():
        for cid, score in zip(open_ids, scores, strict=True):
            session.get(Candidate, cid).model_score = round(float(score), 6)
        session.add(RankerRun(decisions=count, labels=len(settled), positives=sum(labels), scored=len(open_ids), outcome="trained"))
    return LearnOutcome(True, len(settled), sum(labels), len(open_ids), "trained")
