"""The relevance engine: is this page a C2C co-production case of the study, and why.

Each signal is computed and kept separately, with its evidence:

* **who acts** (direction): per sentence, a citizen actor (volunteers, residents, a charity)
  or a state actor (council, administration, police) next to an action verb is a cue of
  C2C or G2C; first-person calls of an initiative ("збираємо", "долучайтеся") are C2C cues
  on their own; petitions, participatory budgets and reports to official services are C2G.
  The title and lead weigh double. Citizens supplying the army serve a state body, so a
  citizen initiative whose services are mainly military supply is C2G;
* **where**: places of the study region from the KATOTTG gazetteer, weighed against places
  of other oblasts named in the same text;
* **when**: the date from metadata, else from the text; the window test is true, false or
  unknown, and unknown never counts as true;
* **how** (ICT): lexicon channels and the identifiers found (Telegram, jars, forms...);
* **mode**: co-design, co-delivery or co-monitoring cues.

A page is flagged when it is C2C, in the region, not known to be outside the window, and
its score reaches the threshold. The score orders the review queue.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from pipelines.relevance.dates import in_window, mentioned_years, publication_date
from pipelines.relevance.gazetteer import Gazetteer, PlaceMatch, load_gazetteer
from pipelines.relevance.identifiers import find_identifiers
from pipelines.relevance.lexicon import Lexicon, TermMatch, load_lexicon
from pipelines.relevance.morphology import CALL, IMPERSONAL, PLURAL_PAST, WE, Lemmatizer, fold, tokenize

__all__ = ["DIRECTIONS", "MODES", "Assessment", "Engine", "build_engine"]

DIRECTIONS = ("C2C", "G2C", "C2G", "none")
MODES = ("co-design", "co-delivery", "co-monitoring", "none")
LEAD_SENTENCES = 2  # the title and the first sentence after it
MAX_TEXT_CHARS = 6_000  # the head of a page carries its verdict; beyond it are related stories, comments, dumps
EVIDENCE_CHARS = 280
# Identifier kinds as ICT channels of the codebook.
_IDENTIFIER_CHANNELS = {
    "telegram": "telegram",
    "telegram_bot": "bot",
    "telegram_chat": "chat",
    "instagram": "social_media",
    "facebook": "social_media",
    "jar": "crowdfunding",
    "card": "crowdfunding",
    "website": "website",
    "email": "email",
    "phone": "phone",
}


@dataclass(frozen=True)
class Assessment:
    """The engine's verdict on one document, with every reason kept."""

    score: float
    flagged: bool
    direction: str
    direction_confidence: float
    direction_evidence: list[str]
    mode: str
    mode_confidence: float
    mode_evidence: list[str]
    in_region: bool
    places: list[dict[str, Any]]
    published: str | None
    date_source: str | None
    in_window: bool | None
    identifiers: list[dict[str, str]]
    ict: list[str]
    services: list[str]
    terms: dict[str, list[dict[str, Any]]]
    reasons: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class Engine:
    def __init__(
        self,
        lexicon: Lexicon,
        gazetteer: Gazetteer,
        lemmatizer: Lemmatizer,
        window: tuple[dt.date, dt.date],
        threshold: float,
    ):
        self.lexicon = lexicon
        self.gazetteer = gazetteer
        self.lemmatizer = lemmatizer
        self.window = window
        self.threshold = threshold
        self._homes: dict[str, list[PlaceMatch]] = {}

    def assess(
        self,
        text: str,
        *,
        title: str | None = None,
        language: str = "uk",
        published: str | None = None,
        links: Iterable[str] = (),
        source_kind: str | None = None,
        source_region: str | None = None,
    ) -> Assessment:
        """Judge one document. `source_kind` is the kind of its source in seeds.yaml: a
        council site speaks as the state, so its "we" and its calls are the state's.
        `source_region` is the source's region: a post of a Dnipro channel that names no
        place is about Dnipro."""
        body = fold(text[:MAX_TEXT_CHARS])
        full = f"{fold(title)}\n{body}" if title and not body.startswith(fold(title)) else body
        tokens, spans = tokenize(full)
        sentences = [full[a:b].strip() for a, b in spans]
        analyses = [self.lemmatizer.analyse(token.lower, language) for token in tokens]
        matches = self.lexicon.match(tokens, [lemmas for lemmas, _ in analyses], language)
        by_signal: dict[str, list[TermMatch]] = defaultdict(list)
        for match in matches:
            by_signal[match.signal].append(match)
        voice: dict[int, set[str]] = defaultdict(set)
        for token, (_, features) in zip(tokens, analyses):
            if features:
                voice[token.sentence].update(features)

        region_places, codified_elsewhere = self.gazetteer.locate(full)
        elsewhere_terms = [(m.term, m.start) for m in by_signal["elsewhere"]]
        region_places = _unqualified(region_places, codified_elsewhere + elsewhere_terms)
        other_places = _not_origins(codified_elsewhere + elsewhere_terms, full, spans, by_signal["displacement"])
        lead_end = spans[LEAD_SENTENCES - 1][1] if len(spans) >= LEAD_SENTENCES else len(full)
        in_region = _in_region(region_places, other_places, lead_end)
        home = self._home(source_region) if not region_places and not other_places else []
        if home:
            region_places, in_region = home, True

        found_date = publication_date(published, body)
        window_ok = in_window(found_date.date if found_date else None, *self.window)
        looked_back = False
        if window_ok is False and found_date is not None and found_date.date > self.window[1]:
            # A later story about what an initiative did during the window ("у 2022-2023
            # роках волонтери вивозили...") still documents a case of the window.
            start, end = self.window
            looked_back = any(start.year <= year <= end.year for year in mentioned_years(body))
            window_ok = True if looked_back else window_ok

        identifiers = find_identifiers(full, links)
        services = Counter(m.group for m in by_signal["service"])
        direction, direction_conf, direction_evidence = _direction(by_signal, voice, services, sentences, source_kind == "council")
        mode, mode_conf, mode_evidence = _mode(by_signal["mode"], direction, sentences)
        ict = sorted({m.group for m in by_signal["ict"]} | {_IDENTIFIER_CHANNELS[i.kind] for i in identifiers if i.kind in _IDENTIFIER_CHANNELS})

        score = _score(direction, direction_conf, by_signal, in_region, window_ok, ict, services)
        flagged = direction == "C2C" and in_region and window_ok is not False and score >= self.threshold
        return Assessment(
            score=round(score, 3),
            flagged=flagged,
            direction=direction,
            direction_confidence=round(direction_conf, 3),
            direction_evidence=direction_evidence,
            mode=mode,
            mode_confidence=round(mode_conf, 3),
            mode_evidence=mode_evidence,
            in_region=in_region,
            places=[_place_json(p) for p in _unique_places(region_places)],
            published=found_date.date.isoformat() if found_date else None,
            date_source=found_date.source if found_date else None,
            in_window=window_ok,
            identifiers=[{"kind": i.kind, "value": i.value} for i in identifiers],
            ict=ict,
            services=[name for name, _ in services.most_common()],
            terms=_terms_json(by_signal, sentences, full),
            reasons=_reasons(direction, direction_conf, in_region, region_places, other_places, found_date, window_ok, looked_back, ict, mode),
        )


    def _home(self, region: str | None) -> list[PlaceMatch]:
        if not region:
            return []
        found = self._homes.get(region)
        if found is None:
            found = self._homes[region] = [replace(p, surface=f"(source region) {p.surface}", start=0, end=0) for p in self.gazetteer.find(region)]
        return found


def build_engine(
    lexicon_paths: Sequence[Path],
    region_code: str,
    place_files: Sequence[Path],
    window: tuple[dt.date, dt.date],
    threshold: float,
) -> Engine:
    lemmatizer = Lemmatizer()
    return Engine(
        load_lexicon(lexicon_paths, lemmatizer),
        load_gazetteer(region_code, tuple(place_files)),
        lemmatizer,
        window,
        threshold,
    )


def _direction(
    by_signal: dict[str, list[TermMatch]],
    voice: dict[int, set[str]],
    services: Counter[str],
    sentences: list[str],
    state_source: bool,
) -> tuple[str, float, list[str]]:
    per_sentence: dict[int, set[str]] = defaultdict(set)
    first_actor: dict[int, tuple[int, str]] = {}
    for signal in ("c2c_actor", "government", "hostile", "action", "c2c_call", "c2g", "first_person"):
        for match in by_signal[signal]:
            per_sentence[match.sentence].add(signal)
            if signal in ("c2c_actor", "government"):
                known = first_actor.get(match.sentence)
                if known is None or match.start < known[0]:
                    first_actor[match.sentence] = (match.start, signal)
    for sentence, features in voice.items():
        per_sentence[sentence].update(features)
    others_act = any(signals & {"government", "hostile"} for signals in per_sentence.values())
    lead = [per_sentence.get(i, set()) for i in range(LEAD_SENTENCES)]
    # A text whose title or lead speaks as a state body ("Нікопольська МВА: ...") is the
    # state's voice: its "we" and its calls are the state's, not an initiative's.
    state_lead = any("government" in s for s in lead) and not any("c2c_actor" in s for s in lead)
    voice_of = "G2C" if state_source or state_lead else "C2C"
    cues: dict[str, float] = {"C2C": 0.0, "G2C": 0.0, "C2G": 0.0}
    evidence: dict[str, list[int]] = defaultdict(list)

    def cue(direction: str, sentence: int, weight: float) -> None:
        cues[direction] += weight
        evidence[direction].append(sentence)

    civic_sentences = {m.sentence for m in by_signal["c2c_actor"] if m.group in ("civic", "charity")}
    residents_only = set(per_sentence) - civic_sentences
    for sentence, signals in per_sentence.items():
        lead = sentence < LEAD_SENTENCES
        weight = 2.0 if lead else 1.0
        citizens, state = "c2c_actor" in signals, "government" in signals
        acted = "action" in signals or PLURAL_PAST in signals
        if "c2g" in signals:
            # Petitions, participatory budgets, official report bots: specific words, strong cue.
            cue("C2G", sentence, 2 * weight)
        if "c2c_call" in signals:
            cue("C2C", sentence, weight)
        elif not state and (WE in signals or "first_person" in signals):
            # An initiative speaking for itself: "збираємо", "привозимо", "we still need".
            cue(voice_of, sentence, weight)
        elif not state and CALL in signals:
            cue(voice_of, sentence, weight)
        if IMPERSONAL in signals and others_act and not citizens:
            # "У районах відкрито пункти" in a text that names the council: the state's passive.
            cue("G2C", sentence, weight / 2)
        if acted:
            if citizens and not state:
                # Residents are as often the ones served as the ones serving.
                cue("C2C", sentence, weight / 2 if sentence in residents_only else weight)
            elif state and not citizens:
                cue("G2C", sentence, weight)
            elif citizens and state:
                # The actor named first is usually the grammatical subject.
                cue("C2C" if first_actor[sentence][1] == "c2c_actor" else "G2C", sentence, weight / 2)
            elif not others_act:
                # Somebody did something and neither a state body nor the enemy is named.
                cue("C2C", sentence, weight / 2)
        elif lead and (citizens or state):
            # "Марганецька міська рада: графік...", "Волонтери Дніпра..." in a title.
            cue("C2C" if first_actor[sentence][1] == "c2c_actor" else "G2C", sentence, 1.0)
        if citizens:
            cues["C2C"] += 0.25
        if state:
            cues["G2C"] += 0.25
    # C2C needs citizens in the text (named, or calling for help) or a post in the voice of
    # an initiative about a service. A news channel's "we will update you" after an air
    # raid, a theatre that "opened the season", a paid transfer are not initiatives.
    civic = any(m.group in ("civic", "charity") for m in by_signal["c2c_actor"])
    charity = any(m.group == "charity" for m in by_signal["c2c_actor"])
    residents_acting = any(
        m.group == "residents" and per_sentence[m.sentence] & {"action", PLURAL_PAST} for m in by_signal["c2c_actor"]
    )
    citizens_named = civic or residents_acting or bool(by_signal["c2c_call"])
    voiced = any(signals & {WE, CALL, "first_person"} for signals in per_sentence.values())
    service_talk = len({m.term for m in by_signal["service"]} | {m.term for m in by_signal["mode"]}) >= 2
    blocked = (
        (len(by_signal["commerce"]) >= 2 and not civic)
        or (len(by_signal["other_topic"]) >= 2 and not (by_signal["c2c_call"] or charity))
        or (len({m.term for m in by_signal["war_event"]}) >= 2 and not citizens_named)
    )
    if blocked or not (citizens_named or (voiced and service_talk)):
        cues["C2C"] = min(cues["C2C"], 0.5)
    military = services.get("military_supply", 0)
    civilian = sum(n for group, n in services.items() if group != "military_supply")
    if cues["C2C"] > 0 and military >= 2 and military > 2 * civilian:
        # Citizens equipping the army serve a state body: citizen sourcing (C2G).
        cues["C2G"] += cues["C2C"]
        evidence["C2G"] += evidence.pop("C2C", [])
        cues["C2C"] = 0.0
    best = max(cues, key=cues.__getitem__)
    total = sum(cues.values())
    if cues[best] < 1.0:
        return "none", 0.0, []
    return best, cues[best] / total, [_clip(sentences[i]) for i in sorted(set(evidence[best]))[:3]]


def _mode(matches: list[TermMatch], direction: str, sentences: list[str]) -> tuple[str, float, list[str]]:
    if direction == "none":
        return "none", 0.0, []
    weights: Counter[str] = Counter()
    evidence: dict[str, list[int]] = defaultdict(list)
    for match in matches:
        weights[match.group] += 2.0 if match.sentence < LEAD_SENTENCES else 1.0
        evidence[match.group].append(match.sentence)
    if not weights:
        # Delivering a service is what most initiatives do; say so, with low confidence.
        return "co-delivery", 0.34, []
    best = max(MODES[:3], key=lambda m: (weights[m], m == "co-delivery"))
    return best, weights[best] / sum(weights.values()), [_clip(sentences[i]) for i in sorted(set(evidence[best]))[:3]]


def _unqualified(region: list[PlaceMatch], other: list[tuple[str, int]]) -> list[PlaceMatch]:
    """Drop a name of the region that another oblast's name qualifies: "Новомосковськ
    Тульської області" is in Russia."""
    starts = sorted(start for _, start in other)
    kept = []
    for place in region:
        following = bisect_right(starts, place.end)
        if following < len(starts) and starts[following] - place.end <= 2:
            continue
        kept.append(place)
    return kept


# An origin, or the next name in a list of origins ("з Харкова та Ізюма").
_ORIGIN_WORDS = frozenset({"з", "із", "зі", "из", "от", "від", "from", "та", "і", "й", "и", "and"})


def _not_origins(
    places: list[tuple[str, int]], text: str, spans: list[tuple[int, int]], displacement: list[TermMatch]
) -> list[tuple[str, int]]:
    """Drop "з Харкова" in sentences about displaced people: where they came from."""
    moved = {m.sentence for m in displacement}
    if not moved:
        return places
    starts = [a for a, _ in spans]
    kept = []
    for name, start in places:
        sentence = bisect_right(starts, start) - 1
        before = text[max(0, start - 6) : start].split()
        if sentence in moved and before and before[-1].lower() in _ORIGIN_WORDS:
            continue
        kept.append((name, start))
    return kept


def _in_region(region: list[PlaceMatch], other: list[tuple[str, int]], lead_end: int) -> bool:
    """In the region when it names places of the region and the story is not from
    elsewhere: the title and lead decide, then which side is named more often. (A story
    from Kharkiv that names Dnipro only as where people were taken is about Kharkiv.)"""
    if not region:
        return False
    region_lead = any(p.start < lead_end for p in region)
    other_lead = any(start < lead_end for _, start in other)
    if region_lead != other_lead:
        return region_lead
    return len(region) >= len(other)


def _score(
    direction: str,
    confidence: float,
    by_signal: dict[str, list[TermMatch]],
    in_region: bool,
    window_ok: bool | None,
    ict: list[str],
    services: Counter[str],
) -> float:
    citizen = min(len({m.sentence for m in by_signal["c2c_actor"]} | {m.sentence for m in by_signal["c2c_call"]}), 5)
    score = 4.0 * confidence if direction == "C2C" else -2.0 * confidence
    score += 0.4 * citizen
    score += 3.0 if in_region else 0.0
    score += {True: 1.0, None: 0.0, False: -4.0}[window_ok]
    score += 0.3 * min(len(ict), 4)
    score += 0.2 * min(len(services), 3)
    if direction == "C2C" and in_region and window_ok is not False:
        # Every case that passes the gates ranks above every page that fails one.
        score += 3.0
    return score


def _unique_places(places: list[PlaceMatch]) -> list[PlaceMatch]:
    seen: dict[str, PlaceMatch] = {}
    for place in places:
        seen.setdefault(place.place.code, place)
    return list(seen.values())


def _place_json(match: PlaceMatch) -> dict[str, Any]:
    place = match.place
    return {
        "code": place.code,
        "name": place.name,
        "category": place.category,
        "surface": match.surface,
        "hromada": place.hromada,
        "hromada_code": place.hromada_code,
        "raion": place.raion,
        "raion_code": place.raion_code,
        "oblast": place.oblast,
        "oblast_code": place.oblast_code,
    }


def _terms_json(by_signal: dict[str, list[TermMatch]], sentences: list[str], text: str) -> dict[str, list[dict[str, Any]]]:
    """Each matched term once per signal, with its first sentence and every form it took
    in the text (the review app highlights those)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for signal, matches in sorted(by_signal.items()):
        rows: dict[tuple[str, str], dict[str, Any]] = {}
        for match in matches:
            row = rows.get((match.group, match.term))
            if row is None:
                row = rows[(match.group, match.term)] = {
                    "term": match.term,
                    "group": match.group or None,
                    "sentence": _clip(sentences[match.sentence]),
                    "forms": [],
                }
            form = text[match.start : match.end]
            if form not in row["forms"] and len(row["forms"]) < 10:
                row["forms"].append(form)
        out[signal] = list(rows.values())
    return out


def _reasons(
    direction: str,
    confidence: float,
    in_region: bool,
    region: list[PlaceMatch],
    other: list[tuple[str, int]],
    found_date: Any,
    window_ok: bool | None,
    looked_back: bool,
    ict: list[str],
    mode: str,
) -> list[str]:
    names = ", ".join(dict.fromkeys(f"{p.place.name} ({p.place.code})" for p in region)) or "none"
    reasons = [f"direction {direction} (confidence {confidence:.2f})"]
    reasons.append(f"in region: {'yes' if in_region else 'no'}; places of the region: {names}" + (f"; places elsewhere: {len(other)}" if other else ""))
    if found_date is None:
        reasons.append("date unknown: window test unknown")
    else:
        verdict = {True: "inside", False: "outside", None: "unknown"}[window_ok]
        reasons.append(f"date {found_date.date.isoformat()} from {found_date.source} ({found_date.evidence!r}): {verdict} the window")
        if looked_back:
            reasons.append("published after the window, about activity in the window's years")
    reasons.append(f"ICT: {', '.join(ict) if ict else 'none found'}")
    reasons.append(f"mode: {mode}")
    return reasons


def _clip(sentence: str) -> str:
    sentence = " ".join(sentence.split())
    return sentence if len(sentence) <= EVIDENCE_CHARS else sentence[: EVIDENCE_CHARS - 1] + "…"
