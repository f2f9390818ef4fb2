"""Template filters of translated content (helpdesk.translations), in the language of
the page: `{% load content %}` then `{{ topic|translated:"name" }}`,
`{{ topic|topic_name }}`, `{{ status|status_name }}` (an agent's view) and
`{{ status|client_status }}` (a client's)."""

from django import template

from helpdesk import translations

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
