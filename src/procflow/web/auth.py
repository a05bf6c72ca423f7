"""Who is asking: signing in, and the CSRF token of every form.

Owns `SignIn`, the one thing an embedder replaces to plug in real
authentication (procflow authorises: the engine checks what each `User` may
do; who the person is comes from here), and the two kinds it ships:

- `DemoSignIn` (``procflow serve --demo``): a picker of the people of the
  organisation; the pages remember the choice in the session cookie, and the
  JSON API takes the ``X-Procflow-User`` header. Anyone may be anyone: it is
  for trying processes out, and ``serve`` allows it on a loopback address only.
- `HeaderSignIn` (``--user-header X-Remote-User``): a reverse proxy in front
  authenticates (single sign-on, LDAP, client certificates) and names the
  user in a header; the server must then be reachable only through the proxy.

An embedder with another scheme writes a class with the two methods of
`SignIn` (for example reading a JWT, or Starlette's ``request.user`` set by
an ``AuthenticationMiddleware``) and passes it to `create_app`.

The pages' session is Starlette's signed cookie (``HttpOnly``,
``SameSite=Lax``, ``Secure`` behind TLS); every form carries the session's
CSRF token, checked on every POST. The JSON API never reads the cookie, so
another site cannot make a browser call it.

Imports starlette only.
"""

from __future__ import annotations

import secrets
from typing import Protocol

from starlette.requests import Request

__all__ = ["API_USER_HEADER", "DemoSignIn", "HeaderSignIn", "SignIn", "check_csrf", "csrf_token"]

API_USER_HEADER = "X-Procflow-User"
"""The header naming the user of a JSON API call under `DemoSignIn`."""


class SignIn(Protocol):
    """How a request says who makes it."""

    picker: bool
    """True when the pages offer a list of people to sign in as (the demo)."""

    def page_user(self, request: Request) -> str | None:
        """The user id behind a page request, or None (not signed in)."""
        ...

    def api_user(self, request: Request) -> str | None:
        """The user id behind a JSON API request, or None; never from a cookie."""
        ...


class DemoSignIn:
    """Pick anyone (see the module docstring): for demos on your own machine."""

    picker = True

    def page_user(self, request: Request) -> str | None:
        user = request.session.get("user")
        return user if isinstance(user, str) and user else None

    def api_user(self, request: Request) -> str | None:
        return request.headers.get(API_USER_HEADER) or None


class HeaderSignIn:
    """Trust a header that an authenticating reverse proxy sets (see the module docstring)."""

    picker = False

    def __init__(self, header: str) -> None:
        self.header = header

    def page_user(self, request: Request) -> str | None:
        return request.headers.get(self.header) or None

    def api_user(self, request: Request) -> str | None:
        return request.headers.get(self.header) or None


def csrf_token(request: Request) -> str:
    """The session's CSRF token (made on first use); every form sends it back."""
    token = request.session.get("csrf")
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def check_csrf(request: Request, sent: object) -> bool:
    """True when ``sent`` is this session's CSRF token."""
    token = request.session.get("csrf")
    return (
        isinstance(token, str)
        and isinstance(sent, str)
        and bool(token)
        and secrets.compare_digest(token.encode(), sent.encode())
    )
