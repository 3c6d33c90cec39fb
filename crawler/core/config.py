"""Load and validate the study file, `seeds.yaml`.

Validation happens before anything is fetched. Every problem is reported as one line naming
the file, the line, the field and what was expected, e.g.::

    seeds.yaml:23: sources[1].start_urls: expected at least one start URL (got [])

Configuration lookup for the values a command can override is: command-line flag, then the
``COPROD_*`` environment variable, then the study file (`resolve_setting`).
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import importlib.util
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from crawler.core.cron import parse_cron
from crawler.core.errors import ConfigError

__all__ = [
    "SOURCE_KINDS",
    "Config",
    "CrawlPolicy",
    "Schedule",
    "Source",
    "Study",
    "load_config",
    "parse_duration",
    "resolve_setting",
]

SOURCE_KINDS = ("news", "council", "volunteer_hub", "telegram", "other")
LANGUAGE_HINTS = ("uk", "ru", "en", "mixed")
BUILTIN_PREFIX = "builtin:"
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")


_DURATION_RE = re.compile(r"^(\d+)([mhdw])$")
_DURATION_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> dt.timedelta:
    """A duration such as 30m, 6h, 1d or 2w."""
    match = _DURATION_RE.match(text)
    if not match or int(match[1]) == 0:
        raise ValueError(f"expected a duration such as 30m, 6h, 1d or 2w (got {text!r})")
    return dt.timedelta(**{_DURATION_UNITS[match[2]]: int(match[1])})


def _check_duration(text: str) -> str:
    parse_duration(text)
    return text


# Kept as text (the sources travel through Scrapy settings as JSON); read with parse_duration.
Duration = Annotated[str, AfterValidator(_check_duration)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Window(_Strict):
    start: dt.date
    end: dt.date

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.end < self.start:
            raise ValueError(f"window end {self.end} is before its start {self.start}")
        return self


class Study(_Strict):
    name: str = "unnamed study"
    region: str = Field(min_length=1)
    region_code: str = Field(pattern=r"^UA\d{17}$", description="KATOTTG code of the study region (an oblast)")
    window: Window
    places: list[str] = Field(default_factory=lambda: ["builtin:places-dnipropetrovsk"])
    # Pages in other languages leave the report's screening flow at its language step.
    languages: list[str] = Field(default_factory=lambda: list(LANGUAGE_HINTS), min_length=1)


class AutoThrottle(_Strict):
    start_delay: Annotated[float, Field(ge=0)] = 1.0
    max_delay: Annotated[float, Field(gt=0)] = 60.0
    target_concurrency: Annotated[float, Field(gt=0)] = 1.0


class Retry(_Strict):
    times: Annotated[int, Field(ge=0, le=20)] = 3
    backoff_base: Annotated[float, Field(ge=0)] = 2.0
    backoff_max: Annotated[float, Field(ge=0)] = 120.0


class CrawlPolicy(_Strict):
    depth: Annotated[int, Field(ge=0, le=50)] = 3
    pages_per_source: Annotated[int, Field(ge=1)] = 500
    delay: Annotated[float, Field(ge=0)] = 1.0
    concurrency: Annotated[int, Field(ge=1, le=256)] = 8
    concurrency_per_domain: Annotated[int, Field(ge=1, le=64)] = 2
    max_page_bytes: Annotated[int, Field(ge=1024)] = 5_000_000
    timeout: Annotated[float, Field(gt=0)] = 30.0
    user_agent: str = Field(min_length=1)
    autothrottle: AutoThrottle = AutoThrottle()
    retry: Retry = Retry()
    proxy: str | None = None
    telegram_preview_url: str = "https://t.me"  # where public channel previews are read (/s/<channel>)
    workers: Annotated[int, Field(ge=0, le=256)] | None = None  # chain worker processes; None: the machine's cores
    # A team crawl's shared frontier: redis://HOST:PORT/DB[?prefix=NAME] (none: one machine).
    frontier: str | None = None

    @field_validator("user_agent")
    @classmethod
    def _has_contact(cls, value: str) -> str:
        # Polite crawling: site owners must be able to reach whoever runs the crawl.
        if not re.search(r"(https?://|mailto:|@)", value):
            raise ValueError("expected a user agent with a contact (a URL or an email address)")
        return value

    @field_validator("proxy", "telegram_preview_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None:
            _check_http_url(value)
        return value

    @field_validator("frontier")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is not None and urlsplit(value).scheme not in ("redis", "rediss", "unix"):
            raise ValueError(f"expected a redis:// URL (got {value!r})")
        return value


class Review(_Strict):
    codebook: str = "builtin:codebook"
    exclude_reasons: list[str] = Field(
        default_factory=lambda: [
            "not citizen-to-citizen",
            "government service (G2C)",
            "citizens serving the state (C2G)",
            "outside the region",
            "outside the time window",
            "not an initiative (news, ad, other)",
            "duplicate",
        ],
        min_length=1,
    )
    dual_screening: bool = False
    learning_after: Annotated[int, Field(ge=2)] = 50  # decisions before the model re-ranks the queue


class Revisit(_Strict):
    """How long after a finished crawl each kind of source is due again."""

    news: Duration = "1d"
    council: Duration = "7d"
    volunteer_hub: Duration = "2d"
    telegram: Duration = "6h"
    other: Duration = "7d"


class Schedule(_Strict):
    cron: str = "0 3 * * *"  # when `coprod schedule` wakes up (UTC)
    revisit: Revisit = Revisit()
    sooner_with_included: Annotated[float, Field(gt=0, le=1)] = 0.5  # interval factor for sources with recent cases
    included_within: Duration = "30d"  # how recent an included case has to be

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        parse_cron(value)
        return value


class Flagging(_Strict):
    # The learned weights of the calibrated score (`coprod calibrate` writes them), and the
    # probability a page needs to be flagged (default: the weights file's recall-first one).
    weights: str = "builtin:relevance-weights"
    threshold: Annotated[float, Field(gt=0, lt=1)] | None = None


def _check_http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"expected an http(s) URL (got {value!r})")
    return value


class Source(_Strict):
    name: str
    kind: Literal["news", "council", "volunteer_hub", "telegram", "other"]
    start_urls: list[str] = Field(default_factory=list)
    feeds: list[str] = Field(default_factory=list)  # RSS / Atom feeds
    sitemaps: list[str] = Field(default_factory=list)  # XML sitemaps or sitemap indexes
    allowed_domains: list[str] = Field(default_factory=list)
    region: str | None = None
    language: Literal["uk", "ru", "en", "mixed"] | None = None
    enabled: bool = True
    pages: Annotated[int, Field(ge=1)] | None = None
    depth: Annotated[int, Field(ge=0, le=50)] | None = None
    revisit: Duration | None = None  # overrides schedule.revisit for this source
    note: str | None = None

    @field_validator("name")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not _NAME_RE.match(value):
            raise ValueError(
                "expected a short name of lowercase letters, digits, '.', '_' or '-' "
                f"(got {value!r})"
            )
        return value

    @field_validator("start_urls", "feeds", "sitemaps")
    @classmethod
    def _urls(cls, value: list[str]) -> list[str]:
        for url in value:
            _check_http_url(url)
        return value

    @model_validator(mode="after")
    def _something_to_fetch(self) -> Source:
        if not (self.start_urls or self.feeds or self.sitemaps):
            raise _FieldProblem(("start_urls",), "expected at least one start URL, feed or sitemap")
        return self

    @field_validator("allowed_domains")
    @classmethod
    def _domains(cls, value: list[str]) -> list[str]:
        for domain in value:
            if not re.fullmatch(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?", domain):
                raise ValueError(f"expected a bare lowercase domain such as 'example.org' (got {domain!r})")
        return value

    @property
    def domains(self) -> tuple[str, ...]:
        """Allowed domains; the start URLs' hosts when none are given."""
        if self.allowed_domains:
            return tuple(self.allowed_domains)
        hosts = {(urlsplit(url).hostname or "").removeprefix("www.") for url in self.start_urls + self.feeds + self.sitemaps}
        return tuple(sorted(hosts))


class _File(_Strict):
    version: Literal[1] = 1
    study: Study
    crawl: CrawlPolicy
    flag: Flagging = Flagging()
    review: Review = Review()
    lexicon: list[str] = Field(min_length=1)
    database: str = "sqlite:///data/coprod.sqlite"
    captures: str | None = None  # the WARC folder every crawler writes and every machine reads
    schedule: Schedule = Schedule()
    sources: list[Source] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_names(self) -> _File:
        seen: set[str] = set()
        for index, source in enumerate(self.sources):
            if source.name in seen:
                raise _FieldProblem(("sources", index, "name"), f"duplicate source name {source.name!r}")
            seen.add(source.name)
        return self


class _FieldProblem(ValueError):
    def __init__(self, loc: tuple[str | int, ...], message: str):
        super().__init__(message)
        self.loc = loc
        self.message = message


@dataclass(frozen=True)
class Config:
    """A validated study file, with the paths it names resolved."""

    path: Path
    sha256: str
    study: Study
    crawl: CrawlPolicy
    flag: Flagging
    lexicon_paths: tuple[Path, ...]
    place_paths: tuple[Path, ...]
    weights_path: Path
    codebook_path: Path
    review: Review
    database: str
    sources: tuple[Source, ...]
    schedule: Schedule = Schedule()
    captures: str | None = None

    def source(self, name: str) -> Source:
        for source in self.sources:
            if source.name == name:
                return source
        raise KeyError(name)

    def select_sources(self, names: list[str] | None) -> tuple[Source, ...]:
        """The enabled sources, or exactly the named ones (enabled or not)."""
        if not names:
            return tuple(s for s in self.sources if s.enabled)
        known = {s.name for s in self.sources}
        for name in names:
            if name not in known:
                hint = _did_you_mean(name, known)
                raise ConfigError(str(self.path), None, "sources", f"no source named {name!r}{hint}")
        return tuple(s for s in self.sources if s.name in names)


def resolve_setting(flag_value: str | None, env_name: str, file_value: str | None) -> str | None:
    """Flag, then environment variable, then the study file."""
    if flag_value:
        return flag_value
    if os.environ.get(env_name):
        return os.environ[env_name]
    return file_value


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read, validate and resolve a study file; raise `ConfigError` on any problem."""
    path = Path(path)
    shown = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(shown, None, None, "file not found") from None
    except OSError as exc:
        raise ConfigError(shown, None, None, f"cannot read the file ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(shown, None, None, f"expected UTF-8 text ({exc.reason} at byte {exc.start})") from None

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise ConfigError(shown, line, None, f"YAML syntax error: {exc.problem or exc.context}") from None
    if root is None:
        raise ConfigError(shown, None, None, "the file is empty; expected a mapping with study, crawl, lexicon, sources")
    _reject_duplicate_keys(shown, root)
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ConfigError(shown, root.start_mark.line + 1, None, "expected a mapping at the top of the file")

    try:
        parsed = _File.model_validate(data)
    except ValidationError as exc:
        raise _first_problem(shown, root, exc) from None

    lexicon_paths = tuple(_resolve_data_file(shown, root, path.parent, ("lexicon", i), p) for i, p in enumerate(parsed.lexicon))
    place_paths = tuple(_resolve_data_file(shown, root, path.parent, ("study", "places", i), p) for i, p in enumerate(parsed.study.places))
    return Config(
        path=path,
        sha256=hashlib.sha256(raw).hexdigest(),
        study=parsed.study,
        crawl=parsed.crawl,
        flag=parsed.flag,
        lexicon_paths=lexicon_paths,
        place_paths=place_paths,
        weights_path=_resolve_data_file(shown, root, path.parent, ("flag", "weights"), parsed.flag.weights),
        codebook_path=_resolve_data_file(shown, root, path.parent, ("review", "codebook"), parsed.review.codebook),
        review=parsed.review,
        database=parsed.database,
        sources=tuple(parsed.sources),
        schedule=parsed.schedule,
        captures=parsed.captures,
    )


def builtin_path(name: str) -> Path:
    """A data file shipped with coprod: ``builtin:coproduction`` is the default lexicon,
    ``builtin:places-dnipropetrovsk`` the default place aliases."""
    # find_spec locates the package without importing it (pipelines imports this module).
    spec = importlib.util.find_spec("pipelines")
    assert spec is not None and spec.submodule_search_locations
    return Path(spec.submodule_search_locations[0]) / "lexicons" / f"{name}.yaml"


def _resolve_data_file(shown: str, root: yaml.Node, base: Path, loc: tuple[str | int, ...], value: str) -> Path:
    if value.startswith(BUILTIN_PREFIX):
        candidate = builtin_path(value.removeprefix(BUILTIN_PREFIX))
    else:
        candidate = (base / value).resolve()
    if not candidate.is_file():
        raise ConfigError(shown, _line_of(root, loc), _dotted(loc), f"file not found: {value!r} (relative paths are read from the study file's folder)")
    return candidate


def _reject_duplicate_keys(shown: str, node: yaml.Node, trail: str = "") -> None:
    # PyYAML keeps the last of two equal keys silently; a researcher would lose a setting.
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            name = str(key.value)
            field = f"{trail}.{name}" if trail else name
            if name in seen:
                raise ConfigError(shown, key.start_mark.line + 1, field, "this key appears twice in the same mapping")
            seen.add(name)
            _reject_duplicate_keys(shown, value, field)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _reject_duplicate_keys(shown, item, f"{trail}[{index}]")


def _first_problem(shown: str, root: yaml.Node, exc: ValidationError) -> ConfigError:
    error = exc.errors()[0]
    loc: tuple[str | int, ...] = tuple(error["loc"])
    message = error["msg"]
    ctx = error.get("ctx") or {}
    problem = ctx.get("error")
    if isinstance(problem, _FieldProblem):
        # A model validator's problem is located relative to the model it checked.
        loc, message = loc + problem.loc, problem.message
    elif error["type"] == "extra_forbidden":
        parent = _model_at(loc[:-1])
        allowed = sorted(parent.model_fields) if parent else []
        message = f"unknown field {loc[-1]!r}{_did_you_mean(str(loc[-1]), allowed)}; expected one of: {', '.join(allowed)}"
    elif error["type"] == "missing":
        message = "this field is required but missing"
    else:
        message = _plain(message)
        if error["type"] not in ("value_error",) and "input" in error:
            message += f" (got {_short(error['input'])})"
    # Pydantic adds the tag of a literal/union branch to the location; keep only data keys.
    loc = tuple(part for part in loc if isinstance(part, int) or not str(part).startswith(("function-", "constrained-")))
    return ConfigError(shown, _line_of(root, loc), _dotted(loc), message)


def _plain(message: str) -> str:
    message = message.removeprefix("Value error, ")
    replacements = {
        "List should have at least 1 item after validation, not 0": "expected at least one item",
        "Input should be a valid integer": "expected a whole number",
        "Input should be a valid number": "expected a number",
        "Input should be a valid string": "expected text",
        "Input should be a valid boolean": "expected true or false",
        "Input should be a valid list": "expected a list",
        "Input should be a valid date": "expected a date such as 2022-02-24",
    }
    for pydantic_text, ours in replacements.items():
        if message.startswith(pydantic_text):
            return ours
    if message.startswith("String should match pattern "):
        return "expected text matching the pattern " + message.removeprefix("String should match pattern ")
    if message.startswith("Input should be "):
        return "expected " + message.removeprefix("Input should be ")
    return message


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _did_you_mean(name: str, options: Any) -> str:
    close = difflib.get_close_matches(name, list(options), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _dotted(loc: tuple[str | int, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _model_at(loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    model: type[BaseModel] | None = _File
    for part in loc:
        if isinstance(part, int) or model is None:
            continue
        field = model.model_fields.get(str(part))
        if field is None:
            return None
        annotation = field.annotation
        inner = getattr(annotation, "__args__", None)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
        elif inner and isinstance(inner[0], type) and issubclass(inner[0], BaseModel):
            model = inner[0]
        else:
            model = None
    return model


def _line_of(root: yaml.Node, loc: tuple[str | int, ...]) -> int:
    """The 1-based line of the deepest node the location reaches (its parent when missing)."""
    node = root
    line = root.start_mark.line
    for part in loc:
        child = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == part:
                    # A field's own line is its key's line, which is where a reader looks.
                    line = key.start_mark.line
                    child = value
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            child = node.value[part]
            line = child.start_mark.line
        if child is None:
            break
        node = child
    return line + 1
