"""The query strings of the knowledge base's pages (portal and staff), each validated by
a form (helpdesk.params): a malformed, empty or repeated parameter answers 400."""

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from helpdesk.params import IdField, PageField, QueryForm
from helpdesk.portal.params import TopicParams

MAX_QUERY = 200


class SearchParams(QueryForm):
    """The portal's search: `q` (the box, empty shows nothing) and `page`."""

    q = forms.CharField(label=gettext_lazy("Search"), required=False, max_length=MAX_QUERY)
    page = PageField()
    blank_ok = frozenset({"q"})


class SuggestParams(TopicParams):
    """Suggestions while a ticket is written: the subject typed so far (`subject`, or
    `q`) and the chosen `topic` (a public one); the open form sends them empty at first."""

    subject = forms.CharField(label=gettext_lazy("Subject"), required=False, max_length=2000)
    q = forms.CharField(label=gettext_lazy("Search"), required=False, max_length=2000)
    blank_ok = frozenset({"subject", "q", "topic"})


class StaffListParams(QueryForm):
    """The staff list of FAQs: `q` (the box) and `category` (an existing one)."""

    q = forms.CharField(label=gettext_lazy("Search"), required=False, max_length=MAX_QUERY)
    category = IdField(label=gettext_lazy("Category"))
    blank_ok = frozenset({"q"})

    def __init__(self, query, *, categories):
        super().__init__(query)
        self.categories = categories

    def clean_category(self):
        pk = self.cleaned_data.get("category")
        if pk is None:
            return None
        found = self.categories.filter(pk=pk).first()
        if found is None:
            raise forms.ValidationError(_("No such category."), code="invalid_choice")
        return found
