from typing import ClassVar, cast

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from accounts.admin_services import SingletonAdmin, admin_actor
from accounts.errors import DomainError

from .models import AccessLink, Invitation, PortalSettings
from .services import access_links_revoke, invitation_create, invitation_validate


@admin.register(PortalSettings)
class PortalSettingsAdmin(SingletonAdmin):
    """One row: registration mode, guests, knowledge base, limits."""

    fieldsets = [
        (None, {"fields": ["registration", "login_required_to_open", "welcome_text"]}),
        (_("Knowledge base"), {"fields": ["kb_enabled", "kb_requires_login"]}),
        (
            _("Links and limits"),
            {
                "fields": [
                    "access_link_hours",
                    "ticket_link_days",
                    "verification_hours",
                    "invitation_days",
                    "max_attachments",
                    "tickets_per_ip_per_hour",
                    "access_links_per_ip_per_hour",
                    "account_mails_per_ip_per_hour",
                ]
            },
        ),
    ]


class InvitationForm(forms.ModelForm[Invitation]):
    request_user: ClassVar[object]  # who asks (set by InvitationAdmin.get_form)

    class Meta:
        model = Invitation
        fields = ["email", "name"]

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        if cleaned.get("email") and self.instance.pk is None:
            try:
                invitation_validate(actor=self.request_user, email=cleaned["email"])
            except DomainError as exc:
                raise forms.ValidationError(exc.message) from None
        return cleaned


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    """Adding an invitation mails it (through portal.services.invitation_create)."""

    form = InvitationForm

    list_display = ["email", "name", "created_at", "expires_at", "accepted_at", "created_by"]
    search_fields = ["email", "name"]
    fields = ["email", "name"]
    readonly_fields = ["created_by", "created_at", "expires_at", "accepted_at", "user"]

    def get_fields(self, request, obj=None):
        return ["email", "name"] if obj is None else ["email", "name", *self.readonly_fields]

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def get_form(self, request, obj=None, change=False, **kwargs):
        # a subclass of self.form (InvitationForm), made by modelform_factory
        form = cast(type[InvitationForm], super().get_form(request, obj, change, **kwargs))
        form.request_user = request.user
        return form

    def save_model(self, request, obj, form, change):
        created = invitation_create(actor=request.user, email=obj.email, name=obj.name)
        obj.pk, obj.token_hash, obj.expires_at = created.pk, created.token_hash, created.expires_at
        obj._state.adding = False


@admin.register(AccessLink)
class AccessLinkAdmin(admin.ModelAdmin):
    """Guests' sign-in links (read-only; revoke them with the action)."""

    list_display = ["ticket", "email", "created_at", "expires_at", "revoked_at", "last_used_at"]
    search_fields = ["email", "ticket__number"]
    list_select_related = ["ticket"]
    readonly_fields = [
        "ticket",
        "user",
        "email",
        "requested_ip",
        "created_at",
        "expires_at",
        "revoked_at",
        "last_used_at",
    ]
    exclude = ["token_hash"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Revoke the selected links"))
    def revoke(self, request, queryset):
        """Through portal.services.access_links_revoke, as when a client leaves a ticket."""
        ids = list(queryset.values_list("pk", flat=True))
        try:
            n = access_links_revoke(actor=admin_actor(request), ids=ids)
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return
        self.message_user(request, _("%(n)d links revoked.") % {"n": n})
