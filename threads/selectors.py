"""Reads of threads. Who may see a thread is decided by its owner's selectors
(tickets.selectors); these only shape the data for a reader who may."""

import base64
import datetime as dt
import re
from collections.abc import Iterable

from django.db.models import CharField, F, OuterRef, Prefetch, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, NullIf
from django.utils import timezone

from accounts.compiled import KeptSelect
from accounts.models import User

from .attachments import HEAD_BYTES, inline_type
from .models import Attachment, Draft, DraftImage, Lock, ThreadEntry, ThreadEvent
from .services import DRAFT_IMAGE_REF

# The poster's columns no reader of a thread uses (a name, an address, agent or not, are
# what they show): not loaded with a thread's posters.
POSTER_UNREAD = (
    "password",
    "last_login",
    "date_joined",
    "updated_at",
    "permissions",
    "signature",
    "notes",
    "phone",
    "reset_nonce",
)


def lock_holder(
    *, thread: str = "thread_id", except_agent_id: int | None = None, now: dt.datetime | None = None
) -> Subquery:
    """An annotation: the display name of the agent holding the active lock on the row's
    thread (`thread`: the row's thread id field), None when nobody else does; one
    subquery in the row's own statement instead of a query for the page's locks. `now`:
    the time the locks are to hold at (the current time when not given)."""
    held = Lock.objects.filter(
        thread_id=OuterRef(thread), expires_at__gt=now if now is not None else timezone.now()
    )
    if except_agent_id is not None:
        held = held.exclude(agent_id=except_agent_id)
    name = Coalesce(
        NullIf(F("agent__name"), Value("")),
        NullIf(F("agent__username"), Value("")),
        F("agent__email"),
        output_field=CharField(),
    )  # User.display_name
    return Subquery(held.values_list(name)[:1], output_field=CharField())


def entries_for(*, thread_id: int, include_notes: bool) -> QuerySet[ThreadEntry]:
    """The entries of a thread, with posters and attachments, in a constant number of
    queries: a queryset, for callers that page it (the API); a page showing a whole
    thread takes `entry_list`."""
    # django-stubs declares the to_attr on the model and finds ThreadEntry's declaration
    return _entries([thread_id], include_notes).prefetch_related(  # type: ignore[no-redef]
        Prefetch(
            "attachments",
            queryset=Attachment.objects.select_related("file"),
            # a list per entry, not a related manager's queryset built per entry
            to_attr="attachment_list",
        )
    )


def entry_list(*, thread_ids: list[int], include_notes: bool) -> list[ThreadEntry]:
    """Every entry of the threads (a ticket's, or its children merged as separate
    threads), as `entries_for` gives them, for a page that shows them whole: the
    attachments are read by thread (one join) rather than by the list of every entry's
    id a prefetch writes (200 parameters for a 200-entry thread, each prepared by the
    ORM: a tenth of the ticket view's time went there). One thread's two statements are
    compiled once per process (accounts.compiled.KeptSelect)."""
    if len(thread_ids) == 1:
        entries = _KEPT_ENTRIES(include_notes, thread_id=thread_ids[0])
        _with_posters(entries)
        attachments = _KEPT_ATTACHMENTS(include_notes, thread_id=thread_ids[0])
    else:
        entries = list(_entries(thread_ids, include_notes))
        attachments = list(_attachments(thread_ids, include_notes))
    files: dict[int, list[Attachment]] = {}
    for attachment in attachments:
        files.setdefault(attachment.entry_id, []).append(attachment)
    for entry in entries:
        entry.attachment_list = files.get(entry.pk, [])
    return entries


def _entries(
    thread_ids: list[int], include_notes: bool, *, posters: bool = True
) -> QuerySet[ThreadEntry]:
    # the posters read apart, each once (a thread has a few, its entries hundreds): not
    # a User built per entry from a join
    qs = ThreadEntry.objects.filter(thread_id__in=thread_ids)
    if posters:
        qs = qs.prefetch_related(Prefetch("poster", queryset=User.objects.defer(*POSTER_UNREAD)))
    if not include_notes:
        qs = qs.exclude(kind=ThreadEntry.Kind.NOTE)
    return qs


def _attachments(thread_ids: list[int], include_notes: bool) -> QuerySet[Attachment]:
    attachments = Attachment.objects.filter(entry__thread_id__in=thread_ids).select_related("file")
    if not include_notes:
        attachments = attachments.exclude(entry__kind=ThreadEntry.Kind.NOTE)
    return attachments.order_by("pk")


_KEPT_ENTRIES = KeptSelect(
    # their posters read by _with_posters, with a statement kept too
    lambda include_notes, thread_id: _entries([thread_id], include_notes, posters=False)
)
POSTERS_KEPT = 20  # posters of a thread read by a kept statement (more: compiled each time)


def _with_posters(entries: list[ThreadEntry]) -> None:
    """Give the entries their posters as `_entries`' prefetch does (each read once, with
    POSTER_UNREAD deferred), with a statement compiled once per number of posters."""
    ids = sorted({e.poster_id for e in entries if e.poster_id is not None})
    if len(ids) > POSTERS_KEPT:
        found = list(_posters(ids))
    elif ids:
        found = _KEPT_POSTERS(len(ids), **{f"pk{i}": pk for i, pk in enumerate(ids)})
    else:
        found = []
    by_pk: dict[int | None, User] = {user.pk: user for user in found}
    poster = ThreadEntry._meta.get_field("poster")
    for entry in entries:
        poster.set_cached_value(entry, by_pk.get(entry.poster_id))


def _posters(ids: list[int]) -> QuerySet[User]:
    return User.objects.defer(*POSTER_UNREAD).filter(pk__in=ids)


_KEPT_POSTERS = KeptSelect(lambda count, **pks: _posters([pks[f"pk{i}"] for i in range(count)]))
_KEPT_ATTACHMENTS = KeptSelect(
    lambda include_notes, thread_id: _attachments([thread_id], include_notes)
)


def events_for(*, thread_id: int, except_kinds: Iterable[str] = ()) -> QuerySet[ThreadEvent]:
    """The events of a thread with their actors; `except_kinds` are left out in SQL (a
    page showing the entries themselves does not build the 'message posted' events)."""
    qs = ThreadEvent.objects.filter(thread_id=thread_id).select_related("actor")
    return qs.exclude(kind__in=list(except_kinds)) if except_kinds else qs


def event_list(*, thread_id: int, except_kinds: Iterable[str] = ()) -> list[ThreadEvent]:
    """`events_for`'s events, read with a statement compiled once per process for these
    `except_kinds` (accounts.compiled.KeptSelect)."""
    return _KEPT_EVENTS(tuple(except_kinds), thread_id=thread_id)


_KEPT_EVENTS = KeptSelect(
    lambda except_kinds, thread_id: events_for(thread_id=thread_id, except_kinds=except_kinds)
)


def draft_for(*, agent: User, namespace: str) -> str:
    """The agent's saved draft body for a namespace (e.g. ticket.42.reply), or "". The
    images pasted into it (threads.models.DraftImage) come back as `data:` URLs where the
    body names them, so the editor shows them again; only safe raster images whose bytes
    agree with their type are put back (threads.attachments.inline_type)."""
    return _draft_body(Draft.objects.filter(agent=agent, namespace=namespace).first())


def drafts_for(*, agent: User, namespaces: Iterable[str]) -> dict[str, str]:
    """{namespace: draft body, as draft_for gives it} of several namespaces (a ticket's
    reply and note), read in one statement; "" where there is none."""
    wanted = list(namespaces)
    if not wanted:
        return {}
    named = {f"namespace{i}": namespace for i, namespace in enumerate(wanted)}
    # compiled once per process for each number of namespaces (KeptSelect)
    found = {d.namespace: d for d in _KEPT_DRAFTS(len(wanted), agent_id=agent.pk, **named)}
    return {n: _draft_body(found.get(n)) for n in wanted}


_KEPT_DRAFTS = KeptSelect(
    lambda count, agent_id, **named: Draft.objects.filter(
        agent_id=agent_id, namespace__in=[named[f"namespace{i}"] for i in range(count)]
    )
)


def _draft_body(draft: Draft | None) -> str:
    if draft is None:
        return ""
    if "cid:pasted-image-" not in draft.body:
        return draft.body
    images = {i.name: i for i in draft.images.select_related("file")}

    def resolve(match: re.Match[str]) -> str:
        image = images.get(match.group(1))
        url = _data_url(image) if image is not None else None
        return f'src="{url}"' if url else match.group(0)

    return DRAFT_IMAGE_REF.sub(resolve, draft.body)


def _data_url(image: DraftImage) -> str | None:
    try:
        with image.file.file.open("rb") as f:
            content = f.read()
    except OSError:  # the stored file is gone: the editor drops the reference
        return None
    kind = inline_type(image.content_type, content[:HEAD_BYTES])
    if kind is None:
        return None
    return f"data:{kind};base64,{base64.b64encode(content).decode('ascii')}"
