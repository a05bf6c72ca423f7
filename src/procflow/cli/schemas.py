"""The JSON Schemas of the language, generated from `model`.

``schemas/*.schema.json`` are written by ``procflow schema --write`` and a
test fails when they are stale. Editors use them through the
``# yaml-language-server: $schema=...`` line at the top of each file.

Imports the models (`model`, `testing.scenario`, `language.tablefile`) only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from procflow.language.model import Organisation, Process
from procflow.language.tablefile import DecisionFile
from procflow.testing.scenario import Scenario

SCHEMAS: dict[str, type[BaseModel]] = {
    "process": Process,
    "organisation": Organisation,
    "scenario": Scenario,
    "decisions": DecisionFile,
}


def schema_of(name: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one file kind."""
    model = SCHEMAS[name]
    schema = model.model_json_schema(by_alias=True, mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://procflow.dev/schemas/{name}.schema.json",
        **schema,
    }


def schema_text(name: str) -> str:
    """The schema as the text kept in ``schemas/``."""
    return json.dumps(schema_of(name), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def write_schemas(folder: Path) -> list[Path]:
    """Write every schema into ``folder``; return the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in SCHEMAS:
        path = folder / f"{name}.schema.json"
        path.write_text(schema_text(name), encoding="utf-8")
        written.append(path)
    return written
