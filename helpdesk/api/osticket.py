"""osTicket-compatible endpoints, so existing integrations keep working unchanged:
POST /api/tickets.json, /api/tickets.xml, /api/tickets.email and /api/tasks/cron,
with `X-API-Key`, plain-text answers and osTicket's status codes (see
../shared/OSTICKET.md section 2). Validation errors answer 400 as osTicket 1.16 did.
"""

import base64
import binascii
import ipaddress
import json
import logging
import re
from dataclasses import dataclass

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException
from django.contrib.auth.models import AnonymousUser
from django.core.validators import validate_email
from django.db import transaction
from django.http import HttpResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from accounts import services as account_services
from accounts.actors import SYSTEM, ApiKeyActor
from accounts.apikeys import actor_for_key, address_allowed, api_key_find
from accounts.errors import Conflict, DomainError, PermissionRefused, ValidationFailed
from accounts.selectors import user_find_by_email
from helpdesk import limits
from helpdesk.mail.inbound import IngestResult, TemporaryFailure, ingest
from helpdesk.mail.models import InboundMessage
from routing.models import HelpTopic
from threads.attachments import attachment_refusal, human_size, safe_filename
from threads.models import ThreadEntry
from threads.services import NewAttachment
from tickets import services
from tickets.models import Priority, Ticket

from .authentication import client_ip
from .idempotency import raw_body
from .parsers import ESCAPED_SURROGATE
from .problems import RequestTooLarge
from .throttling import AnonRateThrottle, CallerRateThrottle

log = logging.getLogger(__name__)

KNOWN_FIELDS = {
    "email",
    "name",
    "phone",
    "subject",
    "message",
    "topicId",
    "priority",
    "priorityId",
    "source",
    "ip",
    "alert",
    "autorespond",
    "attachments",
}
SOURCES = {s.value: s.value for s in Ticket.Source}
S = InboundMessage.Status
EMAIL_OUTCOMES = (S.CREATED, S.APPENDED, S.REJECTED, S.DROPPED, S.PARKED)
DATA_URL = re.compile(r"^data:(?P<type>[^;,]*)(?P<params>(;[^;,]*)*?),(?P<data>.*)$", re.S)


class Answer(Exception):
    """An osTicket-style answer: a status and a plain-text body."""

    def __init__(self, status: int, text: str):
        super().__init__(text)
        self.status = status
        self.text = text


def plain(status: int, text: str) -> HttpResponse:
    return HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")


@csrf_exempt
def unsupported(request, *args, **kwargs) -> HttpResponse:
    return plain(400, "URL not supported")


# --- keys ------------------------------------------------------------------------------


def authorize(request, capability: str) -> ApiKeyActor:
    """The key's actor, or an osTicket 401 (checked before the body is read). Failed
    attempts are throttled per address, so keys cannot be guessed at speed."""
    secret = request.META.get("HTTP_X_API_KEY", "").strip()
    key = api_key_find(secret) if secret else None
    if key is None or not address_allowed(key, client_ip(request)):
        throttle(request, AnonymousUser())
        raise Answer(401, "Valid API key required")
    if not key.is_active:
        raise Answer(401, "API key not found/active or source IP not authorized")
    if not getattr(key, capability):
        raise Answer(401, "API key not authorized")
    return actor_for_key(key)


def throttle(request, actor) -> None:
    throttles = [CallerRateThrottle(), AnonRateThrottle()]
    request.user, request.auth = actor, None
    for t in throttles:
        if not t.allow_request(request, None):  # type: ignore[arg-type]  # no DRF view here; unread
            wait = t.wait() or 1
            raise Answer(429, f"Too many requests: retry in {int(wait + 0.999)} seconds")


# --- parsing ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Decoded:
    """A value as its parser read it: a media type and its content, bytes when base64 was
    declared (or a file's bytes), else the text exactly as sent."""

    media: str
    content: bytes | str
    charset: str = ""

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        try:
            return self.content.decode(self.charset or "utf-8", errors="replace")
        except LookupError:  # an unknown charset: read it as UTF-8
            return self.content.decode("utf-8", errors="replace")

    def data(self) -> bytes:
        if isinstance(self.content, bytes):
            return self.content
        return self.content.encode("utf-8", "surrogatepass")


def parse_json(raw: bytes) -> dict:
    try:
        data = json.loads(raw.decode("utf-8"))
        if ESCAPED_SURROGATE.search(raw):  # lone surrogates come only from an escape
            json.dumps(data, ensure_ascii=False).encode("utf-8")
    except (ValueError, UnicodeError, RecursionError):
        raise Answer(400, "Syntax error, malformed JSON") from None
    if not isinstance(data, dict):
        raise Answer(400, "Syntax error, malformed JSON")
    return data


def parse_xml(raw: bytes) -> dict:
    """osTicket's XML: fields as attributes of <ticket> or as its elements; <message
    type=...> as sent (base64 only when `encoding="base64"` says so); <attachments> of
    <file name= type= encoding=>. Entities and DTDs are refused (defusedxml)."""
    try:
        root = SafeET.fromstring(raw)
    except SafeET.ParseError as exc:
        raise Answer(400, f"XML error: {exc}") from None
    except DefusedXmlException as exc:
        raise Answer(400, f"XML error: {exc}") from None
    if root.tag != "ticket":
        raise Answer(400, "XML error: the root element must be <ticket>")
    data: dict = dict(root.attrib)
    for child in root:
        if child.tag == "attachments":
            data["attachments"] = [_xml_file(f) for f in child if f.tag == "file"]
        elif child.tag == "message":
            data["message"] = _xml_content(child, child.get("type") or "text/plain")
        else:
            data[child.tag] = (child.text or "").strip()
    return data


def _xml_content(node, media: str) -> str | Decoded:
    """An element's text: a base64 data URL when declared so (decoded, and checked, with
    the JSON's), else the text itself, never percent-decoded."""
    text = node.text or ""
    if node.get("encoding", "").strip().lower() == "base64":
        return f"data:{media};base64,{text.strip()}"
    return Decoded(media.strip().lower(), text)


def _xml_file(node) -> dict:
    name = node.get("name") or "attachment"
    ctype = node.get("type") or "application/octet-stream"
    value = _xml_content(node, ctype)
    if isinstance(value, Decoded):  # osTicket trims a file's text
        value = Decoded(value.media, str(value.content).strip())
    return {name: value}


def decode_data_url(value: str) -> Decoded | None:
    """RFC 2397, as osTicket reads it: None when `value` is not a data URL; the data
    base64-decoded when `;base64` is declared (ValueError when it is not valid base64),
    else the text after the comma exactly as sent (no percent-decoding)."""
    match = DATA_URL.match(value)
    if match is None:
        return None
    params = [p.strip() for p in match["params"].split(";") if p.strip()]
    media = (match["type"] or "text/plain").strip().lower()
    charset = next(
        (p.split("=", 1)[1].strip() for p in params if p.lower().startswith("charset=")), ""
    )
    data = match["data"]
    if any(p.lower() == "base64" for p in params):
        try:
            content = base64.b64decode("".join(data.split()), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("invalid base64 data") from None
        return Decoded(media, content, charset)
    return Decoded(media, data, charset)


def to_bool(value, default=True) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on")


# --- the ticket --------------------------------------------------------------------------


@dataclass(frozen=True)
class DroppedFile:
    filename: str
    size: int | None
    why: str

    def __str__(self) -> str:
        size = f" ({self.size:,} bytes)" if self.size is not None else ""
        return f"{self.filename}{size}: {self.why}"


class TicketRequest:
    """osTicket's fields turned into ticket_open's arguments, collecting field errors.
    Lenient where osTicket is, with a warning in the log: a non-numeric, unknown or
    inactive topic or priority and an invalid `ip` are ignored; a file that is not a
    valid data URL, over the size limit or refused by the attachment policy is dropped
    and listed in `dropped` (a note on the ticket), and the ticket is created."""

    def __init__(self, data: dict, caller_ip: str):
        self.data = data
        self.errors: dict[str, str] = {}
        self.dropped: list[DroppedFile] = []
        check_bounds(data)  # before any field is read or any row looked up
        self.ignored = sorted(k for k in data if k not in KNOWN_FIELDS)
        self.email = self._email()
        self.name = self._text("name", 128)
        self.phone = self._text("phone", 32)
        self.subject = self._text("subject", 255)
        self.body, self.fmt = self._message()
        self.topic = self._topic()
        self.priority = self._priority()
        self.source = SOURCES.get(str(data.get("source") or "api").strip().lower(), "api")
        self.ip = self._ip(caller_ip)
        self.alert = to_bool(data.get("alert"))
        self.autorespond = to_bool(data.get("autorespond"))
        self.files = self._attachments()
        if not self.subject:
            self.errors.setdefault("subject", "Subject is required")
        if not self.body:
            self.errors.setdefault("message", "Message content is required")

    def _text(self, name, limit) -> str:
        value = self.data.get(name)
        if value is None:
            return ""
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            self.errors[name] = "Expected text"
            return ""
        return str(value).replace("\x00", "").strip()[:limit]

    def _email(self) -> str:
        email = self._text("email", 254).lower()
        if not email:
            self.errors["email"] = "Email is required"
            return ""
        try:
            validate_email(email)
        except Exception:
            self.errors["email"] = "Valid email address is required"
        return email

    def _message(self) -> tuple[str, str]:
        value = self.data.get("message")
        if value is None or value == "":
            return "", ThreadEntry.Format.TEXT
        if not isinstance(value, str | Decoded):
            self.errors["message"] = "Expected text"
            return "", ThreadEntry.Format.TEXT
        if isinstance(value, Decoded):
            decoded = value
        else:
            try:
                # plain text (not a data URL) is taken as sent
                decoded = decode_data_url(value) or Decoded("text/plain", value)
            except ValueError as exc:
                self.errors["message"] = str(exc)
                return "", ThreadEntry.Format.TEXT
        fmt = ThreadEntry.Format.HTML if decoded.media == "text/html" else ThreadEntry.Format.TEXT
        return decoded.text().replace("\x00", ""), fmt

    def _id(self, *names) -> tuple[str, int | None]:
        """(the field given, its id): None for a missing or non-numeric value (ignored,
        with a warning, as osTicket does)."""
        for name in names:
            value = self.data.get(name)
            if value in (None, "", 0, "0"):
                continue
            text = str(value).strip()
            if isinstance(value, bool) or not text.isdigit() or len(text) > 18:
                log.warning("API: %s %r ignored (not a numeric id)", name, value)
                return name, None
            return name, int(text)
        return "", None

    def _topic(self):
        name, pk = self._id("topicId")
        if pk is None:
            return None
        # as osTicket: an unknown or inactive topic is ignored (the default topic applies)
        found = HelpTopic.objects.filter(pk=pk, is_active=True).first()
        if found is None:
            log.warning("API: %s %s ignored (no active help topic has it)", name, pk)
        return found

    def _priority(self):
        name, pk = self._id("priority", "priorityId")
        if pk is None:
            return None
        found = Priority.objects.filter(pk=pk).first()
        if found is None:
            log.warning("API: %s %s ignored (no priority has it)", name, pk)
        return found

    def _ip(self, caller_ip: str) -> str | None:
        value = self.data.get("ip")
        if value not in (None, ""):
            try:
                return str(ipaddress.ip_address(str(value).strip()))
            except ValueError:
                log.warning("API: ip %r ignored (not an IP address)", value)
        return caller_ip or None

    def _attachments(self) -> list[NewAttachment]:
        value = self.data.get("attachments") or []
        if not isinstance(value, list):
            self.errors["attachments"] = "Expected a list of {filename: data URL} objects"
            return []
        files = []
        for item in value:
            if not isinstance(item, dict):
                log.warning("API: attachment skipped (not an object)")
                continue
            for filename, url in item.items():
                found = self._file(str(filename), url)
                if found is not None:
                    files.append(found)
        return files

    def _file(self, filename: str, url) -> NewAttachment | None:
        """One file, or None when it is dropped (noted, as osTicket skips a bad file)."""
        try:
            decoded = decode_data_url(url) if isinstance(url, str) else url
        except ValueError:
            decoded = None
        if not isinstance(decoded, Decoded):
            self._drop(filename, None, "not a valid data URL")
            return None
        content = decoded.data()
        limit = limits.max_attachment_bytes()
        if len(content) > limit:
            why: str | None = f"over the size limit of {human_size(limit)}"
        else:
            why = attachment_refusal(filename=filename, content=content, content_type=decoded.media)
        if why:
            self._drop(filename, len(content), why)
            return None
        return NewAttachment(filename=filename, content=content, content_type=decoded.media)

    def _drop(self, filename: str, size: int | None, why: str) -> None:
        dropped = DroppedFile(safe_filename(filename), size, why)
        log.warning("API: attachment dropped: %s", dropped)
        self.dropped.append(dropped)


def check_bounds(data: dict) -> None:
    """The lists of an osTicket body within helpdesk.limits, as in /api/v1/ (an API key
    has an agent's limits): 400 before any work."""
    files = data.get("attachments")
    hard = limits.max_attachments_hard()
    errors = {}
    if isinstance(files, list) and sum(len(f) if isinstance(f, dict) else 1 for f in files) > hard:
        errors["attachments"] = f"At most {hard} files"
    extra = sum(1 for k in data if k not in KNOWN_FIELDS)
    if extra > limits.MAX_CUSTOM_FIELDS:
        errors["fields"] = f"At most {limits.MAX_CUSTOM_FIELDS} custom fields ({extra} given)"
    if errors:
        raise validation_answer(errors)


def validation_answer(errors: dict) -> Answer:
    lines = "\n".join(f"{field}: {message}" for field, message in errors.items())
    return Answer(400, f"Unable to create new ticket: validation errors:\n{lines}")


def create_ticket(actor: ApiKeyActor, req: TicketRequest) -> Ticket:
    """Find or create the requester and open the ticket, in one transaction (a refused
    opening leaves no new requester behind, and the note of dropped files commits with
    the ticket). A known requester and no dropped file: nothing of this request's to
    undo, so the service's own transaction is the only one."""
    if req.ignored:
        log.warning("API: unexpected data ignored: %s", ", ".join(req.ignored))
    requester = user_find_by_email(req.email)
    if requester is not None and not req.dropped:
        return services.ticket_open(actor=actor, new=_new_ticket(req, requester))
    with transaction.atomic():
        if requester is None:
            if not req.name:
                raise validation_answer({"name": "Name is required for a new user"})
            requester = _new_user(actor, req)
        # the key's write scope is checked by the service, where routing sent the ticket
        ticket = services.ticket_open(actor=actor, new=_new_ticket(req, requester))
        if req.dropped:
            note_dropped_files(ticket, req.dropped)
        return ticket


def _new_ticket(req: TicketRequest, requester) -> services.NewTicket:
    return services.NewTicket(
        requester=requester,
        subject=req.subject,
        body=req.body,
        fmt=req.fmt,
        source=req.source,
        topic=req.topic,
        priority=req.priority,
        files=req.files,
        channel="api",
        ip_address=req.ip,
        autorespond=req.autorespond,
        alert=req.alert,
        # keys that are no standard field may be the topic's custom fields (by name);
        # the rest is ignored, as osTicket does
        custom_fields={k: req.data[k] for k in req.ignored},
    )


def note_dropped_files(ticket: Ticket, dropped: list[DroppedFile]) -> None:
    """A system note (agents only, alerting no one) naming each file left out and why,
    in the opening's transaction."""
    services.ticket_post_note(
        actor=SYSTEM,
        ticket=ticket,
        title="Attachments not imported",
        body="Left out of the API request that opened this ticket:\n"
        + "\n".join(f"- {d}" for d in dropped),
        source=ThreadEntry.Source.API,
        channel="api",
        is_system_note=True,
    )


def _new_user(actor, req):
    try:
        with transaction.atomic():
            return account_services.user_create(
                actor=actor, email=req.email, name=req.name, phone=req.phone
            )
    except Conflict:  # created by a concurrent call in between
        found = user_find_by_email(req.email)
        if found is None:
            raise
        return found


@method_decorator(csrf_exempt, name="dispatch")
class TicketsView(View):
    """POST /api/tickets.json and /api/tickets.xml (format from the extension)."""

    http_method_names = ["post"]
    fmt = "json"

    def http_method_not_allowed(self, request, *args, **kwargs):
        return unsupported(request)

    def post(self, request):
        req = None
        try:
            actor = authorize(request, "can_create_tickets")
            throttle(request, actor)
            raw = raw_body(request)
            data = parse_json(raw) if self.fmt == "json" else parse_xml(raw)
            req = TicketRequest(data, client_ip(request))
            if req.errors:
                raise validation_answer(req.errors)
            ticket = create_ticket(actor, req)
        except Answer as answer:
            return plain(answer.status, answer.text)
        except RequestTooLarge:
            return plain(413, "Request body too large")
        except PermissionRefused as exc:
            if exc.code == "rejected":
                return plain(
                    403,
                    f"Unable to create new ticket :Ticket denied: {getattr(req, 'email', '')}\n\n"
                    "This help desk is for use by authorized users only",
                )
            return plain(403, f"Unable to create new ticket: {exc}")
        except ValidationFailed as exc:
            errors = {k: "; ".join(v) for k, v in exc.fields.items()} or {"ticket": str(exc)}
            return plain(400, validation_answer(errors).text)
        except Conflict as exc:
            return plain(400, f"Unable to create new ticket: {exc}")
        except DomainError as exc:
            return plain(exc.status, f"Unable to create new ticket: {exc}")
        return plain(201, ticket.number)


@method_decorator(csrf_exempt, name="dispatch")
class EmailView(View):
    """POST /api/tickets.email: a raw RFC 822 message, parsed by the mail channel."""

    http_method_names = ["post"]

    def http_method_not_allowed(self, request, *args, **kwargs):
        return unsupported(request)

    def post(self, request):
        try:
            actor = authorize(request, "can_create_tickets")
            throttle(request, actor)
            raw = raw_body(request)
        except Answer as answer:
            return plain(answer.status, answer.text)
        except RequestTooLarge:
            return plain(413, "Request body too large")
        if not raw.strip():
            return plain(400, "Unable to read request body")
        try:
            result = ingest(raw, channel="api", api_key=actor)
        except TemporaryFailure as exc:  # the database is down: the sender retries
            response = plain(503, f"Temporary failure, try again later: {exc}")
            response["Retry-After"] = "60"
            return response
        return email_answer(actor, result)


def email_answer(actor: ApiKeyActor, result: IngestResult) -> HttpResponse:
    """osTicket's answers, read by its pipe scripts (automail.php, automail.pl): 201 is
    delivered (exit 0), 400 a bad message (66), 403 denied (77); any other status makes
    them exit 75 and the MTA try again, forever. A message received again answers as it
    did the first time (201 and the number, as osTicket); one dropped on purpose (a mail
    loop, a report about mail outside the key's departments) is delivered too: 201.
    The body is the ticket's number when the key may read the ticket, or the message
    opened it (as the first delivery answered); otherwise empty."""
    status, fresh = result.status, True
    if status == S.DUPLICATE:
        fresh = False
        status = result.original if result.original in EMAIL_OUTCOMES else S.APPENDED
    if status == S.REJECTED:
        reason = result.reason if fresh else "already received and denied"
        return plain(403, f"Ticket denied: {reason}")
    if status == S.PARKED:
        reason = result.reason if fresh else "already received and parked for review"
        return plain(400, f"Unable to create new ticket: {reason}")
    ticket = result.ticket
    shown = ticket is not None and (
        (fresh and status == S.CREATED) or actor.may_read(ticket.department_id)
    )
    return plain(201, ticket.number if shown and ticket is not None else "")


@method_decorator(csrf_exempt, name="dispatch")
class CronView(View):
    """POST /api/tasks/cron: runs every periodic job once, for keys allowed to."""

    http_method_names = ["post"]

    def http_method_not_allowed(self, request, *args, **kwargs):
        return unsupported(request)

    def post(self, request):
        from helpdesk import cron

        try:
            actor = authorize(request, "can_exec_cron")
            throttle(request, actor)
        except Answer as answer:
            return plain(answer.status, answer.text)
        failed = []
        for name in cron.JOBS:
            try:
                cron.run_job(name, via="api")
            except Exception:  # one failing job must not stop the others
                log.exception("cron job %s failed (run through the API)", name)
                failed.append(name)
        if failed:
            return plain(503, f"Cron jobs failed: {', '.join(failed)}")
        return plain(200, "Completed")
