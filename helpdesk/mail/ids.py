"""Our Message-IDs: `<hd.T.E.R.SIG@domain>` with the ticket (T) and entry (E) ids, a
random part (R) and an HMAC signature (SIG), as osTicket signs its own ids. A reply
citing one threads to its ticket even if the outbound row is gone; a forged one fails
the signature and is ignored.

Mail about a task (to agents only) carries `<hdt.K.E.R.SIG@domain>` with the task (K)
instead, signed apart (another salt), so a reply citing it goes to that task and never to
a ticket, and no ticket id can be turned into a task id or back.
"""

import re
import secrets

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

_OURS = re.compile(r"^<hd\.(\d+)\.(\d+)\.([0-9a-f]{12})\.([0-9a-f]{16})@[^<>\s]+>$")
_TASKS = re.compile(r"^<hdt\.(\d+)\.(\d+)\.([0-9a-f]{12})\.([0-9a-f]{16})@[^<>\s]+>$")
_SALT = "helpdesk.mail.message-id"
_TASK_SALT = "helpdesk.mail.task-message-id"
TASK_PREFIX = "<hdt."


def domain() -> str:
    configured = settings.HELPDESK_MAIL["MESSAGE_ID_DOMAIN"]
    return configured or settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].strip(">") or "localhost"


def _sign(ticket_id: int, entry_id: int, rand: str, salt: str = _SALT) -> str:
    return salted_hmac(salt, f"{ticket_id}.{entry_id}.{rand}").hexdigest()[:16]


def make_message_id(ticket_id: int | None, entry_id: int | None = None) -> str:
    t, e, rand = ticket_id or 0, entry_id or 0, secrets.token_hex(6)
    return f"<hd.{t}.{e}.{rand}.{_sign(t, e, rand)}@{domain()}>"


def make_task_message_id(task_id: int, entry_id: int | None = None) -> str:
    e, rand = entry_id or 0, secrets.token_hex(6)
    return f"{TASK_PREFIX}{task_id}.{e}.{rand}.{_sign(task_id, e, rand, _TASK_SALT)}@{domain()}>"


def _decode(pattern: re.Pattern[str], salt: str, message_id: str) -> int | None:
    match = pattern.match(message_id.strip())
    if not match:
        return None
    t, e, rand, sig = match.groups()
    if not constant_time_compare(sig, _sign(int(t), int(e), rand, salt)):
        return None
    return int(t) or None


def decode_message_id(message_id: str) -> int | None:
    """The ticket id a Message-ID of ours names, or None (not ours, or forged)."""
    return _decode(_OURS, _SALT, message_id)


def decode_task_message_id(message_id: str) -> int | None:
    """The task id a task Message-ID of ours names, or None (not ours, or forged)."""
    return _decode(_TASKS, _TASK_SALT, message_id)
