"""The server-rendered pages: sign in, the inbox, a task, an instance, processes, scenarios.

Owns the page routes. Each reads who is asking from the `SignIn`, calls the
public `Engine` API with that `User`, and renders a template. Every POST
checks the session's CSRF token first. A refusal of the engine (four-eyes,
a role the user lacks, a task that is someone else's, data that does not
fit) is shown on the page it came from, with what was typed kept, and
changes nothing: the engine checked everything before storing anything.

Imports the runtime, `render.progress`, and the web modules below it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from procflow.errors import (
    InstanceNotFound,
    InvalidSubmission,
    NotAllowed,
    ProcflowError,
    RenderError,
    TaskNotOpen,
)
from procflow.flow.catalog import Process
from procflow.flow.ir import HumanNode
from procflow.render.progress import render_progress
from procflow.render.words import Words, actor_title
from procflow.runtime.engine import Engine
from procflow.runtime.forms import field_schema
from procflow.runtime.people import User
from procflow.runtime.program import Program
from procflow.runtime.reasons import Names, explain
from procflow.runtime.trail import trail
from procflow.runtime.views import Instance
from procflow.web.auth import check_csrf, csrf_token
from procflow.web.formdata import TaskForm
from procflow.web.inbox import SORTS, InboxQuery, inbox
from procflow.web.loops import Loops
from procflow.web.sitewide import Site, site_of
from procflow.web.timeline import timeline

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 20


class SignInFirst(Exception):
    """The page needs a signed-in user."""


def current_user(request: Request) -> User:
    site = site_of(request)
    uid = site.sign_in.page_user(request)
    if uid is None:
        raise SignInFirst
    return site.staff.user(uid)


def flash(request: Request, message: str, kind: str = "ok") -> None:
    request.session.setdefault("flash", []).append([kind, message])


def page(
    request: Request, template: str, status: int = 200, user: User | None = None, **context: Any
) -> HTMLResponse:
    site = site_of(request)
    messages = request.session.pop("flash", [])
    html = site.render(
        template,
        request=request,
        user=user,
        csrf=csrf_token(request),
        messages=messages,
        **context,
    )
    return HTMLResponse(html, status_code=status)


def back(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def _safe_next(value: Any, default: str) -> str:
    """A redirect target of our own: a path on this site, never another site."""
    if isinstance(value, str) and value.startswith("/") and not value.startswith("//"):
        return value
    return default


async def posted(request: Request) -> Any:
    """The posted form, once its CSRF token checks out (else `NotAllowed`)."""
    form = await request.form()
    if not check_csrf(request, form.get("csrf")):
        raise NotAllowed("表單已過期，或不是從本站送出的（CSRF 檢查）：請重新載入頁面")
    return form


# -- signing in -------------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
async def home(request: Request) -> Response:
    try:
        current_user(request)
    except SignInFirst:
        return back("/signin")
    return back("/inbox")


@router.get("/signin", response_class=HTMLResponse)
async def signin_page(request: Request) -> Response:
    site = site_of(request)
    people = sorted(site.staff.people.values(), key=lambda p: (sorted(p.roles)[:1], p.id))
    return page(request, "signin.html", people=people, picker=site.sign_in.picker)


@router.post("/signin")
async def signin(request: Request) -> Response:
    site = site_of(request)
    form = await posted(request)
    who = form.get("user")
    if not site.sign_in.picker or not isinstance(who, str) or who not in site.staff.people:
        flash(request, "請從名單中選擇一位人員", "error")
        return back("/signin")
    request.session["user"] = who
    return back(_safe_next(form.get("next"), "/inbox"))


@router.post("/signout")
async def signout(request: Request) -> Response:
    await posted(request)
    request.session.pop("user", None)
    return back("/signin")


# -- the inbox --------------------------------------------------------------------------------


def _query(params: Mapping[str, str]) -> InboxQuery:
    due = params.get("due")
    sort = params.get("sort", "due")
    return InboxQuery(
        process_id=params.get("process") or None,
        step_id=params.get("step") or None,
        due=due if due in ("overdue", "soon") else None,  # type: ignore[arg-type]
        sort=sort if sort in SORTS else "due",
        size=PAGE_SIZE,
        after=params.get("after") or None,
    )


@router.get("/inbox", response_class=HTMLResponse)
async def inbox_page(request: Request) -> Response:
    user = current_user(request)
    site = site_of(request)
    query = _query(request.query_params)
    found = inbox(site.engine, user, query)
    keep = {k: v for k, v in request.query_params.items() if k != "after" and v}

    def link(**change: str | None) -> str:
        params = {**keep, **change}
        return "/inbox?" + urlencode({k: v for k, v in params.items() if v})

    return page(
        request,
        "inbox.html",
        user=user,
        found=found,
        query=query,
        link=link,
        here=str(request.url.path) + ("?" + request.url.query if request.url.query else ""),
        people=sorted(site.staff.people.values(), key=lambda p: p.id),
        now=site.engine.clock.now(),
    )


@router.post("/tasks/{task_id}/claim")
async def claim(request: Request, task_id: str) -> Response:
    user = current_user(request)
    form = await posted(request)
    engine = site_of(request).engine
    try:
        task = engine.claim(task_id, by=user)
        flash(request, f"已認領「{task.title}」：它已離開其他人的收件箱")
    except ProcflowError as exc:
        flash(request, _refusal(exc, _task_names(site_of(request), task_id)), "error")
    return back(_safe_next(form.get("next"), "/inbox"))


async def _hand_over(request: Request, task_id: str, *, admin: bool) -> Response:
    """Delegate (the holder hands it on) or reassign (an administrator gives it)."""
    user = current_user(request)
    form = await posted(request)
    site = site_of(request)
    to = form.get("to")
    try:
        if not isinstance(to, str) or not to:
            raise NotAllowed("請填寫要交給誰")
        if admin:
            task, verb = site.engine.reassign(task_id, to=to, by=user), "改派"
        else:
            task, verb = site.engine.delegate(task_id, by=user, to=to), "轉交"
        flash(request, f"已將「{task.title}」{verb}給 {site.name(to)}")
    except ProcflowError as exc:
        flash(request, _refusal(exc, _task_names(site, task_id)), "error")
    return back(_safe_next(form.get("next"), "/inbox"))


@router.post("/tasks/{task_id}/delegate")
async def delegate(request: Request, task_id: str) -> Response:
    return await _hand_over(request, task_id, admin=False)


@router.post("/tasks/{task_id}/reassign")
async def reassign(request: Request, task_id: str) -> Response:
    return await _hand_over(request, task_id, admin=True)


# -- a task -----------------------------------------------------------------------------------


_STATUS = {"running": "在進行", "completed": "完成", "cancelled": "取消"}
"""An instance's status, as a refusal says it (已經完成)."""
_PARAMETERS = {"text": "評論", "name": "檔名", "media_type": "檔案類型", "reason": "原因"}
"""The engine's parameters that the pages fill, by what the page calls them."""


def _names(site: Site, process: Process | None) -> Names:
    """What a refusal calls the ids it holds: a step, a role or the process by the process's
    title for it, a person by their name."""
    words = _words_of(process)
    steps = {} if process is None else {n.id: n.title for n in process.flow.steps()}

    def name(key: str, value: str) -> str:
        if key in ("step", "earlier"):
            return steps.get(value, value)
        if key == "roles":
            return actor_title(words.actors, value)
        if key in ("outcome", "outcomes"):
            return words.outcome(value)
        if key in ("document", "documents"):
            doc = words.documents.get(value)
            return value if doc is None else doc.title
        if key == "process":
            return process.title if process is not None and process.id == value else value
        if key == "status":
            return _STATUS.get(value, value)
        if key == "parameter":
            return _PARAMETERS.get(value, value)
        return site.name(value)

    return name


def _instance_names(site: Site, instance_id: str) -> Names:
    """`_names` for an instance, in the words of the definition it runs on (people's names
    only when there is no such instance)."""
    engine = site.engine
    try:
        process: Process | None = engine.core.program(
            engine.instance(instance_id).definition_hash
        ).process
    except ProcflowError:
        process = None
    return _names(site, process)


def _task_names(site: Site, task_id: str) -> Names:
    """`_names` for the process of a task."""
    return _instance_names(site, task_id.rpartition(".")[0])


def _why_on(request: Request, exc: ProcflowError, instance_id: str) -> str:
    """What went wrong with a command on an instance, in Chinese and in the words of its
    process (`explain`; the web's own refusals are written in Chinese)."""
    return explain(exc, "zh", _instance_names(site_of(request), instance_id))


def _refusal(exc: ProcflowError, names: Names | None = None) -> str:
    """The words a task page shows for a refusal of the engine (`explain`)."""
    if isinstance(exc, InvalidSubmission):
        return "提交的資料有問題，請看下面標出的欄位"
    said = explain(exc, "zh", names)
    return said if isinstance(exc, NotAllowed | TaskNotOpen) else f"無法完成：{said}"


def _words(engine: Engine, process_id: str) -> Words:
    """How a process names its outcomes and steps (plain Chinese for a process no longer
    deployed)."""
    return _words_of(engine.catalog.get(process_id))


def _words_of(process: Process | None) -> Words:
    return Words("zh") if process is None else Words.of(process)


def _task_view(
    request: Request, user: User, task_id: str, form: TaskForm | None = None, **extra: Any
) -> tuple[dict[str, Any], TaskForm]:
    site = site_of(request)
    engine = site.engine
    task = engine.task(task_id)
    form = form or TaskForm(engine.form(task_id), site.name)
    mine = any(t.id == task.id for t in engine.tasks(user=user, instance_id=task.instance_id))
    said = _words(engine, task.process_id)
    instance = engine.instance(task.instance_id)
    loops = Loops(engine.core.program(instance.definition_hash))
    context = {
        "task": task,
        "form": form,
        "outcome_words": {o: said.outcome(o) for o in form.outcomes},
        "mine": mine,
        "instance": instance,
        "loops": loops.counts(instance.loops, task.step_id),
        "command_id": secrets.token_hex(12),
        "admin": engine.supervision.is_admin(user),
        "people": sorted(site.staff.people.values(), key=lambda p: p.id),
        **extra,
    }
    return context, form


@router.get("/tasks/{task_id}", response_class=HTMLResponse)
async def task_page(request: Request, task_id: str) -> Response:
    user = current_user(request)
    try:
        context, _ = _task_view(request, user, task_id)
    except TaskNotOpen as exc:
        message = _refusal(exc, _task_names(site_of(request), task_id))
        return page(request, "error.html", 404, user=user, message=message)
    return page(request, "task.html", user=user, **context)


@router.post("/tasks/{task_id}", response_class=HTMLResponse)
async def complete(request: Request, task_id: str) -> Response:
    user = current_user(request)
    site = site_of(request)
    engine = site.engine
    form_data = await posted(request)
    try:
        form = TaskForm(engine.form(task_id), site.name)
    except TaskNotOpen as exc:
        flash(request, _refusal(exc, _task_names(site, task_id)), "error")
        return back("/inbox")
    data = form.read(form_data)
    outcome = form_data.get("outcome")
    command_id = form_data.get("command_id")
    try:
        task = engine.task(task_id)
        inst = engine.complete(
            task_id,
            by=user,
            outcome=outcome if isinstance(outcome, str) and outcome else None,
            data=data or None,
            command_id=command_id if isinstance(command_id, str) and command_id else None,
        )
    except InvalidSubmission as exc:
        form.place(exc.problems, _task_names(site, task_id))
        context, _ = _task_view(request, user, task_id, form, refusal=_refusal(exc))
        return page(request, "task.html", 422, user=user, **context)
    except TaskNotOpen as exc:
        flash(request, _refusal(exc, _task_names(site, task_id)), "error")
        return back("/inbox")
    except ProcflowError as exc:
        status = 403 if isinstance(exc, NotAllowed) else 409
        names = _task_names(site, task_id)
        context, _ = _task_view(request, user, task_id, form, refusal=_refusal(exc, names))
        return page(request, "task.html", status, user=user, **context)
    said = _words(engine, task.process_id)
    chosen = f"（{said.outcome(outcome)}）" if isinstance(outcome, str) and outcome else ""
    flash(request, f"已完成「{task.title}」{chosen}")
    return back(f"/instances/{quote(inst.id)}")


# -- an instance ------------------------------------------------------------------------------


def _documents(
    inst: Instance, program: Program, name: Callable[[str | None], str]
) -> list[tuple[str, list[tuple[str, Any, dict[str, Any]]]]]:
    """Each filled form with its filled fields; a per-person form once per copy, titled
    with whose copy it is, who filled it and when (``name`` gives a person's name)."""
    flow = program.flow
    out = []
    for doc, d in flow.documents.items():
        if doc in flow.collections:
            for c in inst.copies(doc):
                whose = name(c.of) if isinstance(c.of, str) else str(c.of or "")
                title = (
                    f"{d.title}（{whose or name(c.by)}的一份，{name(c.by)} {c.at:%Y-%m-%d %H:%M}）"
                )
                out.append((title, _rows(d, c.values)))
            continue
        values = inst.snapshot.documents.get(doc)
        rows = _rows(d, values) if values else []
        if rows:
            out.append((d.title, rows))
    return out


def _rows(d: Any, values: Mapping[str, Any]) -> list[tuple[str, Any, dict[str, Any]]]:
    return [
        (f.title or field, values.get(field), field_schema(f))
        for field, f in d.fields.items()
        if values.get(field) is not None
    ]


def _diagram(inst: Instance, program: Program, events: list[Any]) -> tuple[Markup | None, str]:
    process = program.process
    way = trail(process.flow, events, inst.snapshot)
    try:
        svg = render_progress(
            process, current=way.current, visited=way.visited, skipped=way.skipped, taken=way.taken
        )
    except RenderError as exc:
        return None, str(exc)
    # SVG that procflow.render drew: every text in it is escaped as it is drawn
    return Markup(svg), ""  # noqa: S704


@router.get("/instances/{instance_id}", response_class=HTMLResponse)
async def instance_page(request: Request, instance_id: str) -> Response:
    user = current_user(request)
    site = site_of(request)
    engine = site.engine
    try:
        inst = engine.instance(instance_id)
    except InstanceNotFound:
        return page(
            request, "error.html", 404, user=user, message=f"沒有這個流程實例：{instance_id}"
        )
    program = engine.core.program(inst.definition_hash)
    if not engine.supervision.may_see(inst.snapshot, program, user):
        message = f"{user.id} 不能查看 {instance_id}：它不是你的流程，你也沒有它的角色"
        return page(request, "error.html", 403, user=user, message=message)
    events = engine.history(instance_id)
    # drawing a definition's diagram runs Graphviz (once per definition): off the event loop
    svg, diagram_problem = await run_in_threadpool(_diagram, inst, program, events)
    mine = {t.id for t in engine.tasks(user=user, instance_id=instance_id)}
    return page(
        request,
        "instance.html",
        user=user,
        inst=inst,
        documents=_documents(inst, program, site.name),
        result=Words.of(program.process).outcome(inst.result or ""),
        loops=Loops(program).counts(inst.loops),
        events=timeline(inst, events, site),
        svg=svg,
        diagram_problem=diagram_problem,
        mine=mine,
        attachments=engine.attachments(instance_id),
    )


@router.post("/instances/{instance_id}/comments")
async def comment(request: Request, instance_id: str) -> Response:
    user = current_user(request)
    form = await posted(request)
    try:
        site_of(request).engine.comment(instance_id, str(form.get("text") or ""), by=user)
        flash(request, "已加入評論")
    except ProcflowError as exc:
        flash(
            request,
            f"無法加入評論：{_why_on(request, exc, instance_id)}",
            "error",
        )
    return back(f"/instances/{quote(instance_id)}#history")


@router.post("/instances/{instance_id}/attachments")
async def attach(request: Request, instance_id: str) -> Response:
    user = current_user(request)
    form = await posted(request)
    upload = form.get("file")
    try:
        if upload is None or isinstance(upload, str) or not upload.filename:
            raise NotAllowed("請選擇要附加的檔案")
        data = await upload.read()
        site_of(request).engine.attach(
            instance_id,
            upload.filename,
            data,
            by=user,
            media_type=upload.content_type or "application/octet-stream",
        )
        flash(request, f"已附加「{upload.filename}」")
    except ProcflowError as exc:
        flash(
            request,
            f"無法附加檔案：{_why_on(request, exc, instance_id)}",
            "error",
        )
    return back(f"/instances/{quote(instance_id)}#files")


@router.get("/instances/{instance_id}/files/{blob}")
async def attachment(request: Request, instance_id: str, blob: str) -> Response:
    user = current_user(request)
    engine = site_of(request).engine
    try:
        data = engine.attachment(instance_id, blob, by=user)
    except ProcflowError as exc:
        why = _why_on(request, exc, instance_id)
        return page(request, "error.html", 404, user=user, message=f"無法取得附件：{why}")
    found = next(a for a in engine.attachments(instance_id) if a.blob == blob)
    return Response(
        data,
        media_type="application/octet-stream",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(found.name)}"},
    )


@router.post("/instances/{instance_id}/cancel")
async def cancel(request: Request, instance_id: str) -> Response:
    user = current_user(request)
    form = await posted(request)
    try:
        reason = str(form.get("reason") or "").strip() or "取消"
        site_of(request).engine.cancel(instance_id, by=user, reason=reason)
        flash(request, "流程已取消")
    except ProcflowError as exc:
        flash(
            request,
            f"無法取消：{_why_on(request, exc, instance_id)}",
            "error",
        )
    return back(f"/instances/{quote(instance_id)}")


# -- processes and scenarios ------------------------------------------------------------------


@router.get("/processes", response_class=HTMLResponse)
async def processes_page(request: Request) -> Response:
    user = current_user(request)
    engine = site_of(request).engine
    rows = []
    for pid, process in sorted(engine.catalog.items()):
        starters = engine.core.program_of(pid).starters
        may_start = starters is None or not user.roles.isdisjoint(starters)
        rows.append((process, engine.store.definitions(pid), may_start))
    return page(request, "processes.html", user=user, rows=rows)


def _results_of(site: Site, pid: str) -> list[Any]:
    return [r for r in site.scenario_results() if r.process_id == pid]


@router.get("/processes/{process_id}", response_class=HTMLResponse)
async def process_page(request: Request, process_id: str) -> Response:
    user = current_user(request)
    site = site_of(request)
    engine = site.engine
    process = engine.catalog.get(process_id)
    if process is None:
        return page(request, "error.html", 404, user=user, message=f"沒有這個流程：{process_id}")
    try:
        drawn = await run_in_threadpool(render_progress, process)
        svg: Markup | None = Markup(drawn)  # noqa: S704 - SVG that procflow.render escaped
        problem = ""
    except RenderError as exc:
        svg, problem = None, str(exc)
    starters = engine.core.program_of(process_id).starters
    steps = [n for n in process.flow.steps()]
    return page(
        request,
        "process.html",
        user=user,
        process=process,
        svg=svg,
        diagram_problem=problem,
        versions=engine.store.definitions(process_id),
        current=process.flow.definition_hash,
        may_start=starters is None or not user.roles.isdisjoint(starters),
        starters=sorted(starters or ()),
        steps=steps,
        words=Words.of(process),
        human=HumanNode,
        results=await run_in_threadpool(_results_of, site, process_id),
    )


@router.post("/processes/{process_id}/start")
async def start(request: Request, process_id: str) -> Response:
    user = current_user(request)
    form = await posted(request)
    engine = site_of(request).engine
    command_id = form.get("command_id")
    try:
        inst = engine.start(
            process_id,
            by=user,
            command_id=command_id if isinstance(command_id, str) and command_id else None,
        )
    except ProcflowError as exc:
        why = explain(exc, "zh", _names(site_of(request), engine.catalog.get(process_id)))
        flash(request, f"無法發起：{why}", "error")
        return back(f"/processes/{quote(process_id)}")
    flash(request, f"已發起「{inst.title}」")
    mine = engine.tasks(user=user, instance_id=inst.id)
    if mine:
        return back(f"/tasks/{quote(mine[0].id)}")
    return back(f"/instances/{quote(inst.id)}")


@router.get("/scenarios", response_class=HTMLResponse)
async def scenarios_page(request: Request) -> Response:
    user = current_user(request)
    results = await run_in_threadpool(site_of(request).scenario_results)
    failed = [r for r in results if not r.passed]
    return page(request, "scenarios.html", user=user, results=results, failed=failed)


@router.get("/instances", response_class=HTMLResponse)
async def instances_page(request: Request) -> Response:
    user = current_user(request)
    engine = site_of(request).engine
    mine = [i for i in engine.instances() if i.started_by == user.id][-50:]
    return page(request, "instances.html", user=user, instances=list(reversed(mine)))
