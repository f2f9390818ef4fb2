"""Dates in the staff panel: `{{ value|when }}` (the one format, in the agent's time
zone, the zone on hover) and `{{ ticket|sla_countdown }}` ("due in 3 h", red once
overdue). The formatting lives in helpdesk.display."""

from django import template
from django.utils.safestring import mark_safe

from helpdesk import display

register = template.Library()


@register.filter
def when(value, empty=""):
    # when_html escapes every value it writes (display.html_format / html_of)
    return mark_safe(display.when_html(value, empty=empty))  # noqa: S308


@register.filter
def sla_countdown(work):
    """A ticket's (or task's) countdown to its effective due date; nothing once closed."""
    if getattr(work, "state", "open") != "open":
        return ""
    due = getattr(work, "effective_due_at", None) or getattr(work, "due_at", None)
    paused = getattr(work, "sla_paused_at", None) is not None
    return display.countdown_html(due, flagged=work.is_overdue, paused=paused)
