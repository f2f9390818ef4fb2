"""State changes the panel owns: preferences, TOTP devices, saved queues, and (until
accounts has a service for it) the agent's own profile fields."""

import datetime as dt
import hashlib
import secrets

import pyotp
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import audit
from accounts.actors import is_agent
from accounts.errors import Conflict, PermissionRefused, ValidationFailed
from accounts.services import PROFILE_FIELDS, agent_profile_update

from .models import AgentPreferences, RecoveryCode, SavedQueue, TotpDevice
from .queues import criteria_problem

PREFERENCE_FIELDS = (
    "language",
    "page_size",
    "notify_new_ticket",
    "notify_new_message",
    "notify_assigned",
    "notify_transferred",
    "notify_overdue",
    "notify_note",
    "notify_task_new",
    "notify_task_activity",
    "notify_task_assigned",
    "notify_task_transferred",
    "notify_task_overdue",
    "sign_replies",
)


def _require_agent(actor) -> None:
    if not is_agent(actor):
        raise PermissionRefused("Only agents use the staff panel.", code="permission_denied")


def profile_update(*, actor, **values) -> None:
    """The agent's own name, signature and time zone (accounts' service) and their
    panel preferences."""
    _require_agent(actor)
    unknown = set(values) - set(PROFILE_FIELDS) - set(PREFERENCE_FIELDS)
    if unknown:
        raise ValidationFailed(f"Unknown profile fields: {', '.join(sorted(unknown))}.")
    with transaction.atomic():
        agent_profile_update(
            actor=actor, agent=actor, **{f: values[f] for f in PROFILE_FIELDS if f in values}
        )
        prefs, _ = AgentPreferences.objects.get_or_create(agent=actor)
        for f in PREFERENCE_FIELDS:
            if f in values:
                setattr(prefs, f, values[f])
        prefs.save()
    actor._panel_prefs = prefs


# --- two-factor authentication (TOTP, RFC 6238) ----------------------------------------------
def totp_begin(*, actor) -> TotpDevice:
    """A new, unconfirmed secret (replacing an unconfirmed one); confirmed devices stay."""
    _require_agent(actor)
    with transaction.atomic():
        device = TotpDevice.objects.select_for_update().filter(agent=actor).first()
        if device is not None and device.is_confirmed:
            raise Conflict("Two-factor authentication is already set up.", code="totp_exists")
        if device is None:
            device = TotpDevice(agent=actor)
        device.secret = pyotp.random_base32()
        device.confirmed_at = None
        device.last_counter = 0
        device.save()
    return device


def _accept(device: TotpDevice, code: str) -> bool:
    """Check a code (one step of clock drift either way), refusing a code used before."""
    code = "".join((code or "").split())
    if not (code.isdigit() and len(code) == 6):
        return False
    totp = pyotp.TOTP(device.secret)
    now = timezone.now()
    for drift in (0, -1, 1):
        at = now.timestamp() + drift * totp.interval
        counter = totp.timecode(dt.datetime.fromtimestamp(at, tz=dt.UTC))
        if counter > device.last_counter and totp.verify(code, for_time=at, valid_window=0):
            device.last_counter = counter
            return True
    return False


def totp_verify(*, agent, code: str, confirm: bool = False) -> bool:
    """True when the code is right (and not replayed); confirms a new device if asked."""
    with transaction.atomic():
        device = TotpDevice.objects.select_for_update().filter(agent=agent).first()
        if device is None or (not confirm and not device.is_confirmed):
            return False
        if not _accept(device, code):
            return False
        enabled = confirm and not device.is_confirmed
        if enabled:
            device.confirmed_at = timezone.now()
        device.save(update_fields=["last_counter", "confirmed_at"])
        if enabled:
            audit.record("account.2fa_enabled", actor=agent, target=agent)
    agent._panel_totp = device
    return True


def totp_disable(*, actor) -> bool:
    """Remove the authenticator and the recovery codes that went with it."""
    _require_agent(actor)
    with transaction.atomic():
        RecoveryCode.objects.filter(agent=actor).delete()
        deleted = TotpDevice.objects.filter(agent=actor).delete()[0] > 0
        if deleted:
            audit.record("account.2fa_disabled", actor=actor, target=actor)
    actor._panel_totp = None
    return deleted


# --- recovery codes: single use, hashed at rest, shown once --------------------------------
RECOVERY_CODES = 10
RECOVERY_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # 32 symbols, no 0/o, 1/l
RECOVERY_LENGTH = 16  # 80 bits, written as four groups of four


def _recovery_normal(code: str) -> str:
    return "".join(c for c in (code or "").lower() if c.isalnum())


def recovery_hash(code: str) -> str:
    return hashlib.sha256(_recovery_normal(code).encode()).hexdigest()


def _recovery_new() -> str:
    raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, RECOVERY_LENGTH, 4))


def recovery_codes_generate(*, actor) -> list[str]:
    """Ten new recovery codes for the agent's confirmed authenticator, replacing any
    earlier ones (used or not). The codes are returned once, to be shown once: only
    their hashes are stored."""
    _require_agent(actor)
    with transaction.atomic():
        device = TotpDevice.objects.select_for_update().filter(agent=actor).first()
        if device is None or not device.is_confirmed:
            raise Conflict(
                "Set up two-factor authentication before recovery codes.", code="totp_missing"
            )
        codes = [_recovery_new() for _ in range(RECOVERY_CODES)]
        RecoveryCode.objects.filter(agent=actor).delete()
        RecoveryCode.objects.bulk_create(
            RecoveryCode(agent=actor, code_hash=recovery_hash(c)) for c in codes
        )
        audit.record("account.recovery_codes_generated", actor=actor, target=actor)
    return codes


def recovery_code_use(*, agent, code: str) -> bool:
    """Spend one of the agent's recovery codes at sign-in: True once per code. One
    conditional UPDATE, so two sign-ins racing with the same code cannot both pass."""
    if len(_recovery_normal(code)) != RECOVERY_LENGTH:
        return False
    confirmed = TotpDevice.objects.filter(agent=agent, confirmed_at__isnull=False)
    spent = (
        RecoveryCode.objects.filter(
            agent=agent, code_hash=recovery_hash(code), used_at__isnull=True
        )
        .filter(agent__in=confirmed.values("agent"))
        .update(used_at=timezone.now())
    )
    if spent == 1:
        audit.record("signin.recovery_code_used", actor=agent, target=agent)
    return spent == 1


# --- saved queues --------------------------------------------------------------------------
def queue_save(
    *, actor, name: str, criteria: dict, columns: list, sort: str, shared: bool, queue=None
) -> SavedQueue:
    """Save an advanced search as a queue. Sharing with every agent is for admins."""
    _require_agent(actor)
    name = " ".join((name or "").split())[:64]
    if not name:
        raise ValidationFailed(
            "A queue needs a name.", fields={"name": ["This field is required."]}
        )
    problem = criteria_problem(criteria)
    if problem:  # it would fail every time it opens
        raise ValidationFailed(problem, code="invalid_criteria")
    if shared and not actor.is_helpdesk_admin:
        raise PermissionRefused(
            "Only admins share queues with every agent.", code="permission_denied"
        )
    if queue is not None and queue.owner_id != actor.pk:
        raise PermissionRefused("This queue belongs to someone else.", code="permission_denied")
    queue = queue or SavedQueue(owner=actor)
    queue.name, queue.criteria, queue.columns = name, criteria, columns
    queue.sort, queue.is_shared = sort, shared
    try:
        with transaction.atomic():
            queue.save()
    except IntegrityError:
        raise Conflict(
            f"You already have a queue named {name!r}.",
            code="queue_exists",
            fields={"name": ["You already have a queue with this name."]},
        ) from None
    return queue


def queue_delete(*, actor, queue: SavedQueue) -> None:
    _require_agent(actor)
    if queue.owner_id != actor.pk and not actor.is_helpdesk_admin:
        raise PermissionRefused("This queue belongs to someone else.", code="permission_denied")
    queue.delete()
