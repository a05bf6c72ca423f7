"""``procflow serve``: a web task inbox and a JSON API over any store (the ``web`` extra).

The layer above the runtime and the testing package, below the command
line: pages rendered on the server (Jinja2 templates, a little JavaScript
shipped here, no CDN) and a JSON API (FastAPI, OpenAPI at ``/openapi.json``)
over the public `procflow.Engine` API. Modules, lowest first: `staff` (who
may sign in), `auth` (signing in, CSRF), `inbox` (the one place that pages
the engine's task lists), `formdata` (forms from a task's JSON Schema),
`problems` (RFC 9457 errors), `sitewide` (what requests share), `timeline`,
`pages`, `api`, and `app` (`create_app`: the safety nets and the test clock).

Needs ``pip install 'procflow[web]'``; ``import procflow`` never imports this package.

    >>> from procflow.web import create_app, DemoSignIn, Staff  # doctest: +SKIP
    >>> app = create_app(engine, staff, sign_in=DemoSignIn())    # any ASGI server runs it
"""

from __future__ import annotations

from procflow.web.app import create_app
from procflow.web.auth import DemoSignIn, HeaderSignIn, SignIn
from procflow.web.staff import Person, Staff

__all__ = ["DemoSignIn", "HeaderSignIn", "Person", "SignIn", "Staff", "create_app"]
