"""The language layer: what an analyst writes, read and checked one file at a time.

`source` reads YAML with the position of every node, `model` is the process
language as pydantic models (the reference of docs/language.md), `expr` the
condition language, `deadlines` and `schedules` the words of time,
`workcalendar` working days, `diagnostics` the one problem type and its codes,
`locate` maps pydantic's errors back to the YAML, `dump` writes a model back.

The bottom of the pipeline: imports only `procflow.errors` and `procflow.decisions`
(the decision-table language, which inline ``tables:`` use); see docs/architecture.md.
"""
