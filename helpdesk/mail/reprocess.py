"""Processing a parked message again (after a fix), from its stored raw bytes."""

from threads.models import Channel

from .inbound import IngestResult, _process
from .models import InboundMessage


def reprocess(message: InboundMessage) -> IngestResult:
    updated = InboundMessage.objects.filter(
        pk=message.pk, status=InboundMessage.Status.PARKED
    ).update(status=InboundMessage.Status.RECEIVED, reason="")
    if not updated:
        return IngestResult(message.status, message.ticket, "not parked", message.pk)
    message.refresh_from_db()
    channel = Channel.API if message.source == InboundMessage.Source.API else Channel.EMAIL
    return _process(message, bytes(message.raw), channel, message.mailbox)
