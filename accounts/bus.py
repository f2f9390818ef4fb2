"""The one helper for side effects after commit.

Signals of the domain (our published bus, see docs/signals.md) are sent only once the
surrounding transaction commits: a rolled-back change sends nothing, a committed one
always sends. It lives in `accounts` because that is the innermost app, importable by
every other one.
"""

from collections.abc import Callable
from functools import partial

from django.db import transaction
from django.dispatch import Signal


def send_on_commit(signal: Signal, sender, **kwargs) -> None:
    # robust: a failing receiver is logged and cannot stop the ones after it.
    transaction.on_commit(partial(signal.send, sender=sender, **kwargs), robust=True)


def on_commit(func: Callable[[], object]) -> None:
    transaction.on_commit(func, robust=True)
