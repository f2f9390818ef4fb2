"""The one place where refusals of the services become what an agent sees.

Services raise `accounts.errors.DomainError` subclasses. In the panel:
- `NotVisible` becomes a 404 (nothing leaks about tickets of other departments);
- a permission refusal is about the action, not the input: a flash message;
- any other refusal becomes a form error (on the named fields when the form has them,
  and on the form as a whole) or, without a form, a flash message;
- its HTTP status (403, 409, 412, 422) is the status of the page that shows it.
"""

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from django.contrib import messages
from django.http import Http404
from django.utils.translation import gettext as _

from accounts.errors import DomainError, NotVisible, PermissionRefused

# Codes whose message we say in the agent's language, with what to do next.
FRIENDLY = {
    "stale_version": lambda: _(
        "The ticket changed while you were writing. Read the latest changes below, then "
        "submit again: your text is kept."
    ),
    "no_trash_status": lambda: _(
        "No deleted status is configured, so tickets cannot be moved to the trash. A "
        "helpdesk admin can add a status in the deleted state."
    ),
}
# The same, on the task pages.
TASK_FRIENDLY = {
    "stale_version": lambda: _(
        "The task changed while you were writing. Read the latest changes below, then submit again."
    ),
}


class Outcome(NamedTuple):
    ok: bool
    value: Any = None
    error: DomainError | None = None

    @property
    def status(self) -> int:
        if self.ok or self.error is None:  # a refusal always carries its error
            return 200
        return self.error.status


def message_for(exc: DomainError, friendly: Mapping[str, Callable[[], str]] = FRIENDLY) -> str:
    said = friendly.get(exc.code)
    return said() if said else exc.message


def report(
    request, exc: DomainError, *, form=None, friendly: Mapping[str, Callable[[], str]] = FRIENDLY
) -> None:
    """Show a refusal on the form (fields it names, else the whole form) or as a message."""
    if isinstance(exc, NotVisible):
        raise Http404(exc.message)
    text = message_for(exc, friendly)
    if form is None or isinstance(exc, PermissionRefused):
        messages.error(request, text)
        return
    for field, errors in (exc.fields or {}).items():
        if field in form.fields:
            for error in errors:
                form.add_error(field, error)
    form.add_error(None, text)


def attempt(
    request,
    call: Callable[[], Any],
    *,
    form=None,
    friendly: Mapping[str, Callable[[], str]] = FRIENDLY,
) -> Outcome:
    """Run a service call; a refusal is reported (see `report`) and returned, never raised."""
    try:
        return Outcome(True, call())
    except NotVisible as exc:
        raise Http404(exc.message) from None
    except DomainError as exc:
        report(request, exc, form=form, friendly=friendly)
        return Outcome(False, None, exc)
