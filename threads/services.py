"""Thread operations. Low level: the owner's services (tickets) check permissions and
call these inside their own transaction; nothing here sends signals.
"""

import datetime as dt
import hashlib
import mimetypes
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Exists, ForeignObjectRel, Model, OuterRef, Q, QuerySet
from django.utils import timezone

from accounts.actors import Actor, actor_label, actor_user
from accounts.compiled import KeptSelect
from accounts.errors import ValidationFailed
from accounts.models import User

from .attachments import HEAD_BYTES, attachments_validate, inline_type, safe_filename
from .html import bodies
from .models import (
    Attachment,
    Channel,
    Collaborator,
    Draft,
    DraftImage,
    EntryRevision,
    Lock,
    Referral,
    StoredFile,
    Thread,
    ThreadEntry,
    ThreadEvent,
    stored_file_path,
)
from .signals import event_recorded, events_recorded


@dataclass(frozen=True)
class NewAttachment:
    """A file on its way in, before it is stored."""

    filename: str
    content: bytes
    content_type: str = ""
    inline: bool = False
    content_id: str = ""


def thread_create() -> Thread:
    return Thread.objects.create()


def file_store(*, content: bytes, content_type: str = "") -> StoredFile:
    """Store content once per SHA-256 (race-safe). Call it outside long transactions:
    a file whose entry is rolled back is removed by the orphaned-file cleanup."""
    sha = hashlib.sha256(content).hexdigest()
    existing = StoredFile.objects.filter(sha256=sha).first()
    if existing is not None:
        return existing
    stored = StoredFile(
        sha256=sha, size=len(content), content_type=content_type or "application/octet-stream"
    )
    name = stored_file_path(stored, "")
    if not default_storage.exists(name):
        saved = default_storage.save(name, ContentFile(content))
        if saved != name:  # a concurrent writer won the same name; same bytes, keep one
            default_storage.delete(saved)
    stored.file.name = name
    try:
        with transaction.atomic():
            stored.save()
    except IntegrityError:
        return StoredFile.objects.get(sha256=sha)
    return stored


def files_store(files: list[NewAttachment]) -> list[tuple[NewAttachment, StoredFile]]:
    """Check the whole set against the attachment policy (threads.attachments), then
    store each file."""
    attachments_validate(files)
    return [(f, file_store(content=f.content, content_type=f.content_type)) for f in files]


def entry_create(
    *,
    thread_id: int,
    kind: str,
    body: str,
    fmt: str = ThreadEntry.Format.TEXT,
    poster: Actor | None = None,
    poster_name: str = "",
    source: str = ThreadEntry.Source.WEB,
    files: Sequence[tuple[NewAttachment, StoredFile]] = (),
    title: str = "",
    message_id: str = "",
    email_headers: str = "",
    recipients: dict[str, Any] | None = None,
    ip_address: str | None = None,
    is_system: bool = False,
) -> ThreadEntry:
    """Write an entry with its (already stored) files. Bodies are sanitised here."""
    body_html, body_text = bodies(body, fmt)
    if not body_text and not files:
        raise ValidationFailed(
            "The message is empty.", code="empty_body", fields={"body": ["This field is required."]}
        )
    user = actor_user(poster)
    entry = ThreadEntry(
        thread_id=thread_id,
        kind=kind,
        poster=user,
        poster_name=(poster_name or (actor_label(poster) if poster is not None else ""))[:128],
        title=title[:255],
        format=fmt,
        source=source,
        is_system=is_system,
        recipients=recipients or {},
        message_id=message_id[:255],
        email_headers=email_headers,
        ip_address=ip_address,
    )
    # both bodies given: the one stored is chosen by the format, the other kept as derived
    entry.body_html, entry.body_text = body_html, body_text
    entry.save(force_insert=True)
    if files:  # most entries have none: no bulk_create of nothing
        Attachment.objects.bulk_create(
            Attachment(
                entry=entry,
                file=stored,
                filename=safe_filename(spec.filename),
                content_type=spec.content_type
                or mimetypes.guess_type(spec.filename)[0]
                or "application/octet-stream",
                inline=spec.inline,
                content_id=spec.content_id[:255],
            )
            for spec, stored in files
        )
    return entry


def entry_edit(
    *,
    entry: ThreadEntry,
    body: str,
    editor: Actor,
    title: str | None = None,
    fmt: str | None = None,
) -> EntryRevision:
    """Replace an entry's text, keeping the text it had as an EntryRevision. The owner's
    service checks who may edit and runs this inside its transaction. The body is
    sanitised here; an empty one is refused (`empty_body`)."""
    fmt = fmt or entry.format
    body_html, body_text = bodies(body, fmt)
    if not body_text and not entry.attachments.exists():
        raise ValidationFailed(
            "The message is empty.", code="empty_body", fields={"body": ["This field is required."]}
        )
    editor_user = actor_user(editor)
    if entry.edited_at is not None:  # the current text is the last editor's
        written_by, written_by_name = entry.editor, ""
        written_at = entry.edited_at
    else:
        written_by, written_by_name = entry.poster, entry.poster_name
        written_at = entry.created_at
    now = timezone.now()
    revision = EntryRevision.objects.create(
        entry=entry,
        title=entry.title,
        format=entry.format,
        body=entry.body,
        written_by=written_by,
        written_by_name=(written_by_name or (written_by.display_name if written_by else ""))[:128],
        written_at=written_at,
        replaced_by=editor_user,
        replaced_at=now,
    )
    entry.format = fmt
    entry.body_html, entry.body_text = body_html, body_text
    if title is not None:
        entry.title = title[:255]
    entry.edited_at, entry.editor = now, editor_user
    entry.save(update_fields=["body", "format", "title", "edited_at", "editor"])
    return revision


def event_record(
    *,
    thread_id: int,
    kind: str,
    actor: Actor | None,
    channel: str = Channel.SYSTEM,
    data: dict[str, Any] | None = None,
) -> ThreadEvent:
    """Write an audit event; receivers of `event_recorded` run in the same transaction."""
    event = ThreadEvent.objects.create(
        thread_id=thread_id,
        kind=kind,
        actor=actor_user(actor),
        actor_label=actor_label(actor)[:128],
        channel=channel,
        data=data or {},
    )
    event_recorded.send(sender=ThreadEvent, event=event)
    return event


def events_announce(*, event_ids: list[int]) -> None:
    """Announce events written in bulk (not through event_record), inside their
    transaction: receivers of `events_recorded` treat each as a recorded event."""
    if event_ids:
        events_recorded.send(sender=ThreadEvent, event_ids=list(event_ids))


def collaborator_add(
    *, thread_id: int, user: User, role: str = Collaborator.Role.CC
) -> tuple[Collaborator, bool]:
    """Add or re-activate a collaborator. Returns (collaborator, changed)."""
    collab, created = Collaborator.objects.get_or_create(
        thread_id=thread_id, user=user, defaults={"role": role}
    )
    if created:
        return collab, True
    if not collab.is_active or collab.role != role:
        collab.is_active, collab.role = True, role
        collab.save(update_fields=["is_active", "role"])
        return collab, True
    return collab, False


def collaborator_remove(*, thread_id: int, user: User) -> bool:
    return Collaborator.objects.filter(thread_id=thread_id, user=user).delete()[0] > 0


def referral_add(
    *,
    thread_id: int,
    agent: User | None = None,
    team: Model | None = None,  # routing.Team (threads does not import routing)
    department: Model | None = None,  # routing.Department
) -> tuple[Referral, bool]:
    lookup = {"agent": agent} if agent else {"team": team} if team else {"department": department}
    return Referral.objects.get_or_create(thread_id=thread_id, **lookup)


def entries_move(*, source_id: int, target_id: int) -> int:
    """Move every entry of one thread under another (merge), remembering where it came from."""
    return ThreadEntry.objects.filter(thread_id=source_id).update(
        thread_id=target_id, original_thread_id=source_id
    )


def entries_move_back(*, thread_id: int, original_thread_id: int) -> int:
    """Undo `entries_move` for one source: its entries go back to their own thread."""
    return ThreadEntry.objects.filter(
        thread_id=thread_id, original_thread_id=original_thread_id
    ).update(thread_id=original_thread_id, original_thread_id=None)


# --- locks: the owner's services decide who may take and break one ---------------------


def lock_get(*, thread_id: int, active: bool = True) -> Lock | None:
    """The lock on a thread (only while it holds, with `active`), its agent joined (the
    statements compiled once per process: accounts.compiled.KeptSelect)."""
    if active:
        found = _KEPT_LOCK(thread_id=thread_id, now=timezone.now())
    else:
        found = _KEPT_ANY_LOCK(thread_id=thread_id)
    return found[0] if found else None


def _locks(thread_id: int) -> QuerySet[Lock]:
    return Lock.objects.select_related("agent").filter(thread_id=thread_id).order_by("pk")


_KEPT_ANY_LOCK = KeptSelect(lambda thread_id: _locks(thread_id)[:1])
_KEPT_LOCK = KeptSelect(lambda thread_id, now: _locks(thread_id).filter(expires_at__gt=now)[:1])


def lock_put(*, thread_id: int, agent: User, expires_at: dt.datetime) -> Lock:
    """Give the lock to `agent` until `expires_at` (the caller holds the owner's row)."""
    held, _ = Lock.objects.update_or_create(
        thread_id=thread_id, defaults={"agent": agent, "expires_at": expires_at}
    )
    return held


def lock_drop(*, thread_id: int, agent_id: int | None) -> bool:
    """Drop `agent_id`'s own lock on the thread; False when they held none."""
    return Lock.objects.filter(thread_id=thread_id, agent_id=agent_id).delete()[0] > 0


def locks_purge() -> int:
    return Lock.objects.filter(expires_at__lte=timezone.now()).delete()[0]


# The names the panel's editor gives pasted images in a body (helpdesk/editor.py).
DRAFT_IMAGE_NAME = re.compile(r"pasted-image-\d{1,3}\.(?:png|jpg|gif|webp)")
DRAFT_IMAGE_REF = re.compile(r"""src=["']cid:(pasted-image-\d{1,3}\.(?:png|jpg|gif|webp))["']""")
MAX_DRAFT_IMAGES = 20


def draft_save(
    *, agent: User, namespace: str, body: str, images: Sequence[NewAttachment] = ()
) -> Draft:
    """Save an agent's draft. `images`: images pasted into it, each named as the body
    names it (`cid:pasted-image-N.png`), checked against the attachment policy, stored
    once and kept with the draft (replacing an image of the same name); the draft's images
    its body no longer names are dropped. Refused (ValidationFailed, nothing saved): a
    name the editor does not give, a file that is not a safe raster image, more than
    MAX_DRAFT_IMAGES images named."""
    named = set(DRAFT_IMAGE_REF.findall(body))
    if len(named) > MAX_DRAFT_IMAGES:
        raise ValidationFailed(
            f"A draft keeps at most {MAX_DRAFT_IMAGES} pasted images.",
            code="too_many_images",
            fields={"inline_images": [f"At most {MAX_DRAFT_IMAGES} images."]},
        )
    wrong = [
        safe_filename(f.filename)
        for f in images
        if not DRAFT_IMAGE_NAME.fullmatch(f.filename)
        or inline_type(f.content_type, f.content[:HEAD_BYTES]) is None
    ]
    if wrong:
        raise ValidationFailed(
            f"Not a pasted image: {', '.join(wrong)}.",
            code="not_a_pasted_image",
            fields={"inline_images": [f"Not a pasted image: {', '.join(wrong)}."]},
        )
    kept = files_store([f for f in images if f.filename in named])  # the others: unused
    with transaction.atomic():
        draft, _ = Draft.objects.update_or_create(
            agent=agent, namespace=namespace, defaults={"body": body}
        )
        for spec, stored in kept:
            DraftImage.objects.update_or_create(
                draft=draft,
                name=spec.filename,
                defaults={"file": stored, "content_type": spec.content_type[:64]},
            )
        draft.images.exclude(name__in=named).delete()
    return draft


def draft_delete(*, agent: User, namespace: str) -> bool:
    """Drop one agent's draft (after the reply or note was posted)."""
    return Draft.objects.filter(agent=agent, namespace=namespace).delete()[0] > 0


def drafts_delete(*, namespace_prefix: str) -> int:
    return Draft.objects.filter(namespace__startswith=namespace_prefix).delete()[0]


def drafts_purge(*, older_than_days: int = 14) -> int:
    cutoff = timezone.now() - dt.timedelta(days=older_than_days)
    return Draft.objects.filter(updated_at__lt=cutoff).delete()[0]


def _unreferenced(queryset: QuerySet[StoredFile]) -> QuerySet[StoredFile]:
    """Stored files no row points at: every foreign key to StoredFile in any installed app
    (thread attachments, canned responses, FAQs, ...), found through the model registry,
    so an app that keeps files never has to register itself here."""
    for rel in StoredFile._meta.get_fields(include_hidden=True):
        if isinstance(rel, ForeignObjectRel):  # a relation to StoredFile, from its other end
            users = rel.related_model._default_manager.filter(**{rel.field.name: OuterRef("pk")})
            queryset = queryset.exclude(Exists(users))
    return queryset


def files_purge_orphans(*, older_than_hours: int = 24) -> int:
    """Delete stored files that nothing uses, older than the grace period."""
    cutoff = timezone.now() - dt.timedelta(hours=older_than_hours)
    count = 0
    for pk in _unreferenced(StoredFile.objects.filter(created_at__lt=cutoff)).values_list(
        "pk", flat=True
    ):
        with transaction.atomic():
            locked = _unreferenced(StoredFile.objects.select_for_update().filter(pk=pk)).first()
            if locked is None:
                continue
            name = locked.file.name
            locked.delete()
        if name:  # a row without its file (not written by file_store): nothing to remove
            default_storage.delete(name)
        count += 1
    return count


def participant_replace(
    *,
    old: User,
    new: User,
    exclude_thread_ids: Sequence[int] = (),
    collaborations: bool = True,
) -> int:
    """(Merging or deleting a person.) `old`'s collaborations become `new`'s, except on
    threads `new` already collaborates on or in `exclude_thread_ids` (where `new` is the
    owner), which are dropped (all of them without `collaborations`); the entries `old`
    posted show `new` as their poster. Returns how many collaborations moved."""
    ThreadEntry.objects.filter(poster=old).update(poster=new)
    mine = Collaborator.objects.filter(user=old)
    if not collaborations:
        mine.delete()
        return 0
    taken = Collaborator.objects.filter(user=new).values("thread_id")
    mine.filter(Q(thread_id__in=taken) | Q(thread_id__in=list(exclude_thread_ids))).delete()
    return mine.update(user=new)
