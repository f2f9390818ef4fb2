"""A ticket filter may answer a new ticket with a canned response (osTicket's "canned"
action): the reply is posted by a Celery task once the ticket is committed."""

from django.db import transaction
from django.dispatch import receiver

from tickets.signals import ticket_created

from .tasks import post_canned_reply_task


@receiver(ticket_created, dispatch_uid="kb.canned_auto_reply")
def canned_auto_reply(sender, ticket, canned_response=None, **kwargs):
    if canned_response is not None:
        transaction.on_commit(lambda: post_canned_reply_task.delay(ticket.pk, canned_response.pk))
