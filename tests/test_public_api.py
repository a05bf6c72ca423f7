"""The public surface stays small, sorted and complete (as httpx does it)."""

from __future__ import annotations

import builtins
import pickle
from pathlib import Path

import pytest

import procflow
from procflow import errors
from procflow.compiled import is_compiled
from procflow.language.diagnostics import Diagnostic
from procflow.runtime.reasons import Reason
from procflow.store import Store


def test_all_is_sorted_and_unique() -> None:
    assert procflow.__all__ == sorted(set(procflow.__all__))


def test_all_names_exist_and_shadow_no_builtin() -> None:
    for name in procflow.__all__:
        assert hasattr(procflow, name), name
        assert not hasattr(builtins, name), name


def test_every_public_attribute_is_listed() -> None:
    public = {n for n in dir(procflow) if not n.startswith("_")}
    modules = {n for n in public if type(getattr(procflow, n)).__name__ == "module"}
    helpers = {"annotations", "importlib", "TYPE_CHECKING", "Any"}
    assert public - modules - helpers == set(procflow.__all__)


def test_exceptions_form_one_tree() -> None:
    for name in procflow.__all__:
        obj = getattr(procflow, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, procflow.ProcflowError), name
    assert issubclass(procflow.NotAllowed, PermissionError)
    assert issubclass(errors.InvalidSubmission, ValueError)
    assert issubclass(procflow.TaskNotOpen, LookupError)
    assert issubclass(procflow.InstanceNotFound, LookupError)
    assert issubclass(procflow.DefinitionError, ValueError)
    assert issubclass(procflow.InvalidArgument, TypeError)
    assert issubclass(procflow.InvalidArgument, ValueError)


def _made(kind: type[Exception]) -> Exception:
    """One of each kind of error, as procflow raises it."""
    if kind is errors.DefinitionError:
        return kind([Diagnostic("p.yaml", 3, 5, "PF201", "unknown key 'stpes'")])
    if kind is errors.InvalidSubmission:
        return kind({"proposal.budget": Reason("not_a_number", text="abc")})
    if kind is errors.NotAllowed:
        return kind(Reason("needs_role", user="li", step="review", roles=("pmm",)))
    if kind is errors.DamagedRecord:
        return kind("junk", instance_id="i1")
    if issubclass(kind, errors.StoreError):
        return kind("the store failed", retry_safe=True)
    if kind is errors.RenderError:
        return kind("no dot", extra_detail=1)
    return kind("refused")


@pytest.mark.parametrize(
    "name",
    [n for n, kind in vars(errors).items()
     if isinstance(kind, type) and issubclass(kind, errors.ProcflowError)],
)  # fmt: skip
def test_every_error_survives_pickling(name: str) -> None:
    """A worker pool or a task queue hands an error on pickled: it must come back whole."""
    error = _made(getattr(errors, name))
    back = pickle.loads(pickle.dumps(error))  # noqa: S301 - bytes made here
    assert type(back) is type(error) and str(back) == str(error)
    assert vars(back) == vars(error)
    assert [type(a) for a in back.args] == [type(a) for a in error.args]  # a Reason stays one


@pytest.mark.parametrize("base", ["MemoryStore", "SQLiteStore"])
def test_applications_may_subclass_the_engine_and_the_stores(base: str, tmp_path: Path) -> None:
    """Also in the compiled build, where this needs allow_interpreted_subclasses."""
    store_class: type[Store] = getattr(procflow, base)

    class CountingStore(store_class):  # type: ignore[valid-type,misc]
        commits = 0

        def commit(self, commits, **kwargs):  # type: ignore[no-untyped-def]
            CountingStore.commits += 1
            return super().commit(commits, **kwargs)

    class MyEngine(procflow.Engine):
        def open_count(self) -> int:
            return len(self.tasks())

    process = procflow.loads(
        "procflow: 1\nid: P\ntitle: p\nactors: {clerk: Clerk}\nsteps:\n  - {id: a, actor: clerk}\n"
    )
    args = (tmp_path / "s.db",) if base == "SQLiteStore" else ()
    with CountingStore(*args) as store:
        engine = MyEngine({"P": process}, store=store)
        clerk = procflow.User("c", {"clerk"})
        inst = engine.start("P", by=clerk)
        assert engine.open_count() == 1
        assert engine.complete(inst.tasks[0].id, by=clerk).status == "completed"
    assert CountingStore.commits == 2
    assert isinstance(is_compiled(), bool)
