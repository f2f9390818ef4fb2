"""What the ticket page and the task page do alike, written once.

A `Kind` names what differs between the two (how the object is found for the agent, how
its page renders, its messages); the functions and view factories below are the one
implementation of the rest: the Post/Redirect/Get answer after a service call, the
refusal shown on the page, the claim / release / delete buttons, the edit lock and the
attachment download. A ticket or task the agent may not see is a 404 on every URL.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.middleware import HtmxDetails

from accounts.errors import Conflict, NotVisible
from helpdesk.downloads import file_response
from helpdesk.params import query_refused
from tickets.models import Task, Ticket

from ..access import agent_of, agent_required
from ..forms import narrow_pickers
from ..http import attempt, report
from ..params import ActionFormParams, DownloadParams
from ..selectors import attachment_for
from .common import form_errors_as_messages, go, invalid_status, lock_state, page

PANEL = "panel"

Work = Ticket | Task


class PanelRequest(HttpRequest):
    """A request through django-htmx's middleware (as every panel request is)."""

    htmx: HtmxDetails


@dataclass(frozen=True)
class Kind:
    """What the ticket page and the task page do differently."""

    noun: str  # "ticket" or "task": the services' keyword, the URL names, the templates
    find: Callable[[HttpRequest, str], Any]  # the object the agent may see; NotVisible else
    render: Callable[..., HttpResponse]  # (request, obj, *, bound, status, open_panel)
    home: str  # where the agent goes once the object left their view
    gone: Callable[[], str]  # "... #%s is no longer in your view."
    held: Callable[[], str]  # "You hold the lock on this ..."
    release_lock: Callable[..., bool]
    friendly: Mapping[str, Callable[[], str]]
    draft_extra: Mapping[str, str] = field(default_factory=dict)  # more draft status context

    def get(self, request: HttpRequest, number: str) -> Any:
        try:
            return self.find(request, number)
        except NotVisible:
            raise Http404(f"{self.noun.capitalize()} not found.") from None

    def url(self, obj: Work) -> str:
        return reverse(f"panel:{self.noun}", args=[obj.number])


def posted_version(request: PanelRequest) -> int | None:
    """The version a button's form was rendered at (None when it sends none)."""
    version = request.POST.get("version") or ""
    return int(version) if version.isdigit() and len(version) < 10 else None


def form_version(form: Form) -> int | None:
    return form.cleaned_data.get("version") or None


def after(kind: Kind, request: PanelRequest, obj: Work, text: str) -> HttpResponse:
    """Success: flash, then PRG (or the refreshed region for htmx)."""
    messages.success(request, text)
    try:
        fresh = kind.find(request, obj.number)
    except NotVisible:
        messages.info(request, kind.gone() % obj.number)
        return go(request, reverse(kind.home))
    if request.htmx:
        return kind.render(request, fresh)
    return go(request, kind.url(fresh))


def refused(
    kind: Kind, request: PanelRequest, obj: Work, status: int, *, bound=None, panel=""
) -> HttpResponse:
    """The page again, fresh, with the refusal (and the form, open in its panel)."""
    fresh = kind.get(request, obj.number)
    return kind.render(request, fresh, bound=bound, status=status, open_panel=panel)


def carry_out(
    kind: Kind,
    request: PanelRequest,
    obj: Work,
    call: Callable[[], object],
    success: str,
    *,
    form: Form | None = None,
    panel: str = "",
) -> HttpResponse:
    """Run one service call: done, flash `success` and show the object (`after`);
    refused, show it with the refusal (and the form, in its open panel)."""
    outcome = attempt(request, call, form=form, friendly=kind.friendly)
    if not outcome.ok:
        bound = {panel: form} if form is not None else None
        return refused(kind, request, obj, outcome.status, bound=bound, panel=panel)
    return after(kind, request, obj, success)


def passes(
    kind: Kind, service: Callable[..., object], *fields: str, versioned: bool = True
) -> Callable[[HttpRequest, Any, Form], object]:
    """An action that hands the form's `fields` to `service` under the same names (and,
    when `versioned`, the version the form was rendered at)."""

    def call(request: HttpRequest, obj: Any, form: Form) -> object:
        given: dict[str, object] = {name: form.cleaned_data[name] for name in fields}
        if versioned:
            given["expected_version"] = form_version(form)
        given[kind.noun] = obj
        return service(actor=agent_of(request), channel=PANEL, **given)

    return call


# --- view factories ------------------------------------------------------------------------------
def button_view(
    kind: Kind,
    service: Callable[..., object],
    success: Callable[[Any], str],
    *,
    versioned: bool = True,
) -> Callable[..., HttpResponse]:
    """A POST-only button (claim, release, delete): one service call on the object, with
    the version the page was rendered at when `versioned`."""

    @agent_required
    @require_POST
    def view(request: PanelRequest, number: str) -> HttpResponse:
        obj = kind.get(request, number)
        given: dict[str, object] = {kind.noun: obj}
        if versioned:
            given["expected_version"] = posted_version(request)

        def call() -> object:
            return service(actor=agent_of(request), channel=PANEL, **given)

        return carry_out(kind, request, obj, call, success(obj))

    return view


def lock_view(kind: Kind) -> Callable[..., HttpResponse]:
    """Take, renew or (with break=1, for who may) break the edit lock."""

    @agent_required
    @require_POST
    def view(request: PanelRequest, number: str) -> HttpResponse:
        obj = kind.get(request, number)
        state = lock_state(request, obj, break_lock=request.POST.get("break") == "1")
        if request.htmx:
            return render(
                request,
                f"staff/{kind.noun}/_draft_status.html",
                {kind.noun: obj, **kind.draft_extra, **state},
                status=409 if state["lock_error"] else 200,
            )
        if state["lock_error"]:
            report(request, Conflict(state["lock_error"], code=f"{kind.noun}_locked"))
        else:
            messages.success(request, kind.held())
        return go(request, kind.url(obj))

    return view


def unlock_view(kind: Kind) -> Callable[..., HttpResponse]:
    """Give the agent's own lock back (the page is left)."""

    @agent_required
    @require_POST
    def view(request: PanelRequest, number: str) -> HttpResponse:
        obj = kind.get(request, number)
        kind.release_lock(actor=agent_of(request), **{kind.noun: obj})
        if request.htmx:
            return HttpResponse(status=204)
        return go(request, kind.url(obj))

    return view


def attachment_view(kind: Kind) -> Callable[..., HttpResponse]:
    """A file of the object's thread, after the object's visibility check."""

    @agent_required
    @require_GET
    def view(
        request: PanelRequest, number: str, attachment_id: int, filename: str | None = None
    ) -> HttpResponse:
        obj = kind.get(request, number)
        att = attachment_for(obj, attachment_id)
        if att is None:
            raise Http404
        params = DownloadParams(request.GET)
        if not params.is_valid():
            return query_refused(params)
        inline = params.cleaned_data["inline"]
        return file_response(att.file.file, att.filename, att.content_type, inline=inline)

    return view


# --- the action panels (assign, transfer, ...) ---------------------------------------------------
# Forms that show their own errors beside their fields; the others' errors are also flashed
# (their panel may be closed when the page comes back).
INLINE_ERRORS = frozenset({"reply", "note", "edit", "update"})


def invalid(kind: Kind, request: PanelRequest, obj: Work, form: Form, name: str) -> HttpResponse:
    """A form that did not validate: the page again with the form open in its panel."""
    if name not in INLINE_ERRORS:
        form_errors_as_messages(request, form)
    status = invalid_status(form)
    return kind.render(request, obj, bound={name: form}, status=status, open_panel=name)


Action = tuple[type[Form], Callable[[HttpRequest, Any, Form], object], Callable[[], str]]


@dataclass(frozen=True)
class Actions:
    """The action panels of a page: name -> (form class, service call, success message)."""

    kind: Kind
    table: Mapping[str, Action]
    titles: Mapping[str, Callable[[], str]]
    bind: Callable[[Any, str, Any], Form]  # (obj, name, POST data) -> the bound form
    current: Callable[[HttpRequest, Any, str], Form]  # the unbound form with current values


def action_view(actions: Actions) -> Callable[..., HttpResponse]:
    """GET: one action's form, the fragment an opening panel loads (htmx) or, without
    JavaScript, a page of its own that posts like the panel would. POST: carry it out."""
    kind = actions.kind

    @agent_required
    @require_http_methods(["GET", "POST"])
    def view(request: PanelRequest, number: str, action: str) -> HttpResponse:
        if action not in actions.table:
            raise Http404
        obj = kind.get(request, number)
        if request.method == "GET":
            params = ActionFormParams(request.GET)
            if not params.is_valid():
                return query_refused(params)
            ctx = {
                kind.noun: obj,
                "name": action,
                "form": narrow_pickers(actions.current(request, obj, action), request.user),
                "title": actions.titles[action](),
                "inline": params.cleaned_data["inline"],  # a sidebar property's form
            }
            if request.htmx:
                return render(request, f"staff/{kind.noun}/_action_form.html", ctx)
            return page(request, f"staff/{kind.noun}_action.html", ctx)
        form = narrow_pickers(actions.bind(obj, action, request.POST), request.user)
        if not form.is_valid():
            return invalid(kind, request, obj, form, action)
        call, done = actions.table[action][1], actions.table[action][2]
        return carry_out(
            kind, request, obj, lambda: call(request, obj, form), done(), form=form, panel=action
        )

    return view
