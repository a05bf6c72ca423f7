"""What a submission may hold: plain numbers, the precision of money, size limits, real text.

And the arguments of the engine's entry points: every mistake is a `ProcflowError`
naming the parameter, with the same answer whatever the store.
"""

from __future__ import annotations

import pickle
import re
import string
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import procflow
from procflow import (
    Engine,
    InvalidArgument,
    InvalidSubmission,
    MemoryStore,
    NotAllowed,
    ProcflowError,
    SQLiteStore,
    TaskNotOpen,
    User,
)
from procflow.language.written import typed_number
from procflow.runtime.reasons import TEXT, Reason, say
from procflow.runtime.values import MAX_SUBMISSION
from procflow.store import Store
from procflow.store.base import state_json
from tests.test_runtime_helpers import engine, only

FORM = """
procflow: 1
id: FORM
title: form
actors: {clerk: 文員}
documents:
  form:
    title: 表
    fields:
      budget: {type: money, required: false}
      count: {type: number, required: false}
      rate: {type: percent, required: false}
      exact: {type: money, decimals: 3, required: false}
      rounded: {type: money, rounding: half_up, required: false}
      even: {type: money, rounding: half_even, required: false}
      whole: {type: money, decimals: 0, required: false}
      huge: {type: money, max: 1E+30, required: false}
      note: {type: text, required: false}
      short: {type: text, max_length: 5, required: false}
      tags: {type: list, of: text, required: false}
      few: {type: list, of: text, max_items: 2, required: false}
      prices: {type: list, of: money, rounding: down, required: false}
      who: {type: user, required: false}
steps:
  - {id: fill, actor: clerk, fills: form}
  - {id: check, actor: clerk}
"""
CLERK = User("clerk1", {"clerk"})


def submit(**fields: Any) -> dict[str, Any]:
    """The stored form of ``fields`` after one completion; InvalidSubmission if refused."""
    eng = engine(FORM)
    task = only(eng.start("FORM", by=CLERK).tasks)
    inst = eng.complete(task.id, by=CLERK, data={"form": fields})
    stored: dict[str, Any] = state_json(eng.store.load(inst.id)[1])["documents"]["form"]
    return stored


def refused(**fields: Any) -> dict[str, str]:
    with pytest.raises(InvalidSubmission) as info:
        submit(**fields)
    return info.value.problems


# -- numbers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [" 5 ", "5 ", "5_000", "５", "١٢", "1e3", "1E+999999", "+5", "5.", ".5", "0x10", "1,000", ""],
)
def test_only_plain_numbers_are_numbers(text: str) -> None:
    assert "is not a number" in refused(count=text)["form.count"]


@pytest.mark.parametrize(
    ("given", "stored"),
    [("5", "5"), ("-12.50", "-12.50"), ("0.10", "0.10"), (12, "12"), (Decimal("2.5"), "2.5")],
)
def test_plain_numbers_are_kept_as_written(given: Any, stored: str) -> None:
    assert submit(count=given)["count"] == stored


def test_money_has_the_precision_of_the_yuan_unless_the_field_says_otherwise() -> None:
    problem = refused(budget="1.005")["form.budget"]
    assert "more decimals than the 2 this field allows" in problem
    assert "rounding:" in problem
    assert submit(budget="1.000")["budget"] == "1.00"  # trailing zeros lose nothing
    assert submit(exact="1.005")["exact"] == "1.005"
    assert "the 0 this field" in refused(whole="1.5")["form.whole"]
    assert submit(whole="15")["whole"] == "15"
    assert "the 10 this field" in refused(rate="33.33333333333")["form.rate"]


@pytest.mark.parametrize(
    ("field", "given", "stored"),
    [
        ("rounded", "1.005", "1.01"),
        ("rounded", "-1.005", "-1.01"),
        ("even", "1.005", "1.00"),
        ("even", "1.015", "1.02"),
        ("rounded", Decimal("1E-999999"), "0.00"),
    ],
)
def test_a_declared_rounding_rounds_instead_of_refusing(
    field: str, given: Any, stored: str
) -> None:
    assert submit(**{field: given})[field] == stored


def test_items_of_a_list_follow_the_lists_options() -> None:
    assert submit(prices=["1.019", "2"])["prices"] == ["1.01", "2"]
    assert "more than the 10,000 allowed" in refused(tags=["x" * 10_001])["form.tags[0]"]


@pytest.mark.parametrize(
    "given",
    [Decimal("1E+999999"), Decimal("-1E+15"), 10**5000, "9" * 16, Decimal("1" + "0" * 5000)],
    ids=["1E+999999", "-1E15", "int-5000-digits", "16-digits", "decimal-5000-digits"],
)
def test_numbers_are_bounded_unless_the_field_allows_more(given: Any) -> None:
    assert "smaller than 1,000,000,000,000,000 in size" in refused(budget=given)["form.budget"]


def test_a_declared_max_lifts_the_default_bound() -> None:
    assert submit(huge="999999999999999999")["huge"] == "999999999999999999"
    assert "at most 1E+30" in refused(huge=Decimal("1E+31"))["form.huge"]


def test_five_thousand_digits_of_text_are_not_a_number() -> None:
    assert "is not a number" in refused(budget="1" * 5000)["form.budget"]


# -- sizes -----------------------------------------------------------------------------


def test_text_length_is_limited_with_a_per_field_override() -> None:
    assert "more than the 10,000 allowed" in refused(note="x" * (10 * 1024 * 1024))["form.note"]
    assert submit(note="長" * 10_000)["note"] == "長" * 10_000
    assert "more than the 5 allowed" in refused(short="123456")["form.short"]


def test_list_length_is_limited_with_a_per_field_override() -> None:
    assert "1,001 items, more than the 1,000" in refused(tags=["x"] * 1_001)["form.tags"]
    assert submit(tags=["x"] * 1_000)["tags"] == ["x"] * 1_000
    assert "more than the 2 allowed" in refused(few=["a", "b", "c"])["form.few"]


def test_a_whole_submission_is_limited() -> None:
    tags = ["長" * 9_000] * 200  # each item and the list within their limits: 5.4 MB in all
    problems = refused(tags=tags)
    assert list(problems) == ["data"]
    assert f"more than the {MAX_SUBMISSION:,} allowed" in problems["data"]


# -- text that no store can keep -----------------------------------------------------------


def _store(kind: str, tmp_path: Path) -> Store:
    if kind == "sqlite":
        return SQLiteStore(tmp_path / "s.db")
    return MemoryStore(strict=kind == "strict")


SURROGATE = "\ud800"
CALLS: dict[str, Callable[[Engine, str, str], Any]] = {
    "text": lambda e, t, i: e.complete(t, by=CLERK, data={"form": {"note": f"a{SURROGATE}"}}),
    "user field": lambda e, t, i: e.complete(t, by=CLERK, data={"form": {"who": SURROGATE}}),
    "list item": lambda e, t, i: e.complete(t, by=CLERK, data={"form": {"tags": [SURROGATE]}}),
    "field name": lambda e, t, i: e.complete(t, by=CLERK, data={"form": {SURROGATE: "x"}}),
    "document name": lambda e, t, i: e.complete(t, by=CLERK, data={SURROGATE: {}}),
    "start data": lambda e, t, i: e.start("FORM", by=CLERK, data={"form": {"note": SURROGATE}}),
    "user id": lambda e, t, i: e.start("FORM", by=User(SURROGATE, {"clerk"})),
    "role": lambda e, t, i: e.start("FORM", by=User("u", {SURROGATE})),
    "command id": lambda e, t, i: e.start("FORM", by=CLERK, command_id=SURROGATE),
    "delegate to": lambda e, t, i: e.delegate(t, by=CLERK, to=SURROGATE),
    "cancel reason": lambda e, t, i: e.cancel(i, by=CLERK, reason=SURROGATE),
    "task id": lambda e, t, i: e.complete(f"{SURROGATE}.1", by=CLERK),
    "task": lambda e, t, i: e.task(f"{i}{SURROGATE}.1"),
    "instance": lambda e, t, i: e.instance(SURROGATE),
    "history": lambda e, t, i: e.history(SURROGATE),
    "cancel": lambda e, t, i: e.cancel(SURROGATE, by=CLERK, reason="r"),
    "tasks": lambda e, t, i: e.tasks(instance_id=SURROGATE),
    "process id": lambda e, t, i: e.start(SURROGATE, by=CLERK),
}


def _answer(kind: str, tmp_path: Path, call: Callable[[Engine, str, str], Any]) -> str:
    eng = engine(FORM, store=_store(kind, tmp_path))
    inst = eng.start("FORM", by=CLERK)
    task = only(inst.tasks)
    before = eng.store.load(inst.id)
    try:
        result = call(eng, task.id, inst.id)
    except ProcflowError as exc:
        assert eng.store.load(inst.id) == before  # nothing stored
        answer = f"{type(exc).__name__}: {exc}"
    else:
        answer = f"returned {result!r}"
    eng.close()
    return answer.replace(inst.id, "<id>")


@pytest.mark.parametrize("name", sorted(CALLS))
def test_a_lone_surrogate_gets_the_same_answer_from_every_store(name: str, tmp_path: Path) -> None:
    answers = {k: _answer(k, tmp_path, CALLS[name]) for k in ("memory", "strict", "sqlite")}
    assert len(set(answers.values())) == 1, answers
    answer = answers["sqlite"]
    assert answer == "returned []" or "\\ud800" in answer, answer  # named, escaped
    answer.encode("utf-8")  # so it can be printed and logged


# -- the arguments of the entry points -------------------------------------------------------


def _entry_points(bad: Any) -> Iterator[tuple[str, str, Callable[[Engine, str, str], Any]]]:
    yield "start", "by", lambda e, t, i: e.start("FORM", by=bad)
    yield "complete", "by", lambda e, t, i: e.complete(t, by=bad)
    yield "claim", "by", lambda e, t, i: e.claim(t, by=bad)
    yield "delegate", "by", lambda e, t, i: e.delegate(t, by=bad, to="x")
    yield "cancel", "by", lambda e, t, i: e.cancel(i, by=bad, reason="r")
    if bad is not None:  # tasks(user=None) is every open task
        yield "tasks", "user", lambda e, t, i: e.tasks(user=bad)


@pytest.mark.parametrize("bad", [None, "ua", 5, {"id": "ua"}], ids=repr)
def test_by_must_be_a_user_on_every_entry_point(bad: Any) -> None:
    for name, param, call in _entry_points(bad):
        eng = engine(FORM)
        inst = eng.start("FORM", by=CLERK)
        with pytest.raises(InvalidArgument, match=rf"^{param}= takes a procflow\.User") as info:
            call(eng, only(inst.tasks).id, inst.id)
        assert isinstance(info.value, ProcflowError | TypeError), name
        assert eng.instance(inst.id).version == inst.version, name


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda e, t, i: e.delegate(t, by=CLERK, to=None), "to= takes a non-empty text user id"),
        (lambda e, t, i: e.delegate(t, by=CLERK, to=""), "to= takes a non-empty text user id"),
        (lambda e, t, i: e.tick("2026-03-02"), "now= takes a datetime"),
        (lambda e, t, i: User(None), re.escape("User(id) takes a non-empty text user id")),
        (lambda e, t, i: User("u", "clerk"), "not the string 'clerk'"),
        (lambda e, t, i: User("u", 5), "roles must be a collection of role ids"),
        (lambda e, t, i: User("u", {5}), "a role is a non-empty text id"),
        (lambda e, t, i: procflow.StaticDirectory({"r": "u"}), "not a string"),
    ],
)
def test_other_arguments_are_checked_and_named(
    call: Callable[[Engine, str, str], Any], message: str
) -> None:
    eng = engine(FORM)
    inst = eng.start("FORM", by=CLERK)
    with pytest.raises(InvalidArgument, match=message):
        call(eng, only(inst.tasks).id, inst.id)
    assert eng.instance(inst.id).version == inst.version


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda e, t, i: e.cancel(i, by=CLERK, reason=None), "reason= takes text"),
        (lambda e, t, i: e.start("FORM", by=CLERK, command_id=5), "command_id= takes text"),
        (lambda e, t, i: e.complete(t, by=CLERK, command_id=b"c"), "command_id= takes text"),
    ],
)
def test_text_arguments_of_another_type_are_refused(
    call: Callable[[Engine, str, str], Any], message: str
) -> None:
    eng = engine(FORM)
    inst = eng.start("FORM", by=CLERK)
    # the same answer in the compiled build: the Engine façade checks before compiled code
    with pytest.raises(InvalidArgument, match=message):
        call(eng, only(inst.tasks).id, inst.id)
    assert eng.instance(inst.id).version == inst.version


# -- the options in the language ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("{type: text, decimals: 2}", "'decimals' and 'rounding' apply to number"),
        ("{type: yesno, rounding: half_up}", "'decimals' and 'rounding' apply to number"),
        ("{type: money, max_length: 5}", "'max_length' applies to text fields"),
        ("{type: text, max_items: 5}", "'max_items' applies to list fields"),
        ("{type: money, default: 1.005}", "the default 1.005 has more than 2 decimals"),
        ("{type: money, decimals: 21}", "less than or equal to 20"),
        ("{type: money, rounding: sideways}", "half_up"),
        ("{type: text, max_length: 2, default: abc}", "longer than 2 characters"),
    ],
)
def test_field_options_are_checked_when_the_file_loads(field: str, message: str) -> None:
    text = FORM.replace("budget: {type: money, required: false}", f"budget: {field}")
    with pytest.raises(procflow.DefinitionError) as info:
        procflow.loads(text)
    assert [d.code for d in info.value.diagnostics] == ["PF203"]
    (problem,) = info.value.diagnostics
    assert message in f"{problem.message} ({problem.hint})"


# -- what a refusal says, in English and in Chinese -------------------------------------


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


LEFT_OUT_IN_CHINESE = {
    "not_a_choice": {"hint"},  # an English did-you-mean, or the list of names
    "no_field": {"hint"},
    "no_document": {"hint"},
}
"""The values a Chinese text leaves out on purpose; every other value it says."""


@pytest.mark.parametrize("kind", sorted(TEXT))
def test_every_kind_of_problem_is_said_in_both_languages_with_the_same_values(kind: str) -> None:
    said = TEXT[kind]
    assert set(said) == {"en", "zh"}
    left_out = LEFT_OUT_IN_CHINESE.get(kind, set())
    assert _placeholders(said["zh"]) == _placeholders(said["en"]) - left_out
    assert re.search(r"[\u4e00-\u9fff]", said["zh"]), said["zh"]


@pytest.mark.parametrize(
    ("kind", "values", "english"),
    [  # the English the engine gave before problems were Reasons: clients and logs read it
        ("not_a_number", {"text": "1,000"}, "'1,000' is not a number: write digits, with '.' "
         "for decimals and '-' in front when negative, such as 1200 or -12.50"),
        ("too_long", {"count": 12000, "limit": 10000}, "has 12,000 characters, more than the "
         "10,000 allowed (give the field max_length: to allow more)"),
        ("data_not_mapping", {}, "should map document names to their fields, e.g. "
         "{'proposal': {...}}"),
        ("needs_role", {"user": "li", "step": "review", "roles": ("pmm", "gm")},
         "li may not act on 'review': it needs the role pmm or gm"),
        ("for_candidates", {"user": "li", "step": "sign", "candidates": ("wang", "xu")},
         "li may not act on 'sign': it is for wang, xu"),
        ("no_task", {"task": "a.1"}, "there is no task 'a.1'"),
        ("nobody_may_reassign", {}, "no role may reassign tasks: the application names none "
         "(Engine(administrators={...}))"),
        ("text_too_long", {"parameter": "text", "count": 10001, "limit": 10000},
         "text= has 10,001 characters, more than 10,000"),
        ("choose_outcome", {"outcomes": ("approve", "reject")},
         "choose one of: approve, reject"),
        ("not_an_outcome", {"outcome": "x", "step": "review", "outcomes": ("approve", "reject")},
         "'x' is not an outcome of 'review' (approve, reject)"),
        ("has_no_outcomes", {"outcome": "x", "step": "draft", "outcomes": ()},
         "'x' is not an outcome of 'draft' (none: just complete it)"),
        ("document_not_filled_here", {"document": "plan", "documents": ("proposal", "budget")},
         "this step does not fill 'plan' (it fills proposal, budget)"),
        ("fills_no_documents", {"document": "plan", "documents": ()},
         "this step does not fill 'plan' (it fills no documents)"),
    ],
)  # fmt: skip
def test_a_reason_says_what_the_engine_always_said(
    kind: str, values: dict[str, Any], english: str
) -> None:
    assert Reason(kind, **values) == english


def test_a_list_in_a_reason_is_said_with_each_of_its_names() -> None:
    words = {"approve": "同意", "reject": "退回修改", "review": "方案審批"}
    why = Reason("not_an_outcome", outcome="ok", step="review", outcomes=("approve", "reject"))
    said = why.say("zh", lambda key, value: words.get(value, value))
    assert said == "「ok」不是「方案審批」的結果（可選：同意、退回修改）"


def test_the_engine_refuses_with_reasons_that_the_inbox_says_in_chinese() -> None:
    problems = refused(count="abc", budget="1.005", short="toolong", few=["a", "b", "c"],
                       who=5, whole="-1" + "0" * 16, tags="x", note=None, ghost="1")  # fmt: skip
    kinds = {path: getattr(p, "kind", None) for path, p in problems.items()}
    assert kinds == {
        "form.count": "not_a_number",
        "form.budget": "too_many_decimals",
        "form.short": "too_long",
        "form.few": "too_many_items",
        "form.who": "should_be_user",
        "form.whole": "too_large",
        "form.tags": "should_be_list",
        "form.ghost": "no_field",
    }
    assert all(isinstance(p, Reason) for p in problems.values())
    assert problems["form.count"].startswith("'abc' is not a number")
    assert say(problems["form.count"], "zh").startswith("「abc」不是數字")
    assert say(problems["form.short"], "zh") == "有 7 個字，超過允許的 5 個"
    assert (
        say(problems["form.budget"], "zh")
        == "1.005 的小數位數太多：此欄位最多 2 位小數，請先四捨五入"
    )
    # a refusal crosses a process boundary (a worker pool, a task queue) as it was
    copied = pickle.loads(pickle.dumps(InvalidSubmission(problems)))  # noqa: S301 - our own
    assert copied.problems == problems
    assert copied.problems["form.count"].say("zh") == problems["form.count"].say("zh")


def test_an_analysts_own_message_is_given_as_written() -> None:
    eng = engine(FORM.replace(
        "  - {id: fill, actor: clerk, fills: form}",
        "  - id: fill\n    actor: clerk\n    fills: form\n"
        "    requires:\n      - that: form.count <= 10\n        message: 數量不能超過10",
    ))  # fmt: skip
    task = only(eng.start("FORM", by=CLERK).tasks)
    with pytest.raises(InvalidSubmission) as info:
        eng.complete(task.id, by=CLERK, data={"form": {"count": "11"}})
    [message] = info.value.problems.values()
    assert type(message) is str and say(message, "zh") == "數量不能超過10"


FOUR_EYES = """
procflow: 1
id: FOUR
title: 四眼
actors: {clerk: 文員, boss: 主管}
steps:
  - {id: write, title: 撰寫, actor: clerk}
  - {id: check, title: 複核, actor: [clerk, boss], not_by: [write]}
"""


def test_a_refusal_is_a_reason_that_names_steps_and_roles_by_their_titles() -> None:
    eng = engine(FOUR_EYES)
    inst = eng.start("FOUR", by=CLERK)
    with pytest.raises(NotAllowed) as info:
        eng.complete(inst.tasks[0].id, by=User("x", {"boss"}))
    why = info.value.args[0]
    assert isinstance(why, Reason) and why.kind == "needs_role" and str(why) == str(info.value)
    assert why == "x may not act on 'write': it needs the role clerk"
    titles = {"write": "撰寫", "check": "複核", "clerk": "文員", "boss": "主管", "x": "小徐"}
    named = why.say("zh", lambda key, value: titles.get(value, value))
    assert named == "辦理「撰寫」需要角色 文員，小徐 沒有"
    inst = eng.complete(inst.tasks[0].id, by=CLERK)
    with pytest.raises(NotAllowed) as info:
        eng.complete(inst.tasks[0].id, by=CLERK)
    assert info.value.args[0].say("zh") == "四眼原則：clerk1 辦理了「write」，不能再辦理「check」"
    with pytest.raises(TaskNotOpen) as gone:
        eng.complete(f"{inst.id}.99", by=CLERK)
    assert gone.value.args[0].say("zh") == f"任務「{inst.id}.99」已經完成、撤回或不存在"


@pytest.mark.parametrize(
    ("typed", "percent", "plain"),
    [
        ("1,200.50", False, "1200.50"),
        ("１２００", False, "1200"),
        ("12,00", False, "12,00"),  # a decimal comma or a slip: left for the engine to refuse
        ("85%", True, "85"),
        ("８５％", True, "85"),
        ("85 %", True, "85"),
        ("85%", False, "85%"),  # a % after money or a plain number is not dropped
    ],
)
def test_a_number_is_read_as_people_type_it(typed: str, percent: bool, plain: str) -> None:
    """One reading for the web form, `procflow run` and `procflow decide` (`typed_number`)."""
    assert typed_number(typed, percent=percent) == plain
