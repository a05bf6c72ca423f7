"""What people do around an instance besides its tasks: reassigning, comments, attachments.

Owns `Supervision`, the part of `Engine` for the commands that do not move
a token: ``reassign`` (an administrator gives an open task to someone; the
four-eyes rules still apply to that person), ``comment`` and ``attach``
(kept in the history as ``commented`` and ``attached`` events; the bytes of
an attachment go to the blob store and the event keeps its key), and who
may see an instance (`Supervision.may_see`), which the comments, the
attachments and `procflow serve`'s instance page share.

Like every command, each is one commit with the version it read
(`core.Core.store_command`): a concurrent change gives `Conflict`.

Imports `core`, `guards`, `blobs`, `people`, `views`, `values`, `errors`.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

from procflow.errors import BlobNotFound, InvalidArgument, NotAllowed
from procflow.language.model import TEXT_LENGTH
from procflow.runtime.blobs import BlobStore, FileBlobStore
from procflow.runtime.clock import parse_iso
from procflow.runtime.core import Core
from procflow.runtime.guards import as_text, check_actor
from procflow.runtime.people import User
from procflow.runtime.program import Program
from procflow.runtime.reasons import Reason
from procflow.runtime.state import Snapshot
from procflow.runtime.views import Task, build_task

__all__ = ["MAX_ATTACHMENT", "Attachment", "Supervision"]

MAX_ATTACHMENT = 10 * 1024 * 1024
"""Most bytes of one attachment, unless ``Engine(max_attachment=...)`` says otherwise."""
_NAME_LENGTH = 255
DEFAULT_BLOBS = "procflow-attachments"
"""The folder (in the working directory) of the default `FileBlobStore`."""


class Attachment(NamedTuple):
    """A file attached to an instance: the reference its history keeps.

    Attributes:
        instance_id: The instance.
        name: The file name as given.
        blob: The blob store's key for the bytes (``sha256-...``).
        size: Bytes.
        type: Media type (``application/pdf``).
        at: When it was attached.
        by: Who attached it.
    """

    instance_id: str
    name: str
    blob: str
    size: int
    type: str
    at: datetime
    by: str | None


def _text(value: object, name: str, longest: int) -> str:
    text = as_text(value, name=name).strip()
    if not text:
        raise InvalidArgument(Reason("empty_text", parameter=name))
    if len(text) > longest:
        raise InvalidArgument(
            Reason("text_too_long", parameter=name, count=len(text), limit=longest)
        )
    return text


class Supervision:
    """Reassigning, comments and attachments (see the module docstring)."""

    def __init__(
        self,
        core: Core,
        *,
        administrators: Collection[str] = (),
        blobs: BlobStore | None = None,
        max_attachment: int = MAX_ATTACHMENT,
    ) -> None:
        self.core = core
        self.administrators = frozenset(administrators)
        self._blobs = blobs
        self.max_attachment = max_attachment

    @property
    def blobs(self) -> BlobStore:
        """The blob store (a `FileBlobStore` of ``./procflow-attachments`` unless given)."""
        if self._blobs is None:
            self._blobs = FileBlobStore(Path(DEFAULT_BLOBS))
        return self._blobs

    def is_admin(self, user: User) -> bool:
        """True when ``user`` holds a role the embedder named as administrators."""
        return not self.administrators.isdisjoint(user.roles)

    def may_see(self, state: Snapshot, program: Program, user: User) -> bool:
        """Whether ``user`` may read an instance, comment on it and attach files to it:
        an administrator, whoever started it or did a remembered step of it, the
        candidates and assignees of its open tasks, and the holders of its process's roles.
        """
        if self.is_admin(user) or state.started_by == user.id:
            return True
        if not user.roles.isdisjoint(program.flow.used_actors):
            return True
        uid = user.id
        if any(uid == t.assignee or uid in t.candidates for t in state.tasks.values()):
            return True
        return any(uid in done.by for done in state.done.values())

    def _seen(self, instance_id: str, user: User, refusal: str) -> None:
        """`NotAllowed` (the `Reason` ``refusal``) unless ``user`` may see the instance."""
        _, state = self.core.load(instance_id)
        if not self.may_see(state, self.core.program(state.definition_hash), user):
            raise NotAllowed(Reason(refusal, user=user.id, instance=instance_id))

    def reassign(self, task_id: str, *, by: User, to: str) -> Task:
        if not self.is_admin(by):
            if not self.administrators:
                raise NotAllowed(Reason("nobody_may_reassign"))
            roles = tuple(sorted(self.administrators))
            raise NotAllowed(Reason("may_not_reassign", user=by.id, roles=roles))
        core = self.core
        cmd = core.command(by.id)
        run, number, task, node = core.task_run(cmd, task_id)
        check_actor(run.draft, task._replace(assignee=to, candidates=()), node, User(to))
        run.emit("task_reassigned", {"task": number, "to": to, "from": task.assignee})
        core.store_command(cmd, None, run)
        return build_task(run.id, run.program, number, run.state.tasks[number])

    def comment(self, instance_id: str, text: str, *, by: User) -> None:
        text = _text(text, "text", TEXT_LENGTH)
        self._seen(instance_id, by, "may_not_comment")
        cmd = self.core.command(by.id)
        run = cmd.open(instance_id)
        run.emit("commented", {"text": text})
        self.core.store_command(cmd, None, run)

    def attach(
        self, instance_id: str, name: str, data: bytes, *, by: User, media_type: str
    ) -> Attachment:
        name = _text(name, "name", _NAME_LENGTH)
        media_type = _text(media_type, "media_type", _NAME_LENGTH)
        if not isinstance(data, bytes):
            raise InvalidArgument(f"data= takes bytes, not {type(data).__name__}")
        if len(data) > self.max_attachment:
            raise InvalidArgument(
                Reason("file_too_large", size=len(data), limit=self.max_attachment)
            )
        self._seen(instance_id, by, "may_not_attach")
        key = self.blobs.put(data)  # before the event: the history never names missing bytes
        cmd = self.core.command(by.id)
        run = cmd.open(instance_id)
        record = {"name": name, "blob": key, "size": len(data), "type": media_type}
        run.emit("attached", {**record, "sha256": key[7:]})
        self.core.store_command(cmd, None, run)
        return Attachment(instance_id, name, key, len(data), media_type, cmd.now, by.id)

    def attachments(self, instance_id: str) -> list[Attachment]:
        self.core.load(instance_id)  # InstanceNotFound for an unknown id
        out = []
        for e in self.core.store.events(instance_id):
            if e.type == "attached":
                d = e.data
                at = parse_iso(e.at)
                out.append(
                    Attachment(instance_id, d["name"], d["blob"], d["size"], d["type"], at, e.by)
                )
        return out

    def attachment(self, instance_id: str, blob: str, *, by: User) -> bytes:
        self._seen(instance_id, by, "may_not_read_files")
        if not any(a.blob == blob for a in self.attachments(instance_id)):
            raise BlobNotFound(f"{instance_id} has no attachment {blob!r}")
        return self.blobs.get(blob)
