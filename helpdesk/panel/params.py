"""The query strings of the panel's pages, each validated by a form (helpdesk.params):
a malformed, empty or repeated parameter answers 400 with the page and the errors."""

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from helpdesk import keyset as shared_keyset
from helpdesk.params import BAD_CURSOR, CursorField, FlagField, IdField, QueryForm

from .keyset import pick_sort, sort_choices
from .queues import SORTS


class KeysetParams(QueryForm):
    """`cursor` of a keyset-paginated list sorted one fixed way."""

    cursor = CursorField()
    sort_key = ""  # the list's sort as its cursors name it
    sort_field = ""
    sort_numeric = False  # an integer column (panel.keyset.Sort.numeric)

    def clean(self):
        cleaned = super().clean()
        raw = cleaned.get("cursor")
        known = raw and "cursor" not in self.errors and self.sort_key
        if known and self._position(raw) is None:
            self._refuse("cursor", BAD_CURSOR)
        return cleaned

    def _position(self, raw: str):
        return shared_keyset.decode(raw, self.sort_key, self.sort_field, numeric=self.sort_numeric)


class QueueParams(KeysetParams):
    """A queue page (also the advanced search's results): `sort` and `cursor`. A task
    queue's (task_forms.TaskQueueParams) is the same with the task sorts."""

    sorts = SORTS
    sort = forms.ChoiceField(
        label=gettext_lazy("Sort"), choices=sort_choices(SORTS), required=False
    )

    def __init__(self, query, *, default_sort: str):
        super().__init__(query)
        self.default_sort = default_sort

    def sorting(self):
        """(Sort, descending) asked for, or the queue's default when the form is invalid."""
        sort = self.cleaned_data.get("sort") if self.is_valid() else None
        return pick_sort(self.sorts, sort or None, self.default_sort)

    def clean(self):
        sort, descending = pick_sort(self.sorts, self.data.get("sort") or None, self.default_sort)
        self.sort_key, self.sort_field = ("-" if descending else "") + sort.key, sort.field
        self.sort_numeric = sort.numeric
        return super().clean()


class DirectoryParams(KeysetParams):
    """The users' and organizations' directories: `q` (the search box) and `cursor`."""

    q = forms.CharField(label=gettext_lazy("Search"), required=False, max_length=200)
    blank_ok = frozenset({"q"})

    def __init__(self, query, *, sort_key: str, sort_field: str):
        self.sort_key, self.sort_field = sort_key, sort_field
        super().__init__(query)


class QuickSearchParams(QueryForm):
    q = forms.CharField(label=gettext_lazy("Search"), required=False, max_length=200)
    suggest = FlagField(label=gettext_lazy("Suggestions"))
    blank_ok = frozenset({"q"})


class NewTicketParams(QueryForm):
    """The new-ticket page: `user` (a client to open it for) and `topic`."""

    user = IdField(label=gettext_lazy("Client"))
    topic = IdField(label=gettext_lazy("Help topic"))

    def __init__(self, query, *, topics, clients):
        super().__init__(query)
        self.topics, self.clients = topics, clients

    def clean_topic(self):
        pk = self.cleaned_data.get("topic")
        if pk is None:
            return None
        topic = self.topics.filter(pk=pk).first()
        if topic is None:
            raise forms.ValidationError(_("No such help topic."), code="invalid_choice")
        return topic

    def clean_user(self):
        pk = self.cleaned_data.get("user")
        if pk is None:
            return None
        client = self.clients.filter(pk=pk).first() if self.clients is not None else None
        if client is None:
            raise forms.ValidationError(_("No such client."), code="invalid_choice")
        return client


class PrintParams(QueryForm):
    notes = FlagField(label=gettext_lazy("Internal notes"))


class ActionFormParams(QueryForm):
    """An action's form (GET): `inline=1` for a ticket sidebar property's Save/Cancel form."""

    inline = FlagField(label=gettext_lazy("In place"))


class DownloadParams(QueryForm):
    inline = FlagField(label=gettext_lazy("Show in the page"))
