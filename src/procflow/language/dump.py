"""Write a process back to YAML text.

Owns `dump`: the inverse of loading, used by tests (load → dump → load gives
an equal model) and by tools that generate processes. The output is the
long form with defaults left out, in the key order of the models, with the
``yaml-language-server`` schema line on top.

Imports `model` only.
"""

from __future__ import annotations

import io
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from procflow.language.model import KIND_KEYS, Organisation, Process

SCHEMA_LINE = "# yaml-language-server: $schema=../schemas/{kind}.schema.json\n"


_TRAPS = frozenset({"yes", "no", "on", "off", "y", "n", "true", "false", "null", "~", ""})
_FIRST = ("id", "title", *KIND_KEYS)


def _plain(value: Any) -> Any:
    """Data as it should be written: steps lead with id, title and their kind key;
    text that older YAML would read as a yes/no, null or number is quoted."""
    if isinstance(value, dict):
        keys = [k for k in _FIRST if k in value] if "steps" not in value else []
        ordered = {k: value[k] for k in keys} | value
        return {_plain(k): _plain(v) for k, v in ordered.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, str) and (value.lower() in _TRAPS or _looks_numeric(value)):
        return DoubleQuotedScalarString(value)
    return value


def _looks_numeric(text: str) -> bool:
    try:
        float(text.replace("_", ""))
    except ValueError:
        return text[:4].isdigit() and text[4:5] == "-"  # dates and "2026-11"
    return True


def dump(model: Process | Organisation) -> str:
    """The YAML text of a process or organisation (long form, defaults omitted)."""
    data = model.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    data = {"procflow": 1, **data}
    yaml = YAML(typ="rt")
    yaml.default_flow_style = False
    yaml.allow_unicode = True
    yaml.width = 4096
    out = io.StringIO()
    yaml.dump(_plain(data), out)
    kind = "process" if isinstance(model, Process) else "organisation"
    return SCHEMA_LINE.format(kind=kind) + out.getvalue()
