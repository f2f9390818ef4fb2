"""Processing a parked message again (after a fix), from its stored raw bytes."""

from threads.models import Channel

from .inbound import Arrival, IngestResult, _process
from .models import InboundMessage


def reprocess(message: InboundMessage) -> IngestResult:
    if message.status != InboundMessage.Status.PARKED:
        return IngestResult(message.status, message.ticket, "not parked", message.pk)
    raw = bytes(InboundMessage.objects.values_list("raw", flat=True).get(pk=message.pk))
    channel = Channel.API if message.source == InboundMessage.Source.API else Channel.EMAIL
    arrival = Arrival.of(raw, channel, message.mailbox, message.server_uid)
    return _process(arrival, existing=message)
