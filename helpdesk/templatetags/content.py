"""Template filters of translated content (helpdesk.translations), in the language of
the page: `{% load content %}` then `{{ topic|translated:"name" }}`,
`{{ topic|topic_name }}`, `{{ status|status_name }}` (an agent's view) and
`{{ status|client_status }}` (a client's)."""

from django import template

from accounts.languages import name_of
from helpdesk import translations
from threads.html import html_to_text

register = template.Library()


@register.filter
def translated(obj, field: str) -> str:
    if obj is None:
        return ""
    return translations.translated(obj, field)


@register.filter
def topic_name(topic) -> str:
    return translations.topic_name(topic) if topic is not None else ""


@register.filter
def status_name(status) -> str:
    return translations.status_name(status, for_client=False) if status is not None else ""


@register.filter
def client_status(status) -> str:
    return translations.status_name(status, for_client=True) if status is not None else ""


@register.filter
def language_label(code: str) -> str:
    """A language code as its name in LANGUAGES ("fr" -> "Français (fr)"); "" for none."""
    if not code:
        return ""
    return f"{name_of(code)} ({code})"


@register.filter
def as_text(value: str) -> str:
    """Sanitised HTML as plain text (for a summary of a translated answer)."""
    return html_to_text(value or "")
