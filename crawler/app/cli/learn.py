"""coprod learn and coprod simulate: the active-learning model of the screening queue."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from crawler.app.cli.common import command_parser, config_of, database_url
from crawler.core.config import Config
from crawler.core.documents import read_documents
from crawler.core.errors import BadInput
from pipelines._drop import PageDropped
from pipelines.chain import Chain
from pipelines.relevance import engine_from_config
from pipelines.relevance.evaluation import DEFAULT_FOLDS, learned_from, out_of_fold
from review.learning import Example, simulate
from review.loop import retrain
from storage.db import open_catalogue

LEARN_EXAMPLES = """
coprod learn                          # train on the decisions so far, re-rank the open queue
coprod learn --db sqlite:///data/demo.sqlite --seeds crawler/app/demo/seeds.yaml

The review app runs this by itself, in a subprocess, once review.learning_after decisions are
in the log and again after new ones; run it by hand (or from cron) after a crawl to rank the
new candidates at once. The model starts from the relevance engine's probability of each
candidate and corrects it by what the decisions teach about the text.
"""
SIMULATE_EXAMPLES = """
coprod simulate tests/data/devset.jsonl
coprod simulate labelled.jsonl --prior 1 --seed 7
coprod simulate labelled.jsonl --text-only --seed 3

Replays screening on a labelled file (the format of coprod evaluate): the model ranks the
records, the top one is "screened" with its true label, the model retrains; reports the
records screened until 95% of the relevant ones were found, the work saved over random
order (WSS@95), and the same for the engine's order alone.

The model starts from the engine's probability of each record. When the engine's weights
were learned from FILE, that probability is K-fold cross-validated (default K = 5, as
coprod evaluate): each record's comes from weights learned without its fold, so the
simulation never ranks a record by weights that saw its label. By default nothing is known
at the start and screening begins at the engine's top, as in the review app's queue;
--prior N starts from N relevant and N irrelevant records drawn at random (seeded), as
ASReview's simulations do. --text-only leaves the engine out: the text alone, from a prior
of 1 and 1 unless --prior says otherwise.
"""


def add_parsers(commands: argparse._SubParsersAction) -> None:
    learn = command_parser(commands, "learn", "Train the screening model on the decisions and re-rank the open queue.", LEARN_EXAMPLES)
    learn.add_argument("--after", type=int, metavar="N", help="decisions needed before the model trains (default: review.learning_after)")
    learn.set_defaults(run=run_learn)
    sim = command_parser(commands, "simulate", "Replay screening on a labelled file; report work saved at 95% recall.", SIMULATE_EXAMPLES)
    sim.add_argument("file", type=Path, metavar="FILE.jsonl")
    sim.add_argument("--prior", type=int, metavar="N", help="relevant and irrelevant records known at the start, drawn at random (default: 0, 1 with --text-only)")
    sim.add_argument("--seed", type=int, default=0, help="seed of the prior's random choice and of the order of ties (default: 0)")
    sim.add_argument("--text-only", action="store_true", help="train on the text alone, without the relevance engine's probability")
    sim.add_argument("--cv", type=int, metavar="K", help=f"folds of the engine's cross-validated probability (default: {DEFAULT_FOLDS} when the weights were learned from FILE)")
    sim.set_defaults(run=run_simulate)


def run_learn(args: argparse.Namespace) -> int:
    config = config_of(args)
    engine = open_catalogue(database_url(args, config), create=False)
    try:
        outcome = retrain(engine, args.after if args.after is not None else config.review.learning_after)
    finally:
        engine.dispose()
    print(f"{outcome.reason}: {outcome.labels} labels ({outcome.positives} included), {outcome.scored} open candidates ranked")
    return 0


@dataclass(frozen=True)
class Records:
    """A labelled file read for a simulation: each record's text, its engine probability (or
    None) and its label, and how the probability was obtained."""

    examples: list[Example]
    labels: list[bool]
    engine: str  # "none", "as configured", or "K-fold cross-validated"


def simulation_records(config: Config, path: Path, *, text_only: bool = False, folds: int | None = None) -> Records:
    """The records of a labelled file as the screening model sees them: the text the stage
    chain extracts, and the engine's probability, out of fold when the weights were learned
    from this very file (as `coprod evaluate` reports it)."""
    if not path.is_file():
        raise BadInput(f"{path}: no such file")
    if folds is not None and folds < 2:
        raise BadInput("--cv needs at least 2 folds")
    documents = list(read_documents(path, labelled=True))
    if not documents:
        raise BadInput(f"{path}: the labelled file holds no documents")
    texts = []
    chain = Chain(None)  # extraction, masking, language: the text an analyst reads
    for doc in documents:
        item = doc.item("simulate")
        try:
            chain.run(item)
        except PageDropped:
            pass  # no text: the model sees an empty record, as an analyst would
        texts.append("\n".join(filter(None, (item.title, item.text))))
    labels = [bool(doc.labels.get("relevant")) for doc in documents]
    if text_only:
        return Records([Example(d.id, t) for d, t in zip(documents, texts)], labels, "none")

    engine = engine_from_config(config)
    folds = folds or (DEFAULT_FOLDS if learned_from(engine, path) else None)
    if folds is None:
        judge = Chain(engine)
        scores = [judge.verdict(doc.item("simulate")).score for doc in documents]
        how = "as configured"
    else:
        judged = out_of_fold(engine, config.weights_path, path, folds)
        if judged.missing:
            print(f"coprod: note: not found, left out of the engine's training: {', '.join(map(str, judged.missing))}", file=sys.stderr)
        scores = [verdict.score for verdict in judged.verdicts]
        how = f"{folds}-fold cross-validated"
    return Records([Example(d.id, t, s) for d, t, s in zip(documents, texts, scores)], labels, how)


def run_simulate(args: argparse.Namespace) -> int:
    prior = args.prior if args.prior is not None else (1 if args.text_only else 0)
    if prior < 0:
        raise BadInput("--prior cannot be negative")
    records = simulation_records(config_of(args), args.file, text_only=args.text_only, folds=args.cv)
    result = simulate(records.examples, records.labels, prior_relevant=prior, prior_irrelevant=prior, seed=args.seed)
    model = "the text alone" if args.text_only else f"the engine's probability ({records.engine}) and the text"
    print(f"{result.n} records, {result.n_relevant} relevant; model: {model}; {result.prior} prior records at random, seed {args.seed}")
    print(
        f"records screened to reach 95% recall: {result.records_to_95} (random order: {result.random_records_to_95:.1f} on average, "
        f"as few with probability {result.random_chance:.2g})"
    )
    if result.engine_records_to_95 is not None:
        print(f"the engine's order alone: {result.engine_records_to_95} (WSS@95 {0.95 - result.engine_records_to_95 / result.n:.3f})")
    print(f"WSS@95: {result.wss95:.3f}")
    return 0
