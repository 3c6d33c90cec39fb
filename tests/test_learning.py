"""Active learning for the screening queue: work saved, the simulated screening loop, the ranker."""

from __future__ import annotations

import json
import pickle
import random
from pathlib import Path

import pytest
import sklearn

from crawler.core.config import load_config
from crawler.core.documents import read_documents
from pipelines.chain import Chain
from pipelines.relevance import engine_from_config
from review.learning import (
    FORMAT_VERSION,
    Example,
    IncompatibleRanker,
    NotEnoughLabels,
    Ranker,
    signals_of,
    simulate,
    wss_at,
)
from tests.conftest import DEMO_SEEDS

DEVSET = Path(__file__).parent / "data" / "devset.jsonl"


# --- work saved over sampling: WSS@R = R - k/N, k records screened to reach recall R ---


def test_wss_when_the_relevant_records_come_first() -> None:
    # 10 records, 2 relevant at ranks 1 and 2: 95% of 2 needs both, k = 2: 0.95 - 2/10 = 0.75.
    ranking = [True, True] + [False] * 8
    assert wss_at(0.95, ranking) == pytest.approx(0.75)
    # At 100%, also k = 2: 1 - 2/10 = 0.8.
    assert wss_at(1.0, ranking) == pytest.approx(0.8)


def test_wss_when_the_relevant_records_come_last() -> None:
    # 10 records, relevant at ranks 9 and 10: k = 10, 0.95 - 10/10 = -0.05 (worse than random).
    assert wss_at(0.95, [False] * 8 + [True, True]) == pytest.approx(-0.05)


def test_wss_counts_the_records_screened_until_the_recall_is_reached() -> None:
    # 20 records, 10 relevant at ranks 1-9 and 15.
    ranking = [True] * 9 + [False] * 5 + [True] + [False] * 5
    # 95% of 10 needs all 10 (9/10 < 0.95): k = 15, 0.95 - 15/20 = 0.20.
    assert wss_at(0.95, ranking) == pytest.approx(0.20)
    # 90% needs 9: k = 9, 0.90 - 9/20 = 0.45.
    assert wss_at(0.90, ranking) == pytest.approx(0.45)


def test_wss_at_exactly_the_recall_target() -> None:
    # 40 records, 20 relevant: 19 at ranks 1-19, the last at rank 40.
    ranking = [True] * 19 + [False] * 20 + [True]
    # 19/20 is exactly 95%: k = 19, 0.95 - 19/40 = 0.475.
    assert wss_at(0.95, ranking) == pytest.approx(0.475)
    # 100% needs the record at rank 40: 1 - 40/40 = 0.
    assert wss_at(1.0, ranking) == pytest.approx(0.0)


@pytest.mark.parametrize(("recall", "ranking"), [(0.95, [False, False]), (0.95, []), (0.0, [True]), (1.5, [True])])
def test_wss_rejects_what_it_cannot_measure(recall: float, ranking: list[bool]) -> None:
    with pytest.raises(ValueError):
        wss_at(recall, ranking)


# --- a synthetic set whose relevance is learnable from the text ---

PLACES = ["у Кривому Розі", "в Нікополі", "у Павлограді", "в Дніпрі", "у Кам'янському", "в Марганці"]
FILLERS = [
    "Подробиці на сторінці.",
    "Фото надали організатори.",
    "Телефон для довідок вказано нижче.",
    "Нагадаємо, минулого тижня було схоже.",
    "Про це повідомили в понеділок.",
    "Деталі уточнюються.",
]
RELEVANT = [
    "Волонтери збирають кошти на генератори для лікарні {place}. {filler}",
    "Волонтери збирають речі для переселенців {place}, долучайтеся. {filler}",
    "Мешканці та волонтери збирають продукти для літніх сусідів {place}. {filler}",
]
IRRELEVANT = [
    "Міська рада оголосила тендер на ремонт доріг {place}. {filler}",
    "Міська рада оголосила про зміни в розкладі автобусів {place}. {filler}",
    "Виконком міської ради оголосила конкурс на посаду директора {place}. {filler}",
]


def synthetic_set(n_relevant: int = 12, n_irrelevant: int = 36, seed: int = 7) -> tuple[list[Example], list[bool]]:
    rng = random.Random(seed)
    rows = [(template, True) for template in RELEVANT * n_relevant][:n_relevant]
    rows += [(template, False) for template in IRRELEVANT * n_irrelevant][:n_irrelevant]
    rng.shuffle(rows)
    examples = [
        Example(f"doc-{i}", template.format(place=rng.choice(PLACES), filler=rng.choice(FILLERS)))
        for i, (template, _) in enumerate(rows)
    ]
    return examples, [relevant for _, relevant in rows]


def test_simulation_saves_work_when_relevance_is_in_the_text() -> None:
    examples, labels = synthetic_set()
    result = simulate(examples, labels, seed=0)
    assert (result.n, result.n_relevant, result.prior) == (48, 12, 2)
    # At best k = 13 (the 12 relevant and the irrelevant prior record): 0.95 - 13/48 = 0.68.
    assert result.wss95 > 0.5
    assert result.wss95 == pytest.approx(0.95 - result.records_to_95 / 48)
    assert result.records_to_95 < result.random_records_to_95
    # 12 relevant, 95% needs all 12; in random order the 12th comes at 12 * 49/13 on average.
    assert result.random_records_to_95 == pytest.approx(12 * 49 / 13)
    assert result.curve[0] == (0, 0)
    assert result.curve[-1][1] == 12
    assert [screened for screened, _ in result.curve] == list(range(len(result.curve)))
    assert all(b - a in (0, 1) for (_, a), (_, b) in zip(result.curve, result.curve[1:]))


def test_simulation_is_deterministic_for_a_seed() -> None:
    examples, labels = synthetic_set()
    assert simulate(examples, labels, seed=3) == simulate(examples, labels, seed=3)


def test_simulation_saves_little_when_labels_are_noise() -> None:
    examples, labels = synthetic_set()
    shuffled = list(labels)
    random.Random(11).shuffle(shuffled)
    result = simulate(examples, shuffled, seed=0)
    assert result.n_relevant == 12
    assert result.wss95 < 0.3


def test_simulation_in_batches_with_a_larger_prior() -> None:
    examples, labels = synthetic_set()
    result = simulate(examples, labels, prior_relevant=2, prior_irrelevant=3, batch=5, seed=1)
    assert result.prior == 5
    assert result.curve[-1][1] == 12
    assert result.wss95 > 0.4


def test_simulation_needs_a_prior_of_both_kinds() -> None:
    examples, labels = synthetic_set()
    with pytest.raises(NotEnoughLabels):
        simulate(examples, labels, prior_relevant=0)
    with pytest.raises(NotEnoughLabels):
        simulate(examples, [False] * len(examples))
    with pytest.raises(NotEnoughLabels):
        simulate(examples, labels, prior_relevant=13)


# --- the ranker ---


def test_ranker_ranks_unseen_relevant_texts_first() -> None:
    examples, labels = synthetic_set()
    ranker = Ranker.train(examples[:24], labels[:24])
    scores = ranker.scores(examples[24:])
    relevant = [s for s, label in zip(scores, labels[24:]) if label]
    irrelevant = [s for s, label in zip(scores, labels[24:]) if not label]
    assert min(relevant) > max(irrelevant)
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert ranker.metadata["n_labels"] == 24
    assert ranker.metadata["n_positive"] == sum(labels[:24])
    assert ranker.metadata["version"] == FORMAT_VERSION
    assert ranker.metadata["trained_at"].endswith("+00:00")


def test_ranker_is_deterministic() -> None:
    examples, labels = synthetic_set()
    first = Ranker.train(examples, labels).scores(examples)
    assert Ranker.train(examples, labels).scores(examples) == first


def test_ranker_fits_its_features_on_the_pool_too() -> None:
    examples, labels = synthetic_set()
    ranker = Ranker.train(examples[:10], labels[:10], pool=examples[10:])
    assert ranker.metadata["n_labels"] == 10
    assert len(ranker.scores(examples)) == len(examples)
    assert ranker.scores([]) == []


def test_ranker_save_and_load_give_the_same_scores(tmp_path: Path) -> None:
    examples, labels = synthetic_set()
    examples = [Example(e.id, e.text, {"score": float(i % 7), "in_region": float(i % 2)}) for i, e in enumerate(examples)]
    ranker = Ranker.train(examples, labels)
    path = tmp_path / "ranker.pickle"
    ranker.save(path)
    loaded = Ranker.load(path)
    assert loaded.scores(examples) == ranker.scores(examples)
    assert loaded.metadata == ranker.metadata
    assert loaded.metadata["signals"] == ["in_region", "score"]
    # A record missing a signal seen in training counts it as 0.
    assert len(loaded.scores([Example("x", "Волонтери збирають кошти")])) == 1


def rewrite_header(path: Path, **changes: object) -> None:
    with path.open("rb") as file:
        header, payload = pickle.load(file), file.read()
    path.write_bytes(pickle.dumps({**header, **changes}) + payload)


def test_ranker_load_refuses_another_format_version(tmp_path: Path) -> None:
    examples, labels = synthetic_set()
    path = tmp_path / "ranker.pickle"
    Ranker.train(examples, labels).save(path)
    rewrite_header(path, version=FORMAT_VERSION + 1)
    with pytest.raises(IncompatibleRanker, match=f"version {FORMAT_VERSION + 1}.*retrain"):
        Ranker.load(path)


def test_ranker_load_refuses_another_scikit_learn(tmp_path: Path) -> None:
    examples, labels = synthetic_set()
    path = tmp_path / "ranker.pickle"
    Ranker.train(examples, labels).save(path)
    rewrite_header(path, sklearn="0.1.0")
    with pytest.raises(IncompatibleRanker, match="scikit-learn 0.1.0"):
        Ranker.load(path)
    rewrite_header(path, sklearn=sklearn.__version__)
    assert Ranker.load(path).metadata["n_labels"] == len(labels)


def test_ranker_needs_both_kinds_of_label() -> None:
    examples, labels = synthetic_set()
    with pytest.raises(NotEnoughLabels, match="12 relevant and 0 irrelevant"):
        Ranker.train([e for e, label in zip(examples, labels) if label], [True] * 12)
    with pytest.raises(ValueError):  # NotEnoughLabels is a ValueError
        Ranker.train(examples[:3], [False, False, False])
    with pytest.raises(ValueError, match="3 examples but 2 labels"):
        Ranker.train(examples[:3], [True, False])


# --- features from the engine's verdict ---

VERDICT = {
    "score": 7.5,
    "flagged": True,
    "direction": "C2C",
    "direction_confidence": 0.8,
    "direction_evidence": ["Волонтери збирають кошти"],
    "mode": "co-delivery",
    "mode_confidence": 0.6,
    "mode_evidence": [],
    "in_region": True,
    "places": [{"code": "UA12060170010065850", "name": "Кривий Ріг"}],
    "published": "2022-09-19",
    "date_source": "metadata",
    "in_window": True,
    "identifiers": [{"kind": "telegram", "value": "t.me/example"}, {"kind": "card", "value": "5168 0000 0000 0000"}],
    "ict": ["telegram", "crowdfunding"],
    "services": ["humanitarian_aid"],
    "terms": {},
    "reasons": ["C2C cue"],
}


def test_signals_of_a_verdict() -> None:
    assert signals_of(VERDICT) == {
        "score": 7.5,
        "flagged": 1.0,
        "direction_confidence": 0.8,
        "mode_confidence": 0.6,
        "in_region": 1.0,
        "direction_c2c": 1.0,
        "direction_g2c": 0.0,
        "direction_c2g": 0.0,
        "direction_none": 0.0,
        "mode_co_design": 0.0,
        "mode_co_delivery": 1.0,
        "mode_co_monitoring": 0.0,
        "mode_none": 0.0,
        "in_window_true": 1.0,
        "in_window_false": 0.0,
        "ict_count": 2.0,
        "services_count": 1.0,
        "identifiers_count": 2.0,
        "places_count": 1.0,
    }


@pytest.mark.parametrize(("in_window", "flags"), [(True, (1.0, 0.0)), (False, (0.0, 1.0)), (None, (0.0, 0.0))])
def test_signals_of_the_window_test(in_window: bool | None, flags: tuple[float, float]) -> None:
    signals = signals_of({**VERDICT, "in_window": in_window})
    assert (signals["in_window_true"], signals["in_window_false"]) == flags


def test_signals_of_an_empty_verdict_has_the_same_keys() -> None:
    empty = signals_of({})
    assert empty.keys() == signals_of(VERDICT).keys()
    assert set(empty.values()) == {0.0}


# --- the project's labelled development set ---


def read_devset() -> tuple[list[dict], list[bool]]:
    with DEVSET.open(encoding="utf-8") as lines:
        rows = [json.loads(line) for line in lines if line.strip()]
    return rows, [bool(row["labels"]["relevant"]) for row in rows]


def test_development_set_text_only() -> None:
    """Text alone: about 0.19-0.22 over seeds 0-5 (0.207 with seed 0), against a ceiling
    of 0.95 - 69/175 = 0.556. A third of the irrelevant pages are citizen initiatives out of
    the region or the window, worded like the relevant ones, and the English pages share no
    character n-grams with the Cyrillic ones that make up most labels."""
    rows, labels = read_devset()
    assert len(rows) >= 150
    result = simulate([Example(row["id"], row["text"]) for row in rows], labels, seed=0)
    assert result.wss95 > 0.15
    assert result.records_to_95 < result.random_records_to_95 - 25


def test_development_set_with_the_engine_signals() -> None:
    """With the engine's signals: about 0.53 (the engine is tuned on this very set, so this
    is an optimistic figure)."""
    chain = Chain(engine_from_config(load_config(DEMO_SEEDS)))
    documents = list(read_documents(DEVSET, labelled=True))
    examples, labels = [], []
    for doc in documents:
        item = chain.run(doc.item("devset"))
        examples.append(Example(doc.id, "\n".join(filter(None, (item.title, item.text))), signals_of(item.relevance)))
        labels.append(bool(doc.labels["relevant"]))
    result = simulate(examples, labels, seed=0)
    assert result.wss95 > 0.4
