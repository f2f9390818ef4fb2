"""Reads shared by the steps of one unit of work (one message in, one event out): the
mail settings and our own addresses are read once per unit, never cached across units
(an admin's change applies to the next message)."""

from collections.abc import Callable
from contextlib import contextmanager
from contextvars import ContextVar

_memo: ContextVar[dict | None] = ContextVar("helpdesk_mail_scope", default=None)


@contextmanager
def unit_of_work():
    token = _memo.set({}) if _memo.get() is None else None
    try:
        yield
    finally:
        if token is not None:
            _memo.reset(token)


def once(key: str, load: Callable):
    memo = _memo.get()
    if memo is None:
        return load()
    if key not in memo:
        memo[key] = load()
    return memo[key]


def mail_settings():
    from .models import MailSettings

    return once("settings", MailSettings.load)
