"""A ticket filter may answer a new ticket with a canned response (osTicket's "canned"
action): the reply is posted by a Celery task once the ticket is committed, through the
outbox row written here, in the ticket's own transaction (helpdesk.outbox)."""

from accounts import bus
from helpdesk.outbox.services import enqueue
from tickets.signals import ticket_created

from .tasks import post_canned_reply_task


def canned_auto_reply(sender, ticket, canned_response=None, **kwargs):
    if canned_response is not None:
        enqueue(post_canned_reply_task, ticket.pk, canned_response.pk)


bus.connect_in_transaction(ticket_created, canned_auto_reply, dispatch_uid="kb.canned_auto_reply")
