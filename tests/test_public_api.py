"""The public surface stays small, sorted and complete (as httpx does it)."""

from __future__ import annotations

import builtins

import procflow


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
    assert issubclass(procflow.InvalidSubmission, ValueError)
    assert issubclass(procflow.TaskNotOpen, LookupError)
    assert issubclass(procflow.InstanceNotFound, LookupError)
    assert issubclass(procflow.DefinitionError, ValueError)
