"""Forms of the knowledge-base staff pages: raw input to typed arguments for
kb.faq_services (which sanitise the HTML and check the permission)."""

from collections.abc import Mapping
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from helpdesk.portal.forms import MultipleFileField
from routing.models import HelpTopic
from threads.html import html_to_text, sanitize_html

from .models import FaqAttachment, FaqCategory


class _TreeChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.full_name


class _TopicsField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return obj.full_name


def faq_values(data: Mapping[str, Any], *, answer: str = "answer") -> dict[str, Any]:
    """The FAQ's own values for faq_create/faq_update from a FAQ form's cleaned data, the
    staff page's or the Django admin's (`answer`: the field holding the answer)."""
    return {
        "category": data["category"],
        "question": data["question"],
        "answer": data[answer],
        "keywords": data["keywords"],
        "notes": data["notes"],
        "is_published": data["is_published"],
        "is_featured": data["is_featured"],
        "topics": list(data["topics"]),
    }


def _descendant_ids(category: FaqCategory) -> set[int]:
    ids, frontier = {category.pk}, [category.pk]
    while frontier:
        frontier = list(
            FaqCategory.objects.filter(parent_id__in=frontier)
            .exclude(pk__in=ids)
            .values_list("pk", flat=True)
        )
        ids.update(frontier)
    return ids


class FaqCategoryForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=128)
    parent = _TreeChoiceField(
        label=_("Inside"),
        queryset=FaqCategory.objects.select_related("parent"),
        required=False,
        empty_label=_("(top level)"),
    )
    is_public = forms.BooleanField(
        label=_("Public"),
        required=False,
        initial=True,
        help_text=_("Public categories appear in the portal; others are for agents only."),
    )
    description = forms.CharField(
        label=_("Description"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("HTML is allowed; scripts and styles are removed."),
    )
    notes = forms.CharField(
        label=_("Internal notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    sort = forms.IntegerField(label=_("Order"), min_value=0, initial=0)

    def __init__(self, *args, instance: FaqCategory | None = None, **kwargs):
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "name": instance.name,
                "parent": instance.parent_id,
                "is_public": instance.is_public,
                "description": instance.description,
                "notes": instance.notes,
                "sort": instance.sort,
            }
        super().__init__(*args, **kwargs)
        if instance is not None and instance.pk:
            self.fields["parent"].queryset = self.fields["parent"].queryset.exclude(
                pk__in=_descendant_ids(instance)
            )


class FaqForm(forms.Form):
    category = _TreeChoiceField(
        label=_("Category"), queryset=FaqCategory.objects.select_related("parent")
    )
    question = forms.CharField(label=_("Question"), max_length=255)
    answer = forms.CharField(
        label=_("Answer"),
        widget=forms.Textarea(attrs={"rows": 12}),
        help_text=_("HTML is allowed (headings, lists, links, images); it is sanitised."),
    )
    keywords = forms.CharField(
        label=_("Keywords"),
        required=False,
        max_length=255,
        help_text=_("Words people search for that the text does not use."),
    )
    topics = _TopicsField(
        label=_("Help topics"),
        queryset=HelpTopic.objects.select_related("parent").filter(is_active=True),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
        help_text=_("Suggested first to clients opening a ticket under these topics."),
    )
    is_published = forms.BooleanField(
        label=_("Published"),
        required=False,
        help_text=_("Shown in the portal when its category is public."),
    )
    is_featured = forms.BooleanField(
        label=_("Featured"), required=False, help_text=_("Shown on the portal's home page.")
    )
    notes = forms.CharField(
        label=_("Internal notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    attachments = MultipleFileField(label=_("Add attachments"), max_files=10)
    remove_attachments = forms.ModelMultipleChoiceField(
        label=_("Remove attachments"),
        queryset=FaqAttachment.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, instance=None, **kwargs):
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "category": instance.category_id,
                "question": instance.question,
                "answer": instance.answer_html,
                "keywords": instance.keywords,
                "topics": list(instance.topics.values_list("pk", flat=True)),
                "is_published": instance.is_published,
                "is_featured": instance.is_featured,
                "notes": instance.notes,
            }
        super().__init__(*args, **kwargs)
        self.fields["attachments"].set_limit(10)
        if instance is not None and instance.pk:
            self.fields["remove_attachments"].queryset = instance.attachments.all()
        else:
            del self.fields["remove_attachments"]

    def clean_answer(self):
        """Empty once sanitised (only tags, or only a script) is empty: said at once, with
        the other fields' errors, rather than by the service afterwards."""
        answer = self.cleaned_data["answer"]
        if not html_to_text(sanitize_html(answer)):
            raise forms.ValidationError(_("This field is required."))
        return answer
