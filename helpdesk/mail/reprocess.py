"""Processing a parked message again (after a fix), from its stored raw bytes.

A message posted to the API is processed again as the key that posted it may act now:
its write departments and its mail-relay mark as they are today. A key deleted or
deactivated since (or a message parked before keys were recorded) leaves it no
department and no trust: it may open a new ticket, never touch an existing one."""

from accounts.actors import ApiKeyActor
from accounts.apikeys import actor_for_key
from threads.models import Channel

from .inbound import Arrival, IngestResult, _process
from .models import InboundMessage

NO_KEY = ApiKeyActor(key_id=None, label="a deleted or inactive API key")


def reprocess(message: InboundMessage) -> IngestResult:
    if message.status != InboundMessage.Status.PARKED:
        return IngestResult(message.status, message.ticket, "not parked", message.pk)
    raw = bytes(InboundMessage.objects.values_list("raw", flat=True).get(pk=message.pk))
    api_key = None
    channel = Channel.EMAIL
    if message.source == InboundMessage.Source.API:
        channel = Channel.API
        api_key = _caller(message)
    arrival = Arrival.of(raw, channel, message.mailbox, message.server_uid, api_key)
    return _process(arrival, existing=message)


def _caller(message: InboundMessage) -> ApiKeyActor:
    from accounts.models import ApiKey

    key = ApiKey.objects.filter(pk=message.api_key_id, is_active=True).first()
    return actor_for_key(key) if key is not None else NO_KEY
