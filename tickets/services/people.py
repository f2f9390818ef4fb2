"""Deleting and merging clients: the people side of tickets (their requester, their
collaborations, the entries they posted). Identity alone is accounts.services; these
touch tickets, so they live here."""

from typing import Literal

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts import audit
from accounts import permissions as perms
from accounts.actors import Actor, is_agent, is_system
from accounts.errors import Conflict, PermissionRefused, ValidationFailed
from accounts.models import PLACEHOLDER_EMAIL, User, UserEmail
from threads import services as threads
from threads.models import ThreadEvent

from ..models import Ticket, UserFieldValue
from ..permissions import check
from ..selectors import tickets_visible_to
from ._common import channel_of, record
from .relations import tickets_erase

Fate = Literal["keep", "delete"]


def _require(actor: Actor, *keys: str) -> None:
    if is_system(actor):
        return
    missing = [k for k in keys if not (is_agent(actor) and perms.has_agent_perm(actor, k))]
    if missing:
        raise PermissionRefused(
            f"You need the {' and '.join(missing)} permission for this.",
            code="permission_denied",
        )


def _client(user: User, what: str) -> None:
    if user.is_agent:
        raise PermissionRefused(
            f"Agents are {what} by helpdesk admins, in the admin.", code="permission_denied"
        )
    if user.is_placeholder:
        raise Conflict("The placeholder of deleted users stays.", code="placeholder")


def placeholder_user() -> User:
    """The inactive user who keeps the tickets of deleted users (created once)."""
    user, _ = User.objects.get_or_create(
        email=PLACEHOLDER_EMAIL,
        defaults={"name": "Deleted user", "is_active": False, "password": "!"},
    )
    return user


def _move_tickets(
    actor: Actor, channel: str, old: User, new: User, ids: list[int], **data: object
) -> None:
    Ticket.objects.filter(pk__in=ids).update(
        requester=new, version=F("version") + 1, updated_at=timezone.now()
    )
    for ticket in Ticket.objects.filter(pk__in=ids).only("pk", "thread_id"):
        record(
            ticket,
            ThreadEvent.Kind.EDITED,
            actor,
            channel,
            requester=[{"id": old.pk, "name": str(old)}, {"id": new.pk, "name": str(new)}],
            **data,
        )


def user_delete(*, actor: Actor, user: User, tickets: Fate, channel: str | None = None) -> int:
    """Delete a client (user.delete), their tickets' fate chosen: `keep` them under the
    placeholder user, or `delete` them for good (ticket.delete on each, and every one
    of them visible to the actor). Returns how many tickets were kept or deleted."""
    _require(actor, "user.delete")
    _client(user, "deleted")
    if tickets not in ("keep", "delete"):
        raise ValidationFailed(
            "Choose what happens to the tickets: keep or delete.",
            fields={"tickets": ["Choose keep or delete."]},
        )
    channel = channel_of(actor, channel)
    with transaction.atomic():
        owned = list(Ticket.objects.select_for_update().filter(requester=user).order_by("pk"))
        if tickets == "delete":
            visible = set(
                tickets_visible_to(user=actor)
                .filter(pk__in=[t.pk for t in owned])
                .values_list("pk", flat=True)
            )
            if len(visible) != len(owned):
                raise PermissionRefused(
                    "Some of this user's tickets are outside your departments: "
                    "keep them instead, or ask a helpdesk admin.",
                    code="permission_denied",
                )
            for ticket in owned:
                check(actor, "ticket.delete", ticket)
            tickets_erase(owned)
        else:
            keeper = placeholder_user()
            _move_tickets(actor, channel, user, keeper, [t.pk for t in owned], deleted_user=True)
            threads.participant_replace(old=user, new=keeper, collaborations=False)
        pk, before = user.pk, audit.snapshot(user)
        user.delete()
        user.pk = pk
        audit.record(
            "account.deleted",
            actor=actor,
            target=user,
            changes=audit.diff(before, {}),
            detail=f"tickets: {tickets} ({len(owned)})",
        )
    return len(owned)


def user_merge(*, actor: Actor, keep: User, merge: User, channel: str | None = None) -> User:
    """Merge `merge` into `keep` (user.edit and user.delete): its tickets, email
    addresses (its primary one becoming an extra one of `keep`), collaborations,
    posted entries and the custom field values `keep` lacks move to `keep`; `merge` is
    then deleted. Returns `keep`."""
    _require(actor, "user.edit", "user.delete")
    if keep.pk == merge.pk:
        raise ValidationFailed("Choose another user to merge.", code="same_user")
    _client(keep, "merged")
    _client(merge, "merged")
    channel = channel_of(actor, channel)
    with transaction.atomic():
        ids = list(
            Ticket.objects.select_for_update()
            .filter(requester=merge)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        _move_tickets(actor, channel, merge, keep, ids, merged_user=True)
        owned_threads = Ticket.objects.filter(requester=keep).values_list("thread_id", flat=True)
        threads.participant_replace(old=merge, new=keep, exclude_thread_ids=list(owned_threads))
        addresses = [merge.email, *merge.extra_emails.values_list("email", flat=True)]
        merge.extra_emails.all().delete()
        if not keep.organization_id and merge.organization_id:
            keep.organization_id = merge.organization_id
            keep.save(update_fields=["organization", "updated_at"])
        kept = UserFieldValue.objects.filter(user=keep).exclude(value="").values("field_id")
        UserFieldValue.objects.filter(user=keep, value="").filter(
            field_id__in=UserFieldValue.objects.filter(user=merge)
            .exclude(value="")
            .values("field_id")
        ).delete()
        merge.field_values.exclude(field_id__in=kept).exclude(value="").update(user=keep)
        merged_pk, merged_repr = merge.pk, str(merge)
        merge.delete()
        UserEmail.objects.bulk_create(UserEmail(user=keep, email=a) for a in addresses)
        audit.record(
            "account.merged",
            actor=actor,
            target=keep,
            changes={"emails": [None, addresses]},
            detail=f"{merged_repr} (user {merged_pk}) merged into this account, "
            f"with {len(ids)} tickets",
        )
    return keep
