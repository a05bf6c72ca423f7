"""Decision tables: scoring and appraisal rules as data (docs/decisions.md).

Modules, each importing only the ones before it:

- `model`: the file format as pydantic models (pydantic only, so that
  `procflow.model` can use `Table` for a process's inline ``tables:``);
- `intervals`: exact interval sets over `Decimal`;
- `columns`: typed inputs and outputs, value checks and display;
- `syntax`: the DMN-like cells (``< 60%``, ``[90..100]``, ``"A", "B"``,
  ``not("C")``, ``-``) read into atoms, with located PF501 problems;
- `cells`: a cell applied to its input's type (`UnaryTest`), and its CEL
  predicate;
- `result`: `Decision` and `Match`, the outputs and why;
- `table`: the compiled `DecisionTable` and `decide`;
- `analysis`: gaps, overlaps and unreachable rules by an exact sweep;
- `checks` and `build`: a table model → `DecisionTable`, with every
  located diagnostic (hit policy, scorecard weights, cells, formulas, gaps);
- `files`: decision files, and scopes of tables that may call each other;
- `process`: what a process does with tables (``apply:``, functions in
  conditions, `apply_tables` for the runtime);
- `commands`: the work of ``procflow decide``.

This ``__init__`` imports nothing, because `procflow.model` imports
`procflow.decisions.model` while it is itself being imported. Import from the
modules (``from procflow.decisions.process import apply_tables``); the public
names `procflow.decide`, `procflow.Decision` and `procflow.DecisionTable` are
re-exported by `procflow`.
"""
