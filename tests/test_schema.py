"""The JSON Schemas in schemas/ match the models, and describe real files."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from procflow.cli.schemas import SCHEMAS, schema_text
from procflow.language import source

ROOT = Path(__file__).parent.parent


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_schema_is_fresh(name: str) -> None:
    kept = ROOT / "schemas" / f"{name}.schema.json"
    assert kept.read_text(encoding="utf-8") == schema_text(name), (
        f"{kept} is stale: run 'procflow schema --write schemas/'"
    )


def _json_ready(value: object) -> object:
    return json.loads(json.dumps(value, default=str))


@pytest.mark.slow
def test_process_files_match_the_schema() -> None:
    schema = json.loads(schema_text("process"))
    files = [p for p in (ROOT / "processes").rglob("*.yaml") if "scenarios" not in p.parts]
    checked = 0
    for path in files:
        doc, problems = source.load_file(path)
        assert doc is not None, problems
        if "steps" not in doc.data:
            continue
        jsonschema.validate(_json_ready(doc.data), schema)
        checked += 1
    assert checked >= 1


def test_decision_files_match_their_schema() -> None:
    schema = json.loads(schema_text("decisions"))
    files = sorted((ROOT / "processes" / "decisions").glob("*.yaml"))
    for path in files:
        doc, problems = source.load_file(path)
        assert doc is not None, problems
        jsonschema.validate(_json_ready(doc.data), schema)
    assert files


def test_every_process_file_names_its_schema() -> None:
    for path in (ROOT / "processes").rglob("*.yaml"):
        if "scenarios" in path.parts:
            continue
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith("# yaml-language-server: $schema="), path


def test_schema_rejects_an_unknown_key() -> None:
    schema = json.loads(schema_text("process"))
    bad = {"procflow": 1, "id": "X", "title": "t", "steps": [{"actor": "a"}], "titel": "x"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_cli_knows_every_schema() -> None:
    from procflow.cli.main import SCHEMA_KINDS

    assert sorted(SCHEMAS) == SCHEMA_KINDS
