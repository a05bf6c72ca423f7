"""Decision tables: scoring and appraisal rules as data (docs/decisions.md).

The table library. Its file format is part of the language
(`procflow.language.tablefile`, which a process's inline ``tables:`` use too);
what a process does with tables is in the flow layer (`procflow.flow.tables`),
and ``procflow decide`` in the CLI (`procflow.cli.decide`).

Modules, each importing only the ones before it:

- `intervals`: exact interval sets over `Decimal`;
- `columns`: typed inputs and outputs, value checks and display;
- `syntax`: the DMN-like cells (``< 60%``, ``[90..100]``, ``"A", "B"``,
  ``not("C")``, ``-``) read into atoms, with located PF501 problems;
- `cells`: a cell applied to its input's type (`UnaryTest`), and its CEL
  predicate;
- `result`: `Decision` and `Match`, the outputs and why;
- `table`: the compiled `DecisionTable` and `decide`;
- `analysis`: gaps, overlaps and unreachable rules by an exact sweep;
- `verify` and `builder`: a table model → `DecisionTable`, with every
  located diagnostic (hit policy, scorecard weights, cells, formulas, gaps);
- `files`: decision files, and scopes of tables that may call each other.

Imports the language layer only. This ``__init__`` imports nothing, so that
importing one module does not import the others; the public names
`procflow.decide`, `procflow.Decision` and `procflow.DecisionTable` are
re-exported by `procflow`.
"""
