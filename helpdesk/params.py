"""Query strings of pages (panel, portal, knowledge base), validated by a form.

Every list page reads its GET parameters through a `QueryForm`: a malformed value
(`sort=bogus`, `page=abc`, `state=maybe`, a date that does not exist or lies outside
what the database can store, a cursor we did not make), an empty value, or a
single-valued parameter given twice makes the page answer **400**, still a usable page
with the errors shown above it; never a 500 and never a silent default. (The API has the
same rule with problem documents: `helpdesk/api/filters.py`.)

Two exceptions, on purpose:
- the fields of a search form (`blank_ok`): browsers send every field of a GET form,
  the empty ones too, so an empty field means "not this criterion";
- parameters a page does not know are ignored: links from elsewhere carry their own
  (`utm_source`, ...), and a page has no filter they could silently drop.
"""

import datetime as dt

from django import forms
from django.core.paginator import EmptyPage
from django.http import HttpResponseBadRequest
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_stubs_ext import StrOrPromise

from .limits import MAX_ID

# The calendar days whose start and end exist in UTC from every time zone (offsets are
# under a day): a day is turned into [its start, the next day's start) in the viewer's
# zone, and year 1 or 9999 in the wrong zone would overflow (500).
MIN_DAY = dt.date(1, 1, 2)
MAX_DAY = dt.date(9999, 12, 30)
MAX_PAGE = 100_000
MAX_CURSOR = 2000


class QueryForm(forms.Form):
    """A page's query string. Bind it to `request.GET`; `problems()` lists the errors."""

    blank_ok: frozenset[str] = frozenset()  # search-form fields: empty means "not given"

    def __init__(self, query, *args, **kwargs):
        super().__init__(query, *args, **kwargs)

    def clean(self):
        cleaned = super().clean()
        getlist = getattr(self.data, "getlist", None)
        for name, field in self.fields.items():
            values = getlist(name) if getlist else ([self.data[name]] if name in self.data else [])
            many = isinstance(field, forms.MultipleChoiceField)
            if len(values) > 1 and not many:
                self._refuse(name, _("Give this parameter once."))
            elif values and name not in self.blank_ok and not str(values[0]).strip():
                self._refuse(name, _("Give a value, or leave the parameter out."))
        return cleaned

    def _refuse(self, name: str, message: StrOrPromise) -> None:
        if name not in self.errors:
            self.add_error(name, message)

    def given(self, name: str) -> bool:
        return name in self.data

    def problems(self) -> list[str]:
        """The errors as sentences naming the parameter, for the page's error list."""
        out = [str(e) for e in self.non_field_errors()]
        for name, errors in self.errors.items():
            if name == forms.forms.NON_FIELD_ERRORS:
                continue
            label = self.fields[name].label or name
            out.extend(f"{label} ({name}): {error}" for error in errors)
        return out


class DayField(forms.DateField):
    """A calendar day (YYYY-MM-DD) from MIN_DAY to MAX_DAY."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", forms.DateInput(attrs={"type": "date"}))
        super().__init__(**kwargs)

    def validate(self, value):
        super().validate(value)
        if value and not MIN_DAY <= value <= MAX_DAY:
            raise forms.ValidationError(
                _("Give a date from %(first)s to %(last)s.")
                % {"first": MIN_DAY.isoformat(), "last": MAX_DAY.isoformat()},
                code="out_of_range",
            )


class UtcDateTimeField(forms.DateTimeField):
    """A date and time (in the viewer's zone when it has no offset) that exists in UTC,
    where the database keeps it: 9999-12-31 23:59 west of Greenwich would overflow."""

    def to_python(self, value):
        result = super().to_python(value)
        if result is not None:
            try:
                result.astimezone(dt.UTC)
            except OverflowError:
                raise forms.ValidationError(
                    _("Give a date and time from %(first)s to %(last)s.")
                    % {"first": MIN_DAY.isoformat(), "last": MAX_DAY.isoformat()},
                    code="out_of_range",
                ) from None
        return result


def day_in_range(value) -> bool:
    """Is a stored day (an ISO string, as saved queues keep it) one DayField accepts?"""
    try:
        day = dt.date.fromisoformat(str(value))
    except ValueError:
        return False
    return MIN_DAY <= day <= MAX_DAY


class PageField(forms.IntegerField):
    """A page number of a numbered list."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", gettext_lazy("Page"))
        super().__init__(min_value=1, max_value=MAX_PAGE, **kwargs)


class IdField(forms.IntegerField):
    """The id of a row, within the column's range (the view says whether it exists)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(min_value=1, max_value=MAX_ID, **kwargs)


class CursorField(forms.CharField):
    """A keyset cursor as our Next and Previous links give it (decoded by the view,
    which knows the sort)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", gettext_lazy("Page"))
        super().__init__(max_length=MAX_CURSOR, **kwargs)


class FlagField(forms.ChoiceField):
    """A switch given as `1` (absent: off)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(choices=[("1", "1")], **kwargs)

    def clean(self, value):
        return super().clean(value) == "1"


BAD_CURSOR = gettext_lazy("This page link is not valid any more: use the Next and Previous links.")


def page_of(paginator, form: QueryForm, name: str = "page"):
    """The page the form's valid `page` names (the first when absent or when the form
    is invalid); a number past the last page is an error on the form."""
    number = form.cleaned_data.get(name) if form.is_valid() else None
    try:
        return paginator.page(number or 1)
    except EmptyPage:
        form.add_error(
            name,
            _("There is no page %(n)s: the last one is %(last)s.")
            % {"n": number, "last": paginator.num_pages},
        )
        return paginator.page(1)


def query_refused(form: QueryForm) -> HttpResponseBadRequest:
    """A bare 400 naming the bad parameters, for pages that are not lists (a file, the
    print view): nothing else to show."""
    items = format_html_join("", "<li>{}</li>", ((p,) for p in form.problems()))
    body = format_html(
        "<!doctype html><title>{}</title><p>{}</p><ul>{}</ul>",
        _("Bad request"),
        _("The address of this page has values that cannot be used:"),
        items,
    )
    return HttpResponseBadRequest(body)
