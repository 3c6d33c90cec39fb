"""The relevance engine: how likely is this page a C2C co-production case of the study, and why.

The engine reads a page as named signals, each kept with its evidence:

* **who acts**: citizens (volunteers, charities, residents, people who did it "with their own
  hands"), the state (councils, administrations, the centres and hotlines they run, officials
  meeting or honouring volunteers), other organisations (companies and banks, parties,
  oligarchs' foundations, international agencies), and the voice of the text (an initiative's
  "we collect", "join us"); the title and lead weigh double;
* **where**: places of the study region (KATOTTG gazetteer) and of other oblasts, each read in
  its role: where the initiative works ("у Дніпрі", "до Дніпра"), whose volunteers they are
  ("волонтери Дніпра"), where the people served came from ("переселенці з Харкова", which is
  not where the initiative works); the aggressor state is never a place of work;
* **when**: the publication date from metadata, else from the text (page furniture such as a
  "today is" clock is stripped first), else from era cues (names abandoned before the window,
  an anniversary of a founding year); unknown never counts as inside;
* **how** (ICT): the initiative's own channels (lexicon and identifiers), not the outlet's;
* **what**: service areas and the Linders mode; and the page type (listing pages are not
  candidates).

The signals go into a logistic regression learned from labelled pages (`model.Weights`): its
probability orders the queue, and a page is flagged when the probability reaches the
threshold and nothing says it is clearly out of the study (a listing page, a date outside the
window, no citizen actor at all, a story of another oblast only). Direction and mode are
suggestions for the analyst, not gates.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields, replace
from itertools import compress
from pathlib import Path
from typing import Any

from pipelines.relevance._regex import guarded
from pipelines.relevance.dates import DateFinding, dateline, mentioned_years, parse_iso_date
from pipelines.relevance.era import EraCues, anniversary_year, load_era
from pipelines.relevance.furniture import strip_furniture
from pipelines.relevance.gazetteer import Gazetteer, PlaceMatch, load_gazetteer
from pipelines.relevance.identifiers import find_identifiers
from pipelines.relevance.lexicon import Lexicon, TermMatch, load_lexicon
from pipelines.relevance.model import Weights, load_weights
from pipelines.relevance.morphology import CALL, IMPERSONAL, PLURAL_PAST, WE, Lemmatizer, Tokens, can_be_subject, clear_form_caches, fold, is_personal_name, tokenize, voiced
from pipelines.relevance.pagetype import page_type

__all__ = ["DIRECTIONS", "MODES", "SIGNALS", "Assessment", "Engine", "build_engine"]

DIRECTIONS = ("C2C", "G2C", "C2G", "none")
MODES = ("co-design", "co-delivery", "co-monitoring", "none")
LEAD_SENTENCES = 2  # the title and the first sentence after it
MAX_TEXT_CHARS = 3_000  # the head of a page carries its verdict: title, lead, the story; beyond it are related stories, comments, dumps
EVIDENCE_CHARS = 280
GATED_SHARE = 0.05  # a page clearly out keeps this share of its probability: ordered, below the open ones
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

#: The named signals the weights are learned over, each in [0, 1]. The README and the
#: weights file use these names.
SIGNALS: dict[str, str] = {
    "citizen_named": "a volunteer, activist, charity or civic group is named",
    "citizen_sentences": "share of up to 5 sentences naming citizens (civic, charity, self-organised)",
    "citizen_lead": "citizens named in the title or lead",
    "citizen_subject": "citizens named first in a sentence where somebody acts (up to 3)",
    "residents_acting": "residents named where somebody acts",
    "self_organised": "citizens who act by themselves ('власноруч', 'своїми силами', 'небайдужі')",
    "initiative_call": "an initiative's own call ('долучайтеся', 'збираємо на')",
    "initiative_voice": "first-person or imperative voice without a state body in the sentence (up to 3)",
    "state_named": "a state body or official is named",
    "state_sentences": "share of up to 5 sentences naming the state",
    "state_lead": "the title or lead speaks of the state and not of citizens",
    "state_subject": "the state named first in a sentence where somebody acts (up to 3)",
    "state_initiative": "a service the state set up, runs or funds",
    "official_ceremony": "officials meet, visit, honour or thank volunteers",
    "ceremony_lead": "an official meets, visits or honours volunteers in the title or lead",
    "provider_state": "a service comes from a state body ('допомогу від міської ради')",
    "provider_non_citizen": "a service comes from a company, party, oligarch's foundation or agency",
    "state_source": "the source is a council's site",
    "signed_by_state": "the text is signed by or quoted from an official at its end",
    "c2g_cue": "citizens feeding a state body's own service (petitions, budgets, official bots, state funds)",
    "non_citizen": "a company, bank, party, oligarch's foundation or international agency is named",
    "non_citizen_lead": "such an organisation in the title or lead",
    "aggressor_side": "the aggressor's own framing ('СВО')",
    "war_news": "the vocabulary of war news (shelling, alerts, casualties) without citizens acting",
    "other_topic": "culture, sport, courts, weather",
    "commerce": "selling or a scam dressed as aid",
    "cue_c2c": "share of the direction cues that point to C2C",
    "cue_g2c": "share of the direction cues that point to G2C",
    "cue_c2g": "share of the direction cues that point to C2G",
    "region_activity": "places of the region where something happens (up to 4 mentions)",
    "region_lead": "a place of the region in the title or lead",
    "region_home_only": "the region only as whose volunteers they are, the activity elsewhere",
    "region_residents": "residents of the region's cities ('дніпряни', 'криворіжці')",
    "source_region": "no place named: the source's region is assumed",
    "elsewhere_activity": "places of other oblasts where something happens (up to 4 mentions)",
    "elsewhere_lead": "a place of another oblast in the title or lead",
    "elsewhere_dominant": "other oblasts named more often than the region",
    "evacuation_elsewhere": "an evacuation run from another oblast, nobody brought to the region",
    "origins": "where the people served came from ('переселенці з Харкова')",
    "no_place": "no place at all",
    "region_absent": "no place of the region (nor the source's region)",
    "window_in": "dated inside the window",
    "window_out": "dated outside the window",
    "window_unknown": "no date",
    "dated_by_metadata": "the date comes from the page's metadata",
    "dated_by_text": "the date comes from the text",
    "dated_by_era": "the date comes from era cues (names out of use, an anniversary)",
    "era_before_window": "a name that was out of use before the window",
    "fullscale_cue": "the vocabulary of the full-scale war",
    "old_war_cue": "the vocabulary of 2014-2021 (ATO, 'war in Donbas')",
    "old_war_only": "the vocabulary of 2014-2021 and none of the full-scale war",
    "years_before_window": "a year before the window is mentioned",
    "years_in_window": "a year of the window is mentioned",
    "ict_kinds": "kinds of ICT channels of the initiative (up to 4)",
    "ict_own_channel": "a Telegram, Instagram or Facebook address, a jar or a card",
    "service_kinds": "service areas (up to 3)",
    "military_supply": "equipment for soldiers",
    "idp_support": "support for displaced people",
    "animals": "animal rescue",
    "mode_design": "co-design cues",
    "mode_monitoring": "co-monitoring cues",
    "suggested_c2c": "the suggested direction is C2C",
    "in_region": "the rules place the initiative in the region",
    "rule_candidate": "the rules' verdict: C2C, in the region, not outside the window",
    "listing": "a listing, tag or home page",
    "short_text": "under 400 characters of text",
    "english": "the page is in English",
    "furniture_share": "share of the text that was page furniture",
}


@dataclass(frozen=True)
class Assessment:
    """The engine's verdict on one document, with every reason kept."""

    score: float  # the probability, or GATED_SHARE of it for a page clearly out: orders the queue
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
    probability: float = 0.0
    out_reason: str | None = None  # why the page is clearly out of the study, when it is
    signals: dict[str, float] = field(default_factory=dict)
    explanation: list[dict[str, Any]] = field(default_factory=list)  # the signals that moved the probability most
    page_type: str = "article"
    furniture: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        # Shallow: every field is made of JSON values already (asdict's deep copy cost more
        # than the rest of the stage's bookkeeping).
        return {name: getattr(self, name) for name in _ASSESSMENT_FIELDS}


_ASSESSMENT_FIELDS = tuple(f.name for f in fields(Assessment))


@dataclass
class _Reading:
    """What the rules read in one document, before the model weighs it."""

    tokens: Tokens
    by_signal: dict[str, list[TermMatch]]
    signals: dict[str, float]
    direction: str
    direction_confidence: float
    direction_evidence: list[str]
    mode: str
    mode_confidence: float
    mode_evidence: list[str]
    in_region: bool
    region_places: list[PlaceMatch]
    other_places: list[str]
    found_date: DateFinding | None
    window_ok: bool | None
    window_basis: str
    identifiers: list[Any]
    ict: list[str]
    services: Counter[str]
    page_type: str
    page_why: str | None
    furniture: tuple[str, ...]
    out_reason: str | None


class Engine:
    def __init__(
        self,
        lexicon: Lexicon,
        gazetteer: Gazetteer,
        era: EraCues,
        weights: Weights,
        window: tuple[dt.date, dt.date],
        threshold: float | None = None,
    ):
        self.lexicon = lexicon
        self.gazetteer = gazetteer
        self.era = era
        self.weights = weights
        self.window = window
        self.threshold = weights.threshold if threshold is None else threshold
        self._homes: dict[str, list[PlaceMatch]] = {}

    def clear_caches(self) -> None:
        """Forget every word form seen so far (the lexicon's, the gazetteer's and the
        morphology's memos): the next page costs what it costs a fresh process. Verdicts do
        not change; `bench/relevance.py` measures its cold pass after this."""
        self.lexicon.clear_memo()
        self.gazetteer.clear_memo()
        clear_form_caches()
        self._homes.clear()

    def with_weights(self, weights: Weights, threshold: float | None = None) -> Engine:
        """The same engine weighing its signals with other weights (cross-validation)."""
        return Engine(self.lexicon, self.gazetteer, self.era, weights, self.window, threshold)

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
        url: str | None = None,
        headlines: int | None = None,
    ) -> Assessment:
        """Judge one document. `source_kind` is the kind of its source in seeds.yaml (a
        council site speaks as the state); `source_region` its region (a post of a Dnipro
        channel that names no place is about Dnipro); `headlines` the linked headlines of
        its HTML (a listing page has many)."""
        reading = self.read(text, title=title, language=language, published=published, links=links,
                            source_kind=source_kind, source_region=source_region, url=url, headlines=headlines)
        return self.verdict(reading)

    def verdict(self, reading: _Reading) -> Assessment:
        probability = self.weights.probability(reading.signals)
        moved = self.weights.contributions(reading.signals)  # the explanation's, and the reasons' top three
        out = reading.out_reason
        flagged = out is None and probability >= self.threshold
        return Assessment(
            score=round(probability * (GATED_SHARE if out else 1.0), 4),
            flagged=flagged,
            direction=reading.direction,
            direction_confidence=round(reading.direction_confidence, 3),
            direction_evidence=reading.direction_evidence,
            mode=reading.mode,
            mode_confidence=round(reading.mode_confidence, 3),
            mode_evidence=reading.mode_evidence,
            in_region=reading.in_region,
            places=[_place_json(p) for p in _unique_places(reading.region_places)],
            published=reading.found_date.date.isoformat() if reading.found_date else None,
            date_source=reading.window_basis if reading.found_date or reading.window_basis == "era" else None,
            in_window=reading.window_ok,
            identifiers=[{"kind": i.kind, "value": i.value} for i in reading.identifiers],
            ict=reading.ict,
            services=[name for name, _ in reading.services.most_common()],
            terms=_terms_json(reading.by_signal, reading.tokens),
            reasons=self._reasons(reading, probability, flagged, moved[:3]),
            probability=round(probability, 4),
            out_reason=out,
            signals={k: round(v, 3) for k, v in reading.signals.items() if v},
            explanation=[{"signal": name, "moved": amount} for name, amount in moved],
            page_type=reading.page_type,
            furniture=sorted(set(reading.furniture)),
        )

    # reading ------------------------------------------------------------------------

    def read(
        self,
        text: str,
        *,
        title: str | None = None,
        language: str = "uk",
        published: str | None = None,
        links: Iterable[str] = (),
        source_kind: str | None = None,
        source_region: str | None = None,
        url: str | None = None,
        headlines: int | None = None,
    ) -> _Reading:
        head = text[:MAX_TEXT_CHARS]
        furniture = strip_furniture(head)
        body = fold(furniture.text)
        kinds = list(furniture.kinds)
        if title:
            cleaned_title = strip_furniture(title)
            kinds.extend(cleaned_title.kinds)
            title_text = fold(cleaned_title.text).strip()
            full = body if not title_text or body.lstrip().startswith(title_text) else f"{title_text}\n{body}"
        else:
            full = body
        tokens = tokenize(full)
        matches = _longest_actors(self.lexicon.match(tokens))
        by_signal: dict[str, list[TermMatch]] = defaultdict(list)
        for match in matches:
            by_signal[match.signal].append(match)
        voice: dict[int, set[str]] = defaultdict(set)
        sentence_of, starts = tokens.sentence_of, tokens.starts
        for index, features in voiced(tokens.words, language):
            voice[sentence_of(starts[index])].update(features)
        lead = _lead_sentences(tokens, bool(title))
        lead_end = tokens.sentences[lead - 1][1] if len(tokens.sentences) >= lead else len(full)

        signals: dict[str, float] = {}
        actors = _actors(by_signal, voice, tokens, lead, source_kind == "council", full, language)
        signals.update(actors.signals)

        places = self._places(full, tokens, by_signal, lead_end, source_region)
        signals.update(places.signals)

        found_date, window_ok, basis, time_signals = self._time(published, body, full, by_signal, tokens.words)
        signals.update(time_signals)

        identifiers = find_identifiers(full, links)
        ict = sorted({m.group for m in by_signal["ict"]} | {_IDENTIFIER_CHANNELS[i.kind] for i in identifiers if i.kind in _IDENTIFIER_CHANNELS})
        services = Counter(m.group for m in by_signal["service"])
        signals["ict_kinds"] = min(len(ict), 4) / 4
        signals["ict_own_channel"] = float(any(i.kind in ("telegram", "telegram_chat", "instagram", "facebook", "jar", "card") for i in identifiers))
        signals["service_kinds"] = min(len(services), 3) / 3
        signals["military_supply"] = float(services.get("military_supply", 0) > 0)
        signals["idp_support"] = float(services.get("idp_support", 0) > 0)
        signals["animals"] = float(services.get("animals", 0) > 0)
        mode, mode_conf, mode_evidence, mode_weights = _mode(by_signal["mode"], actors.direction, tokens)
        signals["mode_design"] = min(mode_weights.get("co-design", 0.0), 2.0) / 2
        signals["mode_monitoring"] = min(mode_weights.get("co-monitoring", 0.0), 2.0) / 2

        kind, why = page_type(url, text, headlines)
        signals["listing"] = float(kind == "listing")
        signals["short_text"] = float(len(full.strip()) < 400)
        signals["english"] = float(language == "en")
        signals["furniture_share"] = round(min(furniture.chars / max(len(head), 1), 1.0), 3)

        # The rules' own verdict, as evidence among the others: the learned weights say how far
        # to trust "C2C, in the region, not outside the window" against the rest.
        signals["suggested_c2c"] = float(actors.direction == "C2C")
        signals["in_region"] = float(places.in_region)
        signals["rule_candidate"] = float(actors.direction == "C2C" and places.in_region and window_ok is not False)
        out_reason = _clearly_out(kind, why, window_ok, basis, found_date, actors, places)
        return _Reading(
            tokens=tokens,
            by_signal=by_signal,
            signals=signals,
            direction=actors.direction,
            direction_confidence=actors.confidence,
            direction_evidence=actors.evidence,
            mode=mode,
            mode_confidence=mode_conf,
            mode_evidence=mode_evidence,
            in_region=places.in_region,
            region_places=places.region,
            other_places=places.other_names,
            found_date=found_date,
            window_ok=window_ok,
            window_basis=basis,
            identifiers=identifiers,
            ict=ict,
            services=services,
            page_type=kind,
            page_why=why,
            furniture=tuple(kinds),
            out_reason=out_reason,
        )

    def _places(self, full: str, tokens: Tokens, by_signal: dict[str, list[TermMatch]], lead_end: int, source_region: str | None) -> _Places:
        region, codified = self.gazetteer.locate(full, tokens)
        # Places elsewhere in the country as the codifier names them: oblasts, raions,
        # hromadas and cities, capitalised. Its thirty thousand villages share their names
        # with common words ("Збори", "Мене") that a story about the region uses in passing.
        codified_elsewhere = [
            (code, start) for code, start in codified
            if self.gazetteer.category(code) in _ELSEWHERE_CATEGORIES and full[start : start + 1].isupper()
            and not _NOT_PLACES.match(full, start) and not is_personal_name(_WORD.match(full, start).group(0))
        ]
        elsewhere = [(m.term, m.start) for m in by_signal["elsewhere"]]
        region = _unqualified(region, codified_elsewhere + elsewhere)
        moved = {m.sentence for m in by_signal["displacement"]}
        evacuating = {m.sentence for m in by_signal["service"] if m.group == "evacuation"} | {
            m.sentence for m in by_signal["action"] if m.term.startswith(("евакую", "вивез", "вивоз", "эвакуир", "вывез", "вывоз", "evacuat"))
        } | {tokens.sentence_of(tokens.starts[i]) for i in compress(range(len(tokens.words)), map(_CARRIES, tokens.words))}
        actor_ends = sorted(m.end for m in by_signal["c2c_actor"] if m.group in ("civic", "charity"))
        actor_starts = sorted(m.start for m in by_signal["c2c_actor"] if m.group in ("civic", "charity"))

        region_activity = region_home = arrivals = 0
        region_lead = False
        for place in region:
            role = _role(full, place.start, place.end, tokens.sentence_of(place.start), moved, evacuating, actor_ends, actor_starts)
            if role == "home":
                region_home += 1
            elif role not in ("origin", "negated", "name", "onward"):
                region_activity += 1
                arrivals += role == "arrival"
            region_lead |= place.start < lead_end
        residents = [m for m in by_signal["c2c_actor"] if m.group == "residents" and m.term.endswith("*")]
        other_activity = origins = evac_from = 0
        other_lead = False
        other_names: list[str] = []
        seen_other: set[int] = set()
        for name, start in codified_elsewhere + elsewhere:
            if start in seen_other:
                continue
            seen_other.add(start)
            word = _WORD.match(full, start)
            name = word.group(0) if word else name
            end = start + len(name)
            role = _role(full, start, end, tokens.sentence_of(start), moved, evacuating, actor_ends, actor_starts)
            if role in ("negated", "name", "onward"):
                continue
            if role == "origin":
                origins += 1
                continue
            if role == "evacuated_from":
                evac_from += 1
            other_activity += 1
            other_lead |= start < lead_end
            other_names.append(name)
        home: list[PlaceMatch] = []
        if not region and not residents and not other_activity and not origins:
            home = self._home(source_region)
        region_total = region_activity + region_home + len(residents)
        # Volunteers of the region on an evacuation run elsewhere, nobody brought here: the
        # initiative works in the other oblast (coding rules: out of region).
        run_elsewhere = evac_from > 0 and arrivals == 0 and evac_from >= region_activity
        in_region = not run_elsewhere and bool(home) or not run_elsewhere and (
            region_total > 0
            and not (region_activity == 0 and not residents and (other_activity > 0))
            and (region_lead or not other_lead or region_activity + len(residents) >= other_activity)
        )
        signals = {
            "region_activity": min(region_activity, 4) / 4,
            "region_lead": float(region_lead),
            "region_home_only": float(region_home > 0 and region_activity == 0 and not residents and other_activity > 0),
            "region_residents": float(bool(residents)),
            "source_region": float(bool(home)),
            "elsewhere_activity": min(other_activity, 4) / 4,
            "elsewhere_lead": float(other_lead),
            "elsewhere_dominant": float(other_activity > region_activity + len(residents)),
            "evacuation_elsewhere": float(evac_from > 0 and arrivals == 0),
            "origins": float(origins > 0),
            "no_place": float(not region and not residents and not other_activity and not origins and not home),
            "region_absent": float(not region and not residents and not home),
        }
        home_only = region_home > 0 and region_activity == 0 and not residents and other_activity > 0
        return _Places(region or home, other_names, in_region, signals, region_total + len(home), other_activity, run_elsewhere, home_only)

    def _home(self, region: str | None) -> list[PlaceMatch]:
        if not region:
            return []
        found = self._homes.get(region)
        if found is None:
            found = self._homes[region] = [replace(p, surface=f"(source region) {p.surface}", start=0, end=0) for p in self.gazetteer.find(region)]
        return found

    def _time(self, published: str | None, body: str, full: str, by_signal: dict[str, list[TermMatch]], words: list[str]) -> tuple[DateFinding | None, bool | None, str, dict[str, float]]:
        start, end = self.window
        found: DateFinding | None = None
        basis = "none"
        parsed = parse_iso_date(published)
        if parsed is not None:
            found, basis = DateFinding(parsed, "metadata", published or ""), "metadata"
        anniversary = anniversary_year(full)
        if found is None and anniversary is None:
            written = dateline(body[:3000])
            if written:
                found, basis = DateFinding(written[0], "text", written[1]), "text"
        cues = self.era.find(full, words)
        era_before = [cue for cue in cues if cue.before <= start.year]
        window_ok: bool | None
        if found is not None:
            window_ok = start <= found.date <= end
        elif anniversary is not None:
            year, evidence = anniversary
            found = DateFinding(dt.date(year, 7, 1), "anniversary", evidence)
            basis, window_ok = "anniversary", start.year <= year <= end.year
        elif era_before:
            basis, window_ok = "era", False
        else:
            window_ok = None
        years = mentioned_years(full)
        signals = {
            "window_in": float(window_ok is True),
            "window_out": float(window_ok is False),
            "window_unknown": float(window_ok is None),
            "dated_by_metadata": float(basis == "metadata"),
            "dated_by_text": float(basis == "text"),
            "dated_by_era": float(basis in ("era", "anniversary")),
            "era_before_window": float(bool(era_before)),
            "fullscale_cue": float(bool(by_signal["fullscale"])),
            "old_war_cue": float(bool(by_signal["old_war"])),
            "old_war_only": float(bool(by_signal["old_war"]) and not by_signal["fullscale"]),
            "years_before_window": float(any(1990 <= y < start.year for y in years)),
            "years_in_window": float(any(start.year <= y <= end.year for y in years)),
        }
        self._era_evidence = era_before[0].evidence if era_before else None
        return found, window_ok, basis, signals

    def _reasons(self, reading: _Reading, probability: float, flagged: bool, moved: list[tuple[str, float]]) -> list[str]:
        region = reading.region_places
        names = ", ".join(dict.fromkeys(f"{p.place.name} ({p.place.code})" for p in region)) or "none"
        reasons = [f"probability {probability:.2f} (flag threshold {self.threshold:.2f})" + ("" if reading.out_reason else "; flagged" if flagged else "")]
        if reading.out_reason:
            reasons.append(f"clearly out: {reading.out_reason}")
        reasons.append(f"suggested direction {reading.direction} (confidence {reading.direction_confidence:.2f})")
        others = f"; places elsewhere: {', '.join(dict.fromkeys(reading.other_places))}" if reading.other_places else ""
        reasons.append(f"in region: {'yes' if reading.in_region else 'no'}; places of the region: {names}{others}")
        found = reading.found_date
        if found is None and reading.window_basis == "era":
            reasons.append("no date; era cues say before the window")
        elif found is None:
            reasons.append("date unknown: window test unknown")
        else:
            verdict = {True: "inside", False: "outside", None: "unknown"}[reading.window_ok]
            reasons.append(f"date {found.date.isoformat()} from {found.source} ({found.evidence!r}): {verdict} the window")
        reasons.append(f"ICT: {', '.join(reading.ict) if reading.ict else 'none found'}")
        reasons.append(f"mode: {reading.mode}")
        if moved:
            reasons.append("moved most by: " + ", ".join(f"{name} {amount:+.2f}" for name, amount in moved))
        return reasons


@dataclass
class _Places:
    region: list[PlaceMatch]
    other_names: list[str]
    in_region: bool
    signals: dict[str, float]
    region_mentions: int
    other_activity: int
    run_elsewhere: bool = False  # the region's volunteers on an evacuation run elsewhere
    home_only: bool = False  # the region only as the volunteers' home, their activity elsewhere


@dataclass
class _Actors:
    signals: dict[str, float]
    direction: str
    confidence: float
    evidence: list[str]
    citizens: bool  # any citizen actor, call or initiative voice
    state: bool
    non_citizen: bool


def build_engine(
    lexicon_paths: Sequence[Path],
    region_code: str,
    place_files: Sequence[Path],
    window: tuple[dt.date, dt.date],
    weights_path: Path,
    threshold: float | None = None,
) -> Engine:
    lemmatizer = Lemmatizer()
    return Engine(
        load_lexicon(lexicon_paths, lemmatizer),
        load_gazetteer(region_code, tuple(place_files)),
        load_era(place_files),
        load_weights(weights_path),
        window,
        threshold,
    )


# --- who acts ---------------------------------------------------------------------------

_ACTOR_SIGNALS = frozenset({"c2c_actor", "government", "non_citizen"})
_ELSEWHERE_CATEGORIES = frozenset("OKPHM")
_NOT_PLACES = re.compile(r"(?:україн|украин|ukrain)", re.IGNORECASE)  # Українці, "Українська команда"
_FOUNDATION = re.compile(r"фонд|foundation|fund")
_BARE_FOUNDATION = frozenset({"фонд", "foundation", "fund"})


def _longest_actors(matches: list[TermMatch]) -> list[TermMatch]:
    """Of two actor terms of different kinds over the same words, the longer: "Пенсійний
    фонд" is the state and "Фонд Ріната Ахметова" an oligarch's, not a "фонд" of citizens."""
    actors = [m for m in matches if m.signal in _ACTOR_SIGNALS]
    if len(actors) < 2:
        return matches
    # A text that names "Фонд Ріната Ахметова" means it by "the Фонд" further on.
    foundations = any(m.signal != "c2c_actor" and _FOUNDATION.search(m.term.lower()) for m in actors)
    hidden = {
        id(short)
        for short in actors
        for long in actors
        if long.signal != short.signal
        and long.start <= short.start
        and short.end <= long.end
        and long.end - long.start > short.end - short.start
    }
    if foundations:
        hidden |= {id(m) for m in actors if m.signal == "c2c_actor" and m.term.lower() in _BARE_FOUNDATION}
    return [m for m in matches if id(m) not in hidden] if hidden else matches


_HQ_WORDS = ("штаб", "Штаб", "хаб", "центр", "Центр", "пункт", "Пункт")
# "гуманітарний штаб громади", "штаб при міській раді": an HQ of the hromada or the council
# is the municipality's.
_MUNICIPAL_HQ = guarded(
    r"\b(?:гуманітарн\w*\s+)?(?:штаб\w*|хаб\w*|центр\w*|пункт\w*)\s+(?:[\w'’-]+\s+){0,2}?(?:громад\w*|міськ\w*\s+рад\w*|міськради|селищн\w*\s+рад\w*|сільськ\w*\s+рад\w*|ова|мва|ода|виконком\w*|горсовет\w*|городск\w*\s+совет\w*|общин\w*)\b",
    re.IGNORECASE,
)
_PROVIDER_WORDS = frozenset({"від", "од", "от", "from", "by"})
_BACKGROUND = guarded(
    r"на балансі|балансоутримувач|у власності|належить|не фінансу|не фінансован|призупин|скасован|не працює|не діє|"
    r"за даними|за статистикою|відсот|\d\s*%|отримали лише|на балансе|в собственности|принадлежит|не финансир|приостановл|"
    r"по данным|процент|owned by|on the balance|not funded|suspended|according to",
    re.IGNORECASE,
)
# "в рамках благодійного проєкту ПриватБанку", "ініціатива міської влади": whose project it is.
_PROJECT_WORDS = re.compile(r"(?:проєкт|проект|ініціатив|инициатив|акці|акци|програм|марафон|project|initiative|programme|program)\w*$")
_INTERNATIONAL_NAME = guarded(r"\b(?:[A-Z][\w'’-]+\s+){1,4}(?:Mission|International|Relief|Corps|Without Borders)\b")
_FUNDRAISING = guarded(r"\b(?:збір|збору|збором|збирає|збирають|збира\w+|зібра\w+|марафон\w*|донат\w*|сбор\w*|собира\w+|собра\w+|fundrais\w*|raise[sd]?)\b", re.IGNORECASE)
# A text signed by an official ("... — міський голова Геннадій Боровик", "написав мер") is the
# official's voice throughout.
_SIGNED = guarded(
    r"(?:[-–—]\s*|\b(?:написав|написала|зазначив|зазначила|наголосив|наголосила|заявив|заявила|написал|написала|отметил|заявил)\s+)"
    r"(?:[\w'’]+\s+){0,2}?(?:міськ\w*\s+голов\w*|мер\w*|голов\w*\s+[\w'’]+\s+(?:ова|ода|мва|рва|адміністрац\w*|громад\w*|рад\w*)|начальни\w*|очільни\w*|городск\w*\s+голов\w*|мэр\w*|глав\w*\s+город\w*)\b[^.!?]{0,60}[.!?]?\s*$",
    re.IGNORECASE,
)
# Citizens turning to a state body for its service: "мешканці звернулися до департаменту".
_APPEAL_TO_STATE = guarded(r"\b(?:звернул\w*|звертаються|подали|обратил\w*|обращаются|applied)\b[^.!?]{0,40}\b(?:до|в|у|to)\b", re.IGNORECASE)


def _actors(
    by_signal: dict[str, list[TermMatch]],
    voice: dict[int, set[str]],
    tokens: Tokens,
    lead: int,
    state_source: bool,
    full: str,
    language: str,
) -> _Actors:
    per_sentence: dict[int, set[str]] = defaultdict(set)
    # The actor a sentence is about: the first one named in a case a subject can have (the
    # state "від органів влади" or volunteers "дякуємо волонтерам" are not the ones acting).
    first_actor: dict[int, tuple[int, str]] = {}
    citizen_groups = ("civic", "charity", "self")
    for signal in ("c2c_actor", "government", "non_citizen", "hostile", "action", "c2c_call", "c2g", "first_person",
                   "state_initiative", "ceremony", "aggressor_side"):
        for match in by_signal[signal]:
            name = signal
            if signal == "c2c_actor":
                name = "citizen" if match.group in citizen_groups else "residents"
            per_sentence[match.sentence].add(name)
            if name in ("citizen", "residents", "government", "non_citizen"):
                known = first_actor.get(match.sentence)
                # whether it can be the subject only matters when it comes first (pymorphy3)
                if (known is None or match.start < known[0]) and _subject(tokens, match.index, language):
                    first_actor[match.sentence] = (match.start, name)
    # The provider of a service is who it comes "from": "допомогу від Фонду Ріната Ахметова",
    # "отримують її від гуманітарної місії", "aid from the city council".
    providers: dict[int, str] = {}
    for signal in ("c2c_actor", "government", "non_citizen"):
        for match in by_signal[signal]:
            if signal == "c2c_actor" and match.group not in citizen_groups:
                continue
            before = full[max(0, match.start - 24) : match.start].lower().split()
            if before and (before[-1] in _PROVIDER_WORDS or _PROJECT_WORDS.match(before[-1])):
                providers.setdefault(match.sentence, {"c2c_actor": "C2C", "government": "G2C", "non_citizen": "none"}[signal])
    if language in ("uk", "ru"):
        # International NGOs keep their English names in Ukrainian texts.
        for match in _INTERNATIONAL_NAME.finditer(full):
            sentence = tokens.sentence_of(match.start())
            per_sentence[sentence].add("non_citizen")
            first_actor.setdefault(sentence, (match.start(), "non_citizen"))
    if any(stem in full for stem in _HQ_WORDS):
        for match in _MUNICIPAL_HQ.finditer(full):
            per_sentence[tokens.sentence_of(match.start())].add("state_initiative")
    for sentence, features in voice.items():
        per_sentence[sentence].update(features)
    # A state body named only as background (the basement's owner, a programme that is not
    # funded, statistics on state aid) is not the one acting.
    for sentence, signals in per_sentence.items():
        if signals & {"government", "state_initiative"} and _BACKGROUND.search(tokens.sentence_text(sentence)):
            signals.difference_update({"government", "state_initiative"})
            if first_actor.get(sentence, (0, ""))[1] == "government":
                del first_actor[sentence]
    # Residents who did it themselves ("мешканці власноруч облаштували") are the initiative.
    self_sentences = {m.sentence for m in by_signal["c2c_actor"] if m.group == "self"}
    for sentence in self_sentences:
        if first_actor.get(sentence, (0, ""))[1] == "residents":
            first_actor[sentence] = (first_actor[sentence][0], "citizen")
    for sentence, signals in list(per_sentence.items()):
        if "government" in signals and signals & {"citizen", "residents"} and _APPEAL_TO_STATE.search(tokens.sentence_text(sentence)):
            signals.add("c2g")

    signed = bool(_SIGNED.search(full[-240:]))
    others_act = any(s & {"government", "hostile", "non_citizen"} for s in per_sentence.values())
    state_in_text = any("government" in s for s in per_sentence.values())
    lead_sets = [per_sentence.get(i, set()) for i in range(lead)]
    lead_first = [first_actor.get(i, (0, ""))[1] for i in range(lead)]
    citizen_lead = any("citizen" in s for s in lead_sets)
    state_lead = "government" in lead_first and not citizen_lead
    non_citizen_lead = "non_citizen" in lead_first and not citizen_lead
    # A text whose lead speaks as a state body ("Нікопольська МВА: ...") is the state's voice:
    # its "we" and its calls are the state's.
    voice_of = "G2C" if state_source or state_lead or signed else "C2C"
    cues: dict[str, float] = {"C2C": 0.0, "G2C": 0.0, "C2G": 0.0, "none": 0.0}
    evidence: dict[str, list[int]] = defaultdict(list)

    def cue(direction: str, sentence: int, weight: float) -> None:
        cues[direction] += weight
        evidence[direction].append(sentence)

    citizen_subject = state_subject = voiced = 0
    for sentence, signals in per_sentence.items():
        in_lead = sentence < lead
        weight = 2.0 if in_lead else 1.0
        citizens, state = "citizen" in signals, "government" in signals
        company = "non_citizen" in signals
        acted = "action" in signals or PLURAL_PAST in signals
        first = first_actor.get(sentence, (0, ""))[1]
        if "c2g" in signals:
            # Petitions, participatory budgets, official report bots, state-run funds.
            cue("C2G", sentence, 2 * weight)
        elif first == "government" and _FUNDRAISING.search(tokens.sentence_text(sentence)):
            # A fundraiser a state body runs ("Про збір оголосив міський голова").
            cue("C2G", sentence, 2 * weight)
        if "state_initiative" in signals:
            cue("G2C", sentence, 2 * weight)
        if "ceremony" in signals and (state or in_lead or first in ("", "government")):
            # Officials meeting, visiting or honouring volunteers (by title or by name only):
            # the volunteers are their guests, the story is the state's.
            cue("G2C", sentence, 2 * weight)
        if sentence in providers:
            # "отримали допомогу від Фонду ...": whom a service comes from says who runs it.
            cue(providers[sentence], sentence, 3 * weight)
        if "c2c_call" in signals:
            cue("C2C", sentence, weight)
        elif not state and not company and (WE in signals or "first_person" in signals or CALL in signals):
            # An initiative speaking for itself: "збираємо", "привозимо", "we still need".
            cue(voice_of, sentence, weight)
            voiced += voice_of == "C2C"
        if IMPERSONAL in signals and state_in_text and not citizens:
            # "У районах відкрито пункти" in a text that names the council: the state's passive.
            cue("G2C", sentence, weight / 2)
        if acted:
            if first == "citizen" or (citizens and not state and not company):
                cue("C2C", sentence, weight)
                citizen_subject += 1
            elif first == "residents" and not state and not company:
                # Residents are as often the ones served as the ones serving.
                cue("C2C", sentence, weight / 2)
            elif first == "government":
                cue("G2C", sentence, weight)
                state_subject += 1
            elif first == "non_citizen":
                cue("none", sentence, weight)
            elif not others_act:
                # Somebody did something and nobody but citizens is named in the text.
                cue("C2C", sentence, weight / 2)
        elif in_lead and first:
            # "Марганецька міська рада: графік...", "Волонтери Дніпра..." in a title.
            cue({"citizen": "C2C", "residents": "C2C", "government": "G2C", "non_citizen": "none"}[first], sentence, 1.0)
        if citizens:
            cues["C2C"] += 0.25
        if state:
            cues["G2C"] += 0.25
        if company:
            cues["none"] += 0.25
    citizen_sentences = sum(1 for s in per_sentence.values() if "citizen" in s)
    state_sentences = sum(1 for s in per_sentence.values() if "government" in s)
    civic = citizen_sentences > 0
    residents_acting = any("residents" in s and s & {"action", PLURAL_PAST} for s in per_sentence.values())
    calls = bool(by_signal["c2c_call"])
    citizens_named = civic or residents_acting or calls
    service_talk = len({m.term for m in by_signal["service"]} | {m.term for m in by_signal["mode"]}) >= 2
    war_terms = len({m.term for m in by_signal["war_event"]})
    blocked = (
        (len(by_signal["commerce"]) >= 2 and not citizen_subject)
        # A festival, a match, a verdict: people act but serve nobody, unless citizens named
        # in it offer a service (a volunteers' fair that teaches tactical medicine).
        or (len(by_signal["other_topic"]) >= 2 and not (calls or any(m.group == "charity" for m in by_signal["c2c_actor"]) or (civic and bool(by_signal["service"]))))
        or (war_terms >= 2 and not citizens_named)
        or bool(by_signal["aggressor_side"])
    )
    if blocked or not (citizens_named or (voiced and service_talk)):
        cues["C2C"] = min(cues["C2C"], 0.5)
    total = sum(cues.values())
    best = max(cues, key=cues.__getitem__)
    if cues[best] < 1.0:
        direction, confidence, chosen = "none", 0.0, []
    else:
        direction, confidence, chosen = best, cues[best] / total, [_clip(tokens.sentence_text(i)) for i in sorted(set(evidence[best]))[:3]]
    share = {d: (cues[d] / total if total else 0.0) for d in cues}
    signals = {
        "citizen_named": float(civic),
        "citizen_sentences": min(citizen_sentences, 5) / 5,
        "citizen_lead": float(citizen_lead),
        "citizen_subject": min(citizen_subject, 3) / 3,
        "residents_acting": float(residents_acting),
        "self_organised": float(any(m.group == "self" for m in by_signal["c2c_actor"])),
        "initiative_call": float(calls),
        "initiative_voice": min(voiced, 3) / 3,
        "state_named": float(state_sentences > 0),
        "state_sentences": min(state_sentences, 5) / 5,
        "state_lead": float(state_lead),
        "state_subject": min(state_subject, 3) / 3,
        "state_initiative": float(any("state_initiative" in s for s in per_sentence.values())),
        "official_ceremony": float(bool(by_signal["ceremony"])),
        "ceremony_lead": float(any(m.sentence < lead for m in by_signal["ceremony"])),
        "provider_state": float("G2C" in providers.values()),
        "provider_non_citizen": float("none" in providers.values()),
        "state_source": float(state_source),
        "signed_by_state": float(signed),
        "c2g_cue": float(any("c2g" in s for s in per_sentence.values())),
        "non_citizen": float(bool(by_signal["non_citizen"])),
        "non_citizen_lead": float(non_citizen_lead),
        "aggressor_side": float(bool(by_signal["aggressor_side"])),
        "war_news": float(war_terms >= 2 and not citizens_named),
        "other_topic": float(len(by_signal["other_topic"]) >= 2),
        "commerce": float(len(by_signal["commerce"]) >= 2),
        "cue_c2c": round(share["C2C"], 3),
        "cue_g2c": round(share["G2C"], 3),
        "cue_c2g": round(share["C2G"], 3),
    }
    citizens_any = citizens_named or voiced > 0 or bool(by_signal["c2c_actor"])
    return _Actors(signals, direction, confidence, chosen, citizens_any, state_sentences > 0, bool(by_signal["non_citizen"]))


# English has no case: an actor after these is not the subject ("birthplace of the president").
_OBJECT_PREPOSITIONS = frozenset("of to for with from by about at in on into onto than".split())


def _subject(tokens: Tokens, index: int, language: str) -> bool:
    word = tokens.words[index]
    if word.isascii():
        return index == 0 or tokens.words[index - 1] not in _OBJECT_PREPOSITIONS and not (
            index > 1 and tokens.words[index - 1] == "the" and tokens.words[index - 2] in _OBJECT_PREPOSITIONS
        )
    return can_be_subject(word, language)


def _lead_sentences(tokens: Tokens, titled: bool) -> int:
    # Without a separate title the first sentence usually is the headline.
    return LEAD_SENTENCES


def _mode(matches: list[TermMatch], direction: str, tokens: Tokens) -> tuple[str, float, list[str], Counter[str]]:
    weights: Counter[str] = Counter()
    evidence: dict[str, list[int]] = defaultdict(list)
    for match in matches:
        weights[match.group] += 2.0 if match.sentence < LEAD_SENTENCES else 1.0
        evidence[match.group].append(match.sentence)
    if direction == "none":
        return "none", 0.0, [], weights
    # Delivering a service is what most initiatives do: designing or monitoring it needs
    # at least as much evidence as delivering it, and more than a single word.
    best = "co-delivery"
    for other in ("co-design", "co-monitoring"):
        if weights[other] >= 2.0 and weights[other] > weights[best]:
            best = other
    if not weights:
        return "co-delivery", 0.34, [], weights
    confidence = weights[best] / sum(weights.values()) if weights[best] else 0.34
    return best, confidence, [_clip(tokens.sentence_text(i)) for i in sorted(set(evidence[best]))[:3]], weights


# --- where ------------------------------------------------------------------------------

_FROM = frozenset({"з", "із", "зі", "из", "от", "від", "from", "out"})
_TO = frozenset({"до", "в", "у", "во", "to", "into", "на"})
_CLAUSE = re.compile(r"[,.;:!?()—–]")
_NEGATION = re.compile(r"(?:^|\s)(?:а не|але не|не про|не у|не в|не на|не о|не об|а не в|not in|not about|rather than)\s")
_ONWARD = guarded(r"\b(?:прямують|прямує|прямуватимуть|їдуть|їде|поїдуть|вирушають|вирушить|дістатися|дістаються|рушають|"
                     r"направляются|направятся|едут|поедут|отправляются|добраться|head(?:s|ing)? (?:on|to)|move on|travel on)\b", re.IGNORECASE)
_LIST_JOINERS = frozenset({"та", "і", "й", "и", "and", "або", "или", "or"})
_SETTLEMENT_WORDS = frozenset({"м", "місто", "міста", "місту", "с", "село", "села", "смт", "город", "города", "city", "town",
                               "village", "області", "области", "region", "oblast", "окупованих", "оккупированных", "occupied",
                               "прифронтових", "прифронтового", "the"})
# Organisations named after their place are its people: "штаб волонтерів Дніпра",
# "Координаційний штаб Дніпра", "фонд Кривого Рогу" say whose initiative it is, not where it works.
_ORGANISATIONS = re.compile(
    r"(?:штаб\w*|фонд\w*|організаці\w*|организаци\w*|команд\w*|спільнот\w*|сообществ\w*|рух\w*|движени\w*|груп\w*|"
    r"об'єднанн\w*|объединени\w*|ініціатив\w*|инициатив\w*|волонтер\w*|volunteers?|team|foundation|group)$"
)
# An evacuation's object is where the run went: "евакуація мирного населення Донеччини".
_EVACUATION = re.compile(r"(?:евакуац|евакую|евакуюв|вивез|вивоз|эвакуац|эвакуир|вывез|вывоз|evacuat)\w*$")
# Words of carrying people or goods somewhere ("везуть", "вивезли", "доставили").
_TRANSPORT_STEMS = ("вез", "вивез", "вивоз", "привез", "перевез", "доставил", "возил", "возять", "возит", "вывез", "вывоз",
                    "brought", "taken", "transported", "moved")
# One alternation matched at a word's start: half the cost of str.startswith with the tuple.
_CARRIES = re.compile("|".join(map(re.escape, _TRANSPORT_STEMS))).match
# Who came by themselves: "родини, які евакуювалися з Херсонщини", "приїхали з Харкова".
_CAME = re.compile(r"(?:евакуювал\w*с[яь]|евакуюються|виїхал\w*|виїжджа\w*|приїхал\w*|приїжджа\w*|втекл\w*|тікал\w*|переїхал\w*|прибул\w*|прибува\w*|"
                   r"эвакуировал\w*сь|уехал\w*|выехал\w*|приехал\w*|бежал\w*|переехал\w*|прибыл\w*|fled|came|arrived|moved|escaped)$")
_DISPLACED = re.compile(r"(?:переселен|переміщен|перемещен|біженц|беженц|евакуйован|эвакуирован|idps?$|refugee|evacuee)\w*")
_WORD = re.compile(r"[^\W\d_]+(?:['-][^\W\d_]+)*")


def _role(
    text: str,
    start: int,
    end: int,
    sentence: int,
    moved: set[int],
    evacuating: set[int],
    actor_ends: list[int],
    actor_starts: list[int],
) -> str:
    """What a place mention says: "origin" (where the people served came from: "переселенці
    з Харкова"), "evacuated_from" (where an evacuation run went: "вивезли з Донеччини",
    "евакуація населення Донеччини"), "arrival" (where people were brought: "до Дніпра"),
    "home" (whose volunteers they are: "волонтери Дніпра", "дніпровські волонтери",
    "волонтери з Дніпра") or "activity" (where something happens)."""
    written = _WORD.findall(text[max(0, start - 80) : start])
    words = [w.lower() for w in written]
    before = words[-6:]
    capitals = [w[:1].isupper() for w in written[-6:]]
    # Skip "міста", "с.", and the names before it in a list: "з міста Харкова", "з Харкова,
    # Маріуполя та Ізюма" (each name of a list has the role of the first).
    while before and (before[-1] in _SETTLEMENT_WORDS or before[-1] in _LIST_JOINERS or (capitals[-1] and len(before) > 1)):
        before.pop()
        capitals.pop()
    previous = before[-1] if before else ""
    clause = _CLAUSE.split(text[max(0, start - 80) : start])[-1].lower()
    if _NEGATION.search(clause):
        return "negated"  # "йдеться про Покровськ, а не про Покров на Нікопольщині"
    opened = text[max(0, start - 120) : start]
    if opened.count("«") > opened.count("»") or opened.count("“") > opened.count("”"):
        return "name"  # an organisation's or outlet's name: «Дніпровський вечір», «Кривбас-Допомога»
    if previous in _FROM:
        if any(0 <= start - e <= 25 for e in actor_ends):
            return "home"
        # People who fled or were evacuated "з Херсонщини" came from there; an evacuation
        # run "з Лимана" went there.
        mover = before[-2] if len(before) > 1 else ""
        if sentence in evacuating and not _DISPLACED.match(mover) and not _CAME.match(mover):
            return "evacuated_from"
        return "origin"
    if any(0 <= start - e <= 3 for e in actor_ends) or _ORGANISATIONS.match(previous):
        return "home"
    following = text[end : end + 40].lower().split()
    if any(0 <= s - end <= 2 and not text[end:s].strip() for s in actor_starts) or (following and _ORGANISATIONS.match(following[0])):
        return "home"  # "дніпровські волонтери", "криворізький фонд"
    # "евакуація мирного населення Донеччини": an evacuation word up to three words before.
    for word in reversed(before[-3:]):
        if word in _TO or word in _FROM:
            break
        if _EVACUATION.match(word):
            return "evacuated_from"
    if _DISPLACED.match(previous):
        return "origin"  # "переселенці Донеччини"
    if any(word in _TO for word in before[-3:]):
        if _ONWARD.search(text[max(0, start - 120) : start]):
            return "onward"  # "тих, хто прямує далі, зокрема до Дніпра": where people go on to
        if sentence in evacuating or sentence in moved:
            return "arrival"  # "їх везуть у тихе село Волоське", "приїхали до Дніпра"
    return "activity"


def _unqualified(region: list[PlaceMatch], other: list[tuple[str, int]]) -> list[PlaceMatch]:
    """Drop a name of the region that another oblast's name qualifies: "Новомосковськ
    Тульської області" is in Russia."""
    from bisect import bisect_right

    starts = sorted(start for _, start in other)
    kept = []
    for place in region:
        following = bisect_right(starts, place.end)
        if following < len(starts) and starts[following] - place.end <= 2:
            continue
        kept.append(place)
    return kept


# --- clearly out ------------------------------------------------------------------------


def _clearly_out(kind: str, why: str | None, window_ok: bool | None, basis: str, found: DateFinding | None, actors: _Actors, places: _Places) -> str | None:
    if kind == "listing":
        return f"{why}: its articles are the candidates"
    if window_ok is False:
        if found is not None:
            return f"dated {found.date.isoformat()} ({basis}), outside the study window"
        return "era cues date it before the study window"
    if not actors.citizens and (actors.state or actors.non_citizen):
        return "no citizen acts in the text: " + ("a state announcement" if actors.state else "an organisation's own work")
    if places.region_mentions == 0 and places.other_activity > 0:
        return "a story of another region: " + ", ".join(dict.fromkeys(places.other_names[:3]))
    if places.home_only:
        return "the region's volunteers working in another region: " + ", ".join(dict.fromkeys(places.other_names[:3]))
    if places.run_elsewhere:
        return "the region's volunteers on a run elsewhere, nobody brought to the region: " + ", ".join(dict.fromkeys(places.other_names[:3]))
    return None


# --- output -----------------------------------------------------------------------------


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


def _terms_json(by_signal: dict[str, list[TermMatch]], tokens: Tokens) -> dict[str, list[dict[str, Any]]]:
    """Each matched term once per signal, with its first sentence and every form it took
    in the text (the review app highlights those)."""
    out: dict[str, list[dict[str, Any]]] = {}
    text = tokens.text
    clipped: dict[int, str] = {}  # a sentence is the evidence of many terms
    for signal, matches in sorted(by_signal.items()):
        if not matches:
            continue
        rows: dict[tuple[str, str], dict[str, Any]] = {}
        for match in matches:
            row = rows.get((match.group, match.term))
            if row is None:
                sentence = clipped.get(match.sentence)
                if sentence is None:
                    sentence = clipped[match.sentence] = _clip(tokens.sentence_text(match.sentence))
                row = rows[(match.group, match.term)] = {
                    "term": match.term,
                    "group": match.group or None,
                    "sentence": sentence,
                    "forms": [],
                }
            form = text[match.start : match.end]
            if form not in row["forms"] and len(row["forms"]) < 10:
                row["forms"].append(form)
        out[signal] = list(rows.values())
    return out


def _clip(sentence: str) -> str:
    sentence = " ".join(sentence.split())
    return sentence if len(sentence) <= EVIDENCE_CHARS else sentence[: EVIDENCE_CHARS - 1] + "…"
