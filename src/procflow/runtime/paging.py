"""Pages of a listing and the cursors that go from one page to the next.

Owns `TaskPage` and `InstancePage` (what `Engine.tasks` and
`Engine.instances` return) and the cursor: where the page ended, signed.

- **A page is a list**: the tasks or instances of the page, in order, with
  ``next``, the cursor of the next page (None on the last page). Code that
  treated the answer as a list (``[task] = engine.tasks(user=li)``,
  ``engine.tasks(user=li) == []``) keeps working.
- **Keyset pagination.** A cursor names the position after which the next
  page starts: the sort value and id of the last row read (``(due, task
  id)``, ``(started_at, instance id)``), never an offset. A page that
  follows reads from the index at that position, so it neither skips nor
  repeats a row when others add or remove rows in between.
- **Opaque and tamper-checked.** The position, and a digest of the query's
  filters, are signed with the store's secret (`Store.cursor_key`, one per
  store, so every process sharing the store accepts every cursor it made).
  A cursor changed by hand, made by another store, or given with other
  filters is refused with `InvalidArgument`.

Not compiled (a `list` subclass); imports `errors` and `views` (the rows).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterable
from typing import Any, Generic, TypeVar

from procflow.errors import InvalidArgument
from procflow.runtime.views import Instance, Task

__all__ = ["InstancePage", "Page", "TaskPage", "make_cursor", "read_cursor"]

T = TypeVar("T")

_MAC = 16
"""Bytes of the signature kept in a cursor."""


class Page(list[T], Generic[T]):
    """One page of a listing: a list of its rows, in order, and ``next``.

    Attributes:
        next: Pass it as ``after=`` to get the next page; None on the last one. A
            page may hold fewer rows than the limit and still have a ``next`` (rows
            the user may not see were passed over): go on until ``next`` is None.
    """

    def __init__(self, rows: Iterable[T] = (), next: str | None = None) -> None:
        super().__init__(rows)
        self.next = next

    def __repr__(self) -> str:  # a list's, as before pages: plus ``next`` when there is one
        rows = list.__repr__(self)
        return rows if self.next is None else f"{type(self).__name__}({rows}, next={self.next!r})"


class TaskPage(Page[Task]):
    """A page of `Engine.tasks`: `Task` objects."""


class InstancePage(Page[Instance]):
    """A page of `Engine.instances`: `Instance` objects."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def digest(filters: Any) -> str:
    """A short digest of a query's filters (JSON data), kept in its cursors."""
    text = json.dumps(filters, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def make_cursor(key: bytes, kind: str, filters: str, position: tuple[str, str]) -> str:
    """A signed cursor for the page after ``position`` of a ``kind`` query with ``filters``."""
    payload = json.dumps([kind, filters, *position], ensure_ascii=False).encode("utf-8")
    mac = hmac.new(key, payload, hashlib.sha256).digest()[:_MAC]
    return f"{_b64(payload)}.{_b64(mac)}"


def read_cursor(key: bytes, cursor: Any, kind: str, filters: str) -> tuple[str, str]:
    """The position a cursor of a ``kind`` query with ``filters`` names.

    Raises:
        InvalidArgument: Not a cursor of this store, changed, or of another query.
    """
    if not isinstance(cursor, str):
        raise InvalidArgument(
            f"after= takes the text of a page's next, not {type(cursor).__name__}"
        )
    bad = InvalidArgument(
        "after= is not a cursor of this store (changed, cut short, or made by another store):"
        " pass the 'next' of the previous page as it is"
    )
    body, dot, sign = cursor.partition(".")
    try:
        payload, mac = _unb64(body), _unb64(sign)
    except ValueError:
        raise bad from None
    if not dot or not hmac.compare_digest(
        mac, hmac.new(key, payload, hashlib.sha256).digest()[:_MAC]
    ):
        raise bad
    found = json.loads(payload)
    if found[0] != kind or found[1] != filters:
        raise InvalidArgument(
            "after= is the cursor of another query: give the filters of the page it came from"
        )
    return found[2], found[3]
