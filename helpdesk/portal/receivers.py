"""Guests' sign-in links follow the ticket's people: removing a client from a ticket, or
giving the ticket another requester, revokes their links to it at once."""

from accounts.actors import SYSTEM
from tickets import signals

from .services import access_links_revoke


def on_collaborator_removed(sender, ticket, user, **kwargs):
    access_links_revoke(actor=SYSTEM, ticket_id=ticket.pk, user_id=user.pk)


def on_edited(sender, ticket, changes=None, **kwargs):
    before = (changes or {}).get("requester", [None])[0]
    if isinstance(before, dict) and before.get("id"):
        access_links_revoke(actor=SYSTEM, ticket_id=ticket.pk, user_id=before["id"])


def connect() -> None:
    signals.ticket_collaborator_removed.connect(
        on_collaborator_removed, dispatch_uid="helpdesk.portal.revoke_on_collaborator_removed"
    )
    signals.ticket_edited.connect(on_edited, dispatch_uid="helpdesk.portal.revoke_on_requester")
