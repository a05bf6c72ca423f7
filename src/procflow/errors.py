"""The exception tree. Every exception procflow raises on purpose is here.

::

    ProcflowError
    ├── DefinitionError (ValueError)      a process or decision file has problems
    ├── ExecutionError                    a command cannot be carried out
    │   ├── NotAllowed (PermissionError)  the user may not do this
    │   ├── InvalidSubmission (ValueError) submitted data does not fit the documents
    │   ├── TaskNotOpen (LookupError)     the task is unknown, done or withdrawn
    │   ├── ProcessNotFound (LookupError) no process of the catalog has this id
    │   ├── EvaluationError (ValueError)  a condition met a missing or bad value at run time
    │   └── CommandReused (ValueError)    a command id was already used for another command
    ├── InvalidArgument (TypeError, ValueError) an argument of a call has the wrong type or form
    ├── StoreError                        the store failed
    │   ├── InstanceNotFound (LookupError)
    │   ├── DefinitionNotFound (LookupError) no definition is stored under a hash
    │   ├── Conflict                      someone else changed the instance first
    │   ├── DamagedRecord                 a stored row cannot be read back
    │   ├── BlobNotFound (LookupError)    no attachment's bytes are kept under a key
    │   └── StoreURLError (ValueError)    `open_store` cannot read the URL
    └── RenderError                       a diagram could not be written

Each class also subclasses the matching builtin, so ``except ValueError`` in
an embedding application still catches what it should.

Imports only `diagnostics`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from procflow.language.diagnostics import Diagnostic


class ProcflowError(Exception):
    """Base of every procflow exception."""


class DefinitionError(ProcflowError, ValueError):
    """A definition has problems. ``diagnostics`` holds all of them, errors first."""

    def __init__(self, diagnostics: Iterable[Diagnostic]) -> None:
        self.diagnostics: tuple[Diagnostic, ...] = tuple(
            sorted(diagnostics, key=lambda d: (not d.is_error, d.file, d.line, d.column, d.code))
        )
        count = sum(1 for d in self.diagnostics if d.is_error)
        lines = "\n".join(str(d) for d in self.diagnostics)
        super().__init__(f"{count} problem(s):\n{lines}")

    def __reduce__(self) -> tuple[Any, ...]:
        # the default would call DefinitionError(message): rebuild from the diagnostics
        return (type(self), (self.diagnostics,), self.__dict__)


class ExecutionError(ProcflowError):
    """A command (start, complete, claim, ...) cannot be carried out."""


class NotAllowed(ExecutionError, PermissionError):
    """The user does not hold the role, is not the delegate, or breaks a four-eyes rule."""


class InvalidSubmission(ExecutionError, ValueError):
    """Submitted data does not fit the documents.

    ``problems`` maps each bad field path to what is wrong with it.
    """

    def __init__(self, problems: Mapping[str, str]) -> None:
        self.problems: dict[str, str] = dict(problems)
        detail = "; ".join(f"{path}: {msg}" for path, msg in sorted(self.problems.items()))
        # printable whatever was submitted: a lone surrogate is written as its escape
        detail = detail.encode("utf-8", "backslashreplace").decode("utf-8")
        super().__init__(f"invalid submission: {detail}")

    def __reduce__(self) -> tuple[Any, ...]:
        # picklable (a worker pool, a task queue): rebuilt from the problems, not the message
        return (type(self), (self.problems,), self.__dict__)


class TaskNotOpen(ExecutionError, LookupError):
    """The task does not exist, is already completed, or was withdrawn."""


class ProcessNotFound(ExecutionError, LookupError):
    """The engine's catalog has no process with this id."""


class EvaluationError(ExecutionError, ValueError):
    """An expression met a missing or ill-typed value at run time."""


class CommandReused(ExecutionError, ValueError):
    """A ``command_id`` was already used for a different command (another user, task or
    kind of command). A retry must repeat the first command exactly; nothing is done."""


class InvalidArgument(ProcflowError, TypeError, ValueError):
    """An argument of a public call has the wrong type or form; the message names it.

    Such as ``by=None`` or ``by="li"`` where a `User` is needed, or a user id
    that is not text. It is also a TypeError and a ValueError, which is what
    Python raises for such mistakes.
    """


class StoreError(ProcflowError):
    """The store failed.

    Attributes:
        retry_safe: Whether running the command again is safe: True when it
            certainly stored nothing (the connection dropped before its commit,
            the server refused it, a read failed), or when it carried a
            ``command_id`` that makes a second run return the first one's
            result. False when it may have been stored and a second run could
            apply it twice (the connection dropped during ``COMMIT`` of a
            command without ``command_id``): look first. The message says
            which, and why.
    """

    retry_safe: bool = False

    def __init__(self, *args: object, retry_safe: bool | None = None) -> None:
        super().__init__(*args)
        if retry_safe is not None:
            self.retry_safe = retry_safe


class InstanceNotFound(StoreError, LookupError):
    """No instance has this id."""

    retry_safe = True


class DefinitionNotFound(StoreError, LookupError):
    """No process definition is stored under this content hash."""

    retry_safe = True


class Conflict(StoreError):
    """The instance changed since it was read (expected-version check); nothing was stored."""

    retry_safe = True


class DamagedRecord(StoreError):
    """A stored row cannot be read back (junk JSON, a wrong shape): the store is damaged there.

    Attributes:
        instance_id: The instance whose row it is, when it belongs to one.
    """

    def __init__(self, message: str, *, instance_id: str | None = None) -> None:
        super().__init__(message)
        self.instance_id = instance_id


class BlobNotFound(StoreError, LookupError):
    """The blob store keeps no bytes under this key (`Engine.attachment`)."""


class StoreURLError(StoreError, ValueError):
    """A store URL that procflow cannot open: wrong form, or an unknown kind of store."""


class RenderError(ProcflowError):
    """A diagram could not be produced."""

    def __init__(
        self, message: str, *, diagnostics: Sequence[Diagnostic] = (), **extra: Any
    ) -> None:
        self.diagnostics = tuple(diagnostics)
        self.extra = extra
        super().__init__(message)
