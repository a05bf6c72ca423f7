"""The flow layer: a loaded process compiled into its typed flow, and the checks over it.

`load` runs the pipeline (source → model → flow → checks) for files and
folders; `build` makes the flow of one process; `checks`, `held`, `links` and
`tables` check it (one process, documents carried, references between
processes, decision tables applied by steps).

Imports the language layer only; see docs/architecture.md.
"""
