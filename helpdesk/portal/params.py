"""The query strings of the portal's pages, each validated by a form (helpdesk.params):
a malformed, empty or repeated parameter answers 400 with the page and the errors."""

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from helpdesk.params import IdField, PageField, QueryForm

STATES = [("open", gettext_lazy("Open tickets")), ("closed", gettext_lazy("Closed tickets"))]
STATES += [("all", gettext_lazy("All tickets"))]


# The list's columns, each sortable by what it shows (helpdesk.portal.selectors.SORTS);
# "-" first: descending.
SORT_COLUMNS = ["number", "subject", "status", "requester", "updated"]
SORTS = [(key, key) for column in SORT_COLUMNS for key in (column, f"-{column}")]
DEFAULT_SORT = "-updated"


class TicketListParams(QueryForm):
    """My tickets: `state` (open, closed, all), `q` (the search box), `sort` (a column,
    "-" first for descending), `page`."""

    state = forms.ChoiceField(label=gettext_lazy("Show"), choices=STATES, required=False)
    q = forms.CharField(label=gettext_lazy("Subject or number"), required=False, max_length=100)
    sort = forms.ChoiceField(label=gettext_lazy("Sort by"), choices=SORTS, required=False)
    page = PageField()
    blank_ok = frozenset({"q"})


class TopicParams(QueryForm):
    """The open form and its custom fields: `topic`, one of the public topics (the
    topic menu sends `topic=` for none)."""

    topic = IdField(label=gettext_lazy("Help topic"))
    blank_ok = frozenset({"topic"})

    def __init__(self, query, *, topics):
        super().__init__(query)
        self.topics = list(topics)

    def clean_topic(self):
        pk = self.cleaned_data.get("topic")
        if pk is None:
            return None
        found = next((t for t in self.topics if t.pk == pk), None)
        if found is None:
            raise forms.ValidationError(_("No such help topic."), code="invalid_choice")
        return found
