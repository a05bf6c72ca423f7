"""Why a submission was refused, in more than one language.

Owns `Reason`: each value of `InvalidSubmission.problems` that the engine
writes. A `Reason` *is* its English text (a ``str``, so code that prints,
compares or serialises problems sees what it always saw), and it also carries
``kind``, a stable name for the kind of problem (as pydantic's errors carry
``type``), and ``values``, what was filled into the text. `Reason.say`
gives the text in another language: the web inbox, written in Chinese, shows
``「abc」不是數字`` where the JSON API and the log show ``'abc' is not a
number``. A client of the API may do the same from ``type`` in each error.

A problem that an analyst wrote (a ``requires:`` rule's ``message:``) stays a
plain ``str``: it is already in the process's own words.

Every kind is one row of `TEXT`, in every language, so that adding a kind
means writing both; a test holds the placeholders of each row equal.

Imports nothing of procflow.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

__all__ = ["NAMED", "TEXT", "Language", "Names", "Reason", "explain", "reason_of", "say"]

Language = Literal["en", "zh"]

TEXT: dict[str, dict[Language, str]] = {
    # numbers
    "not_a_number": {
        "en": "'{text}' is not a number: write digits, with '.' for decimals and '-' in front "
        "when negative, such as 1200 or -12.50",
        "zh": "「{text}」不是數字：請寫阿拉伯數字，小數用「.」，負數在前面加「-」，"
        "如 1200 或 -12.50",
    },
    "float": {
        "en": 'give an exact number (a Decimal or text like "12.50"), not a float',
        "zh": '請給出精確的數字（Decimal，或如 "12.50" 的文字），不要給浮點數',
    },
    "not_finite": {
        "en": "{value} is not a finite number",
        "zh": "{value} 不是有限的數字",
    },
    "at_least": {"en": "must be at least {limit}", "zh": "不能小於 {limit}"},
    "at_most": {"en": "must be at most {limit}", "zh": "不能大於 {limit}"},
    "too_large": {
        "en": "must be smaller than {limit} in size (the default limit; give the field min: "
        "or max: to allow more)",
        "zh": "數值的大小須小於 {limit}（預設的上限；流程定義的 min: 或 max: 可放寬）",
    },
    "too_many_decimals": {
        "en": "{value} has more decimals than the {places} this field allows (round it, or "
        "give the field rounding: or decimals:)",
        "zh": "{value} 的小數位數太多：此欄位最多 {places} 位小數，請先四捨五入",
    },
    # dates
    "not_a_date": {
        "en": "'{text}' is not a date (YYYY-MM-DD)",
        "zh": "「{text}」不是日期，請寫成 YYYY-MM-DD，如 2026-03-31",
    },
    "not_a_datetime": {
        "en": "'{text}' is not a date and time (ISO 8601)",
        "zh": "「{text}」不是日期時間，請寫成 ISO 8601，如 2026-03-31T17:00",
    },
    # the wrong type of value (from a program: a web form sends text)
    "should_be_number": {"en": "should be a number, not {value}", "zh": "應是數字，而不是 {value}"},
    "should_be_date": {
        "en": "should be a date (YYYY-MM-DD), not {value}",
        "zh": "應是日期（YYYY-MM-DD），而不是 {value}",
    },
    "should_be_datetime": {
        "en": "should be a date and time (ISO 8601), not {value}",
        "zh": "應是日期時間（ISO 8601），而不是 {value}",
    },
    "should_be_yesno": {
        "en": "should be yes or no (true/false), not {value}",
        "zh": "應是「是」或「否」（true/false），而不是 {value}",
    },
    "should_be_text": {"en": "should be text, not {value}", "zh": "應是文字，而不是 {value}"},
    "should_be_user": {
        "en": "should be a user id, not {value}",
        "zh": "應是用戶 ID，而不是 {value}",
    },
    "should_be_list": {"en": "should be a list, not {value}", "zh": "應是清單，而不是 {value}"},
    "should_be_record": {
        "en": "should be a record with {fields}, not {value}",
        "zh": "應是含 {fields} 的一項，而不是 {value}",
    },
    # sizes
    "too_long": {
        "en": "has {count:,} characters, more than the {limit:,} allowed (give the field "
        "max_length: to allow more)",
        "zh": "有 {count:,} 個字，超過允許的 {limit:,} 個",
    },
    "too_many_items": {
        "en": "has {count:,} items, more than the {limit:,} allowed (give the field "
        "max_items: to allow more)",
        "zh": "有 {count:,} 項，超過允許的 {limit:,} 項",
    },
    "submission_too_big": {
        "en": "the submission takes {size:,} bytes, more than the {limit:,} allowed; keep "
        "large files outside and submit a link to them",
        "zh": "提交的資料有 {size:,} 位元組，超過允許的 {limit:,} 位元組；"
        "大檔案請放在別處，只提交連結",
    },
    # text
    "lone_surrogate": {
        "en": "holds a lone surrogate ({char}) at position {at}, which is not a character: "
        "check how the text was decoded",
        "zh": "第 {at} 個位置有單獨的代理碼（{char}），它不是字元：請檢查文字的編碼",
    },
    "user_too_long": {
        "en": "a user id is at most {limit} characters",
        "zh": "用戶 ID 最多 {limit} 個字元",
    },
    "user_lone_surrogate": {
        "en": "is not a user id: it holds a lone surrogate ({char}) at position {at}, which "
        "is not a character: check how the text was decoded",
        "zh": "不是用戶 ID：第 {at} 個位置有單獨的代理碼（{char}），它不是字元",
    },
    # choices, outcomes
    "not_a_choice": {
        "en": "should be one of {allowed}, not {value}{hint}",
        "zh": "應是 {allowed} 之一，而不是 {value}",
    },
    "choose_outcome": {"en": "choose one of: {outcomes}", "zh": "請選擇：{outcomes}"},
    "not_an_outcome": {
        "en": "'{outcome}' is not an outcome of '{step}' ({outcomes})",
        "zh": "「{outcome}」不是「{step}」的結果（可選：{outcomes}）",
    },
    "has_no_outcomes": {
        "en": "'{outcome}' is not an outcome of '{step}' (none: just complete it)",
        "zh": "「{outcome}」不是「{step}」的結果：這一步沒有可選的結果，直接完成即可",
    },
    # what is submitted where
    "required": {"en": "is required", "zh": "必填"},
    "per_person_form": {
        "en": "is a per-person form: its copies are filled by its steps",
        "zh": "是每人一份的表單：由各步驟填寫各自的一份",
    },
    "no_field": {
        "en": "there is no field '{name}' ({hint})",
        "zh": "沒有欄位「{name}」",
    },
    "not_filled_here": {
        "en": "this step does not fill this field (it fills {fields})",
        "zh": "這一步不填這個欄位（它填 {fields}）",
    },
    "no_document": {
        "en": "there is no document '{name}' ({hint})",
        "zh": "沒有文件「{name}」",
    },
    "document_not_filled_here": {
        "en": "this step does not fill '{document}' (it fills {documents})",
        "zh": "這一步不填「{document}」（它填 {documents}）",
    },
    "fills_no_documents": {
        "en": "this step does not fill '{document}' (it fills no documents)",
        "zh": "這一步不填「{document}」（它不填任何文件）",
    },
    "data_not_mapping": {
        "en": "should map document names to their fields, e.g. {{'proposal': {{...}}}}",
        "zh": "應是從文件名到其欄位的對應，如 {{'proposal': {{...}}}}",
    },
    "document_not_mapping": {
        "en": "should map field names to values, not {value}",
        "zh": "應是從欄位名到值的對應，而不是 {value}",
    },
    # four-eyes rules on the people a form names
    "names_the_starter": {
        "en": "names {user}, who started the instance and so may not do '{step}' (four-eyes "
        "rule): name someone else",
        "zh": "{user} 發起了這個流程，按四眼原則不能辦理「{step}」：請另選他人",
    },
    "names_who_did": {
        "en": "names {user}, who did '{earlier}' and so may not do '{step}' (four-eyes rule): "
        "name someone else",
        "zh": "{user} 辦理了「{earlier}」，按四眼原則不能辦理「{step}」：請另選他人",
    },
    "names_who_is_named": {
        "en": "names {user}, who is named to do '{earlier}' and so may not do '{step}' "
        "(four-eyes rule): name someone else",
        "zh": "{user} 已被指定辦理「{earlier}」，按四眼原則不能辦理「{step}」：請另選他人",
    },
    # refusals (NotAllowed, TaskNotOpen): the Reason is the error's message, args[0]
    "assigned_to_another": {
        "en": "{user} may not act on '{step}': it is assigned to {assignee}",
        "zh": "「{step}」已指派給 {assignee}，{user} 不能辦理",
    },
    "for_candidates": {
        "en": "{user} may not act on '{step}': it is for {candidates}",
        "zh": "「{step}」只由 {candidates} 辦理，{user} 不能辦理",
    },
    "needs_role": {
        "en": "{user} may not act on '{step}': it needs the role {roles}",
        "zh": "辦理「{step}」需要角色 {roles}，{user} 沒有",
    },
    "same_person": {
        "en": "{user} may not act on '{step}': it is done by whoever did '{earlier}' ({who})",
        "zh": "「{step}」須由辦理「{earlier}」的人（{who}）辦理，{user} 不能辦理",
    },
    "same_person_nobody_yet": {
        "en": "{user} may not act on '{step}': it is done by whoever did '{earlier}' (nobody yet)",
        "zh": "{user} 不能辦理「{step}」：須由辦理「{earlier}」的人辦理，而「{earlier}」尚無人辦理",
    },
    "four_eyes_starter": {
        "en": "{user} started the instance, so may not do '{step}' (four-eyes rule)",
        "zh": "四眼原則：{user} 發起了這個流程，不能辦理「{step}」",
    },
    "four_eyes_did": {
        "en": "{user} did '{earlier}', so may not do '{step}' (four-eyes rule)",
        "zh": "四眼原則：{user} 辦理了「{earlier}」，不能再辦理「{step}」",
    },
    "already_signed": {
        "en": "{user} has already signed '{step}'",
        "zh": "{user} 已經簽過「{step}」了",
    },
    "may_not_withdraw": {
        "en": "{user} may not withdraw the task of '{step}': it needs the role {roles}",
        "zh": "撤回「{step}」的任務需要角色 {roles}，{user} 沒有",
    },
    "nobody_may_withdraw": {
        "en": "{user} may not withdraw the task of '{step}': it needs a step that says "
        "withdraw_by:",
        "zh": "{user} 不能撤回「{step}」的任務：流程沒有寫 withdraw_by:",
    },
    "may_not_start": {
        "en": "{user} may not start {process}: it needs the role {roles}",
        "zh": "{process} 須由角色 {roles} 發起，{user} 沒有這個角色",
    },
    "already_has_a_signature_task": {
        "en": "{user} already has a task of the sign-off '{step}', and signs it once",
        "zh": "{user} 已有「{step}」的會簽任務，每人只簽一次",
    },
    "may_not_cancel": {
        "en": "{user} may not cancel {instance}",
        "zh": "{user} 不能取消 {instance}：只有發起人或可發起此流程的人可以",
    },
    "cancel_the_caller": {
        "en": "{instance} was called by {caller}: cancel that instead",
        "zh": "{instance} 是 {caller} 的子流程：請取消 {caller}",
    },
    "may_not_comment": {
        "en": "{user} may not comment on {instance}: it is not theirs to see",
        "zh": "{user} 無權查看 {instance}，不能評論",
    },
    "may_not_attach": {
        "en": "{user} may not attach files to {instance}: it is not theirs to see",
        "zh": "{user} 無權查看 {instance}，不能附加檔案",
    },
    "may_not_read_files": {
        "en": "{user} may not read the files of {instance}: it is not theirs to see",
        "zh": "{user} 無權查看 {instance}，不能讀取附件",
    },
    "nobody_may_reassign": {
        "en": "no role may reassign tasks: the application names none "
        "(Engine(administrators={{...}}))",
        "zh": "沒有角色可以改派任務：應用程式沒有指定管理員",
    },
    "may_not_reassign": {
        "en": "{user} may not reassign tasks: it needs the role {roles}",
        "zh": "改派任務需要角色 {roles}，{user} 沒有",
    },
    "empty_text": {"en": "{parameter}= is empty", "zh": "{parameter}是空的"},
    "text_too_long": {
        "en": "{parameter}= has {count:,} characters, more than {limit:,}",
        "zh": "{parameter}有 {count:,} 個字，超過允許的 {limit:,} 個",
    },
    "file_too_large": {
        "en": "the file has {size:,} bytes, more than the {limit:,} allowed",
        "zh": "檔案有 {size:,} 位元組，超過允許的 {limit:,} 位元組",
    },
    "already_ended": {
        "en": "the instance {instance} is already {status}",
        "zh": "{instance} 已經{status}",
    },
    "no_task": {"en": "there is no task {task!r}", "zh": "沒有任務「{task}」"},
    "task_expired": {
        "en": "the task {task!r} expired at {at}: its deadline closed it before this command",
        "zh": "任務「{task}」已在 {at} 到期，被期限關閉了",
    },
    "task_not_open": {
        "en": "the task {task!r} is not open (done, withdrawn or unknown)",
        "zh": "任務「{task}」已經完成、撤回或不存在",
    },
}


NAMED = frozenset(
    {"step", "earlier", "roles", "candidates", "assignee", "user", "who", "process", "status",
     "parameter", "outcome", "outcomes", "document", "documents"}
)  # fmt: skip
"""The values that are ids: of a process's steps, roles, outcomes, documents or people, of
the process, of an instance's status, of a parameter of the engine's API. `Reason.say` can
name them by their titles (``names``). A tuple of them is a list (``roles``: any one of
them)."""
Names = Callable[[str, str], str]
"""(the value's key, an id) -> what to call it: a step's or a role's title, a person's name."""


def _as_is(key: str, name: str) -> str:
    return name


_JOIN: dict[Language, tuple[str, str]] = {"en": (", ", " or "), "zh": ("、", "或")}


def _filled(kind: str, language: Language, values: dict[str, Any], names: Names) -> str:
    both, either = _JOIN[language]
    shown = dict(values)
    for key in NAMED.intersection(values):
        value = values[key]
        if isinstance(value, tuple):
            joiner = either if key == "roles" else both
            shown[key] = joiner.join(names(key, v) for v in value)
        elif isinstance(value, str):
            shown[key] = names(key, value)
    return TEXT[kind][language].format(**shown)


class Reason(str):
    """One problem of a submission or one refusal: its English text, with ``kind`` (a
    key of `TEXT`) and ``values`` (what the text was filled with) to say it in another
    language.

    Not compiled (mypyc does not subclass ``str``); the engine makes one only when it
    refuses.
    """

    kind: str
    values: dict[str, Any]

    def __new__(cls, kind: str, **values: Any) -> Reason:
        self = super().__new__(cls, _filled(kind, "en", values, _as_is))
        self.kind = kind
        self.values = values
        return self

    def say(self, language: Language, names: Names | None = None) -> str:
        """The problem in ``language``; ``names`` says what to call the steps, roles and
        people (`NAMED`) that it holds by id."""
        return _filled(self.kind, language, self.values, names or _as_is)

    def __reduce__(self) -> tuple[Any, ...]:
        # str's own reduction would call Reason(text): rebuild from the kind and values
        return (_rebuild, (self.kind, self.values))


def _rebuild(kind: str, values: dict[str, Any]) -> Reason:
    return Reason(kind, **values)


def reason_of(error: BaseException) -> Reason | None:
    """The `Reason` the engine gave ``error`` (its first argument), if it gave one."""
    why = error.args[0] if error.args else None
    return why if isinstance(why, Reason) else None


def explain(error: BaseException, language: Language, names: Names | None = None) -> str:
    """An error's message in ``language`` when the engine gave it a `Reason`, else as it
    is."""
    why = reason_of(error)
    return str(error) if why is None else why.say(language, names)


def say(problem: str, language: Language, names: Names | None = None) -> str:
    """``problem`` in ``language`` when it is a `Reason`; a plain ``str`` (an analyst's
    own message, or one already written in the page's language) as it is."""
    return problem.say(language, names) if isinstance(problem, Reason) else problem
