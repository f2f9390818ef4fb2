from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from accounts.actors import SYSTEM
from accounts.errors import ValidationFailed
from threads.html import html_to_text, sanitize_html

from . import faq_services
from .forms import faq_values
from .models import CannedAttachment, CannedResponse, Faq, FaqAttachment, FaqCategory


class CannedAttachmentInline(admin.TabularInline):
    model = CannedAttachment
    extra = 0
    readonly_fields = ["file", "filename", "content_type"]


@admin.register(CannedResponse)
class CannedResponseAdmin(admin.ModelAdmin):
    list_display = ["title", "department", "is_active", "updated_at"]
    list_filter = ["is_active", "department"]
    search_fields = ["title", "body_html", "notes"]
    inlines = [CannedAttachmentInline]


# --- knowledge base (the staff panel's /scp/kb/ is the main editor) --------------------


class FaqAdminForm(forms.ModelForm):
    class Meta:
        model = Faq
        fields = [
            "category",
            "question",
            "answer_html",
            "keywords",
            "topics",
            "is_published",
            "is_featured",
            "notes",
        ]

    def clean_answer_html(self):
        answer = self.cleaned_data["answer_html"]
        if not html_to_text(sanitize_html(answer)):
            raise forms.ValidationError(_("This field is required."))
        return answer


class FaqAttachmentInline(admin.TabularInline):
    model = FaqAttachment
    extra = 0
    fields = ["filename", "content_type", "file"]
    readonly_fields = ["filename", "content_type", "file"]

    def has_add_permission(self, request, obj=None):
        return False  # files are added in the staff panel


def _args(form) -> dict:
    return faq_values(form.cleaned_data, answer="answer_html")


@admin.register(Faq)
class FaqAdmin(admin.ModelAdmin):
    """Saves go through kb.faq_services (sanitising, search index, who changed it)."""

    form = FaqAdminForm
    list_display = ["question", "category", "is_published", "is_featured", "updated_at"]
    list_filter = ["is_published", "is_featured", "category"]
    search_fields = ["question", "keywords", "answer_text"]
    list_select_related = ["category", "category__parent"]
    filter_horizontal = ["topics"]
    inlines = [FaqAttachmentInline]

    def save_model(self, request, obj, form, change):
        if change:
            faq_services.faq_update(actor=_actor(request), faq=obj, **_args(form))
            return
        created = faq_services.faq_create(actor=_actor(request), **_args(form))
        obj.pk, obj.answer_html, obj._state.adding = created.pk, created.answer_html, False

    def save_related(self, request, form, formsets, change):
        # the topics were set by the service; only the attachment rows remain
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)


class FaqCategoryAdminForm(forms.ModelForm):
    class Meta:
        model = FaqCategory
        fields = ["name", "parent", "is_public", "description", "notes", "sort"]

    def clean_parent(self):
        parent = self.cleaned_data["parent"]
        try:
            faq_services.faq_category_check_parent(self.instance, parent)
        except ValidationFailed as exc:
            raise forms.ValidationError(exc.message) from None
        return parent


@admin.register(FaqCategory)
class FaqCategoryAdmin(admin.ModelAdmin):
    form = FaqCategoryAdminForm
    list_display = ["__str__", "is_public", "sort", "updated_at"]
    list_filter = ["is_public"]
    search_fields = ["name"]
    list_select_related = ["parent"]

    def save_model(self, request, obj, form, change):
        data = {k: form.cleaned_data[k] for k in FaqCategoryAdminForm.Meta.fields}
        if change:
            faq_services.faq_category_update(actor=_actor(request), category=obj, **data)
            return
        created = faq_services.faq_category_create(actor=_actor(request), **data)
        obj.pk, obj._state.adding = created.pk, False


def _actor(request):
    """Django admin users are helpdesk admins: they act as themselves when they are
    agents, else (a bare superuser) as the system."""
    user = request.user
    return user if getattr(user, "is_agent", False) else SYSTEM
