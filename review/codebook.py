"""The codebook: the fields a case is coded with, read from YAML (a study's data, not code)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from crawler.core.errors import ConfigError

__all__ = ["Codebook", "Field", "load_codebook"]

TYPES = ("choice", "multi", "text", "date", "place")


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    type: str
    values: tuple[str, ...] = ()
    required: bool = False
    help: str | None = None
    value_labels: tuple[str, ...] = ()  # one per value: what the form and the case show

    def label_of(self, value: str) -> str:
        """The label of one of the field's values (the value itself when it has none)."""
        if value in self.values and len(self.value_labels) == len(self.values):
            return self.value_labels[self.values.index(value)]
        return value

    def shown(self, value: Any) -> str:
        """A coded value as an analyst reads it: labels, joined; empty for nothing."""
        if value is None or value == [] or value == "":
            return ""
        if isinstance(value, list):
            return ", ".join(self.label_of(str(v)) for v in value)
        return self.label_of(str(value))

    def parse(self, raw: list[str]) -> Any:
        """The form's value(s) for this field, checked; raises ValueError with a reason."""
        values = [v.strip() for v in raw if v.strip()]
        if not values:
            if self.required:
                raise ValueError(f"{self.label} is required")
            return [] if self.type == "multi" else None
        if self.type == "multi":
            unknown = [v for v in values if v not in self.values]
            if unknown:
                raise ValueError(f"{self.label}: unknown value {unknown[0]!r}")
            return sorted(set(values), key=self.values.index)
        value = values[0]
        if self.type == "choice" and value not in self.values:
            raise ValueError(f"{self.label}: unknown value {value!r}")
        if self.type == "date":
            dt.date.fromisoformat(value)
        if self.type == "place" and not (value.startswith("UA") and len(value) == 19 and value[2:].isdigit()):
            raise ValueError(f"{self.label}: expected a KATOTTG code such as UA12020010010037010")
        return value[:2000]


@dataclass(frozen=True)
class Codebook:
    fields: tuple[Field, ...]

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)


def load_codebook(path: Path) -> Codebook:
    shown = str(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(shown, None, None, f"cannot read the codebook ({exc})") from None
    fields = []
    for index, spec in enumerate((data or {}).get("fields") or []):
        where = f"fields[{index}]"
        if not isinstance(spec, dict) or not spec.get("name") or spec.get("type") not in TYPES:
            raise ConfigError(shown, None, where, f"expected a mapping with name and type (one of {', '.join(TYPES)})")
        if spec["type"] in ("choice", "multi") and not spec.get("values"):
            raise ConfigError(shown, None, f"{where}.values", "a choice field needs its values")
        values, labels = [], []
        for number, value in enumerate(spec.get("values") or ()):
            # A value is a plain string (shown as written) or {value: ..., label: ...}.
            if isinstance(value, dict):
                if not value.get("value"):
                    raise ConfigError(shown, None, f"{where}.values[{number}]", "expected a mapping with value and label")
                values.append(str(value["value"]))
                labels.append(str(value.get("label") or value["value"]))
            else:
                values.append(str(value))
                labels.append(str(value))
        fields.append(
            Field(
                name=str(spec["name"]),
                label=str(spec.get("label") or spec["name"]),
                type=spec["type"],
                values=tuple(values),
                required=bool(spec.get("required")),
                help=spec.get("help"),
                value_labels=tuple(labels),
            )
        )
    if not fields:
        raise ConfigError(shown, None, "fields", "the codebook defines no field")
    return Codebook(tuple(fields))
