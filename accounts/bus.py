"""The one helper for side effects after commit, and the hook that makes them durable.

Signals of the domain (our published bus, see docs/signals.md) are sent only once the
surrounding transaction commits: a rolled-back change sends nothing. Services announce
them with `send_on_commit` *inside* their transaction; at that moment the receivers
connected with `connect_in_transaction` run, in the transaction, so the work they
record (outbox rows: notifications, mail, webhooks) commits or rolls back with the
change and a crash or a broker outage after the commit loses nothing. They must be fast
and do no input/output; one that raises rolls the change back (on purpose: its rows
would otherwise be missing). Ordinary receivers still run after commit, each on its
own: one that raises is logged (logger `accounts.bus`, the signal, the receiver and the
traceback) and the others still run (`send_robust`).

It lives in `accounts` because that is the innermost app, importable by every other one.
"""

import logging
import sys
from collections.abc import Callable
from functools import partial
from typing import Any

from django.db import transaction
from django.dispatch import Signal

log = logging.getLogger(__name__)

# The outbox (helpdesk.outbox) registers how durable work is written; accounts cannot
# import it (innermost app), so the dependency is turned around here.
_enqueue: Callable[..., object] | None = None


def set_enqueue(func: Callable[..., object]) -> None:
    global _enqueue
    _enqueue = func


def enqueue(task: Callable[..., object], *args: Any, sealed: bool = False, **kwargs: Any) -> object:
    """Durable after-commit work for any app: `task(*args, **kwargs)` written to the
    outbox in the current transaction, run by a worker or the periodic job, never in the
    request (helpdesk.outbox.services.enqueue). `sealed=True` stores the arguments
    encrypted (secrets: password hashes, live links)."""
    if _enqueue is None:
        raise RuntimeError("No outbox is installed (helpdesk.outbox in INSTALLED_APPS).")
    return _enqueue(task, *args, sealed=sealed, **kwargs)


# signal -> its in-transaction companion (a plain Signal with the durable receivers)
_in_transaction: dict[Signal, Signal] = {}


def connect_in_transaction(
    signal: Signal, receiver: Callable[..., object], *, dispatch_uid: str
) -> None:
    """Run `receiver` inside the announcing transaction (same arguments as `signal`).
    An exception there propagates and rolls the change back, on purpose: the receiver
    writes rows the change must not commit without (its outbox rows). So these are
    called with `Signal.send`, not robustly: a failure stops the receivers after it
    too, since the whole transaction is undone anyway."""
    companion = _in_transaction.setdefault(signal, Signal())
    companion.connect(receiver, weak=False, dispatch_uid=dispatch_uid)


def disconnect_in_transaction(signal: Signal, *, dispatch_uid: str) -> bool:
    companion = _in_transaction.get(signal)
    return bool(companion and companion.disconnect(dispatch_uid=dispatch_uid))


def send_on_commit(signal: Signal, sender: object, **kwargs: Any) -> None:
    """Announce a change from inside its transaction: in-transaction receivers now,
    the signal itself after commit."""
    companion = _in_transaction.get(signal)
    if companion is not None and companion.has_listeners(sender):
        if not transaction.get_connection().in_atomic_block:
            log.error("%r announced outside a transaction: its outbox rows are not atomic", signal)
        companion.send(sender=sender, **kwargs)
    on_commit(partial(send_robust, signal, sender=sender, **kwargs))


def send_robust(
    signal: Signal, sender: object, **kwargs: Any
) -> list[tuple[Callable[..., object], object]]:
    """Send `signal` to every receiver, each on its own: a receiver that raises is
    logged at ERROR (the signal, the receiver, the traceback) and the others still run.
    Returns Django's [(receiver, result or exception), ...]."""
    responses = signal.send_robust(sender=sender, **kwargs)
    for receiver, result in responses:
        if isinstance(result, Exception):
            log.error(
                "Receiver %s of signal %s failed; the other receivers still ran",
                _name(receiver),
                signal_name(signal),
                exc_info=(type(result), result, result.__traceback__),
            )
    return responses


def _name(func: object) -> str:
    return f"{getattr(func, '__module__', '?')}.{getattr(func, '__qualname__', repr(func))}"


def signal_name(signal: Signal) -> str:
    """`module.name` of a signal declared at module level (looked up only when one of
    its receivers failed, so the cost of the search does not matter), else its repr."""
    for module_name, module in list(sys.modules.items()):
        for attr, value in list(getattr(module, "__dict__", {}).items()):
            if value is signal:
                return f"{module_name}.{attr}"
    return repr(signal)


def on_commit(func: Callable[[], object]) -> None:
    """Run `func` after commit; robust: a failure is logged and cannot stop the callbacks
    after it. (Django names the callback in that log line, which a bare functools.partial
    cannot give, so it is wrapped in a named function.)"""

    def after_commit() -> object:
        return func()

    after_commit.__qualname__ = f"after_commit({getattr(func, 'func', func)!r})"
    transaction.on_commit(after_commit, robust=True)
