"""helpdesk.display.html_format / html_of write what Django's format_html /
conditional_escape write (the panel's rows and thread entries use them for speed)."""

import pytest
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy

from helpdesk.display import html_format, html_of

VALUES = [
    "plain",
    "<script>alert('x')</script>",
    'a "quoted" & <b>bold</b>',
    mark_safe("<em>already safe</em>"),
    gettext_lazy("Subject"),
    42,
    None,
    3.5,
    "",
    "é ü ß 日本",
]


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_html_of_is_conditional_escape(value):
    assert html_of(value) == conditional_escape(value)


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_html_format_is_format_html(value):
    template = '<a href="{}" title="{}">{}</a>'
    made = html_format(template, value, value, value)
    assert made == format_html(template, value, value, value)
    assert isinstance(made, SafeString)
