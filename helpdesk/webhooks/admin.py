from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.http import HttpResponseRedirect
from django.utils.translation import gettext_lazy as _

from accounts.admin_services import refused, was_refused
from accounts.errors import DomainError

from . import services
from .addresses import UrlRefused
from .models import Attempt, Delivery, Subscription


class SubscriptionForm(forms.ModelForm):
    url = forms.URLField(max_length=500, assume_scheme="https")

    class Meta:
        model = Subscription
        fields = ["name", "url", "events", "is_active", "secret"]

    def clean_url(self):
        url = self.cleaned_data["url"]
        try:
            services.check_url(url)  # the same rule as the API's (addresses.py)
        except UrlRefused as exc:
            raise forms.ValidationError(str(exc), code="url_refused") from None
        return url


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    form = SubscriptionForm
    list_display = ["name", "url", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "url"]
    # the secret is write-only here (accounts.crypto): never shown, empty keeps it
    readonly_fields = ["created_by", "created_at", "updated_at"]

    def get_exclude(self, request, obj=None):
        return ["secret"] if obj is None else []  # a new one's is made, and shown once

    def save_model(self, request, obj, form, change):
        """Through the webhook services, as the API. A new webhook's signing secret is
        made by the service (unless one is typed) and shown once, here."""
        fields = [n for n in SubscriptionForm.Meta.fields if n in form.cleaned_data]
        values = {name: form.cleaned_data[name] for name in fields}
        secret = values.pop("secret", "")
        if secret:  # write-only: empty keeps the stored secret
            values["secret"] = secret
        try:
            if change:
                services.subscription_update(actor=request.user, subscription=obj, **values)
                return
            with transaction.atomic():
                created = services.subscription_create(
                    actor=request.user,
                    name=values["name"],
                    url=values["url"],
                    events=values["events"],
                    is_active=values["is_active"],
                )
                if secret:
                    services.subscription_update(
                        actor=request.user, subscription=created, secret=secret
                    )
        except DomainError as exc:  # the form checked it; the DNS answer changed since
            refused(request, self, exc)
            return
        obj.pk, obj.created_at = created.pk, created.created_at
        obj._state.adding = False
        self.message_user(
            request,
            _("The signing secret of this webhook, shown once: %(secret)s")
            % {"secret": created.secret},
            messages.WARNING,
        )

    def log_addition(self, request, obj, message):
        return None if was_refused(request) else super().log_addition(request, obj, message)

    def response_add(self, request, obj, post_url_continue=None):
        if was_refused(request):
            return HttpResponseRedirect(request.path)
        return super().response_add(request, obj, post_url_continue)

    def delete_model(self, request, obj):
        services.subscription_delete(actor=request.user, subscription=obj)

    def delete_queryset(self, request, queryset):
        for subscription in queryset:
            services.subscription_delete(actor=request.user, subscription=subscription)


class AttemptInline(admin.TabularInline):
    model = Attempt
    extra = 0
    can_delete = False
    readonly_fields = ["number", "status_code", "response_excerpt", "error", "duration_ms"]


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["event", "subscription", "status", "attempts", "created_at", "delivered_at"]
    list_filter = ["status", "event"]
    search_fields = ["event", "subscription__name", "last_error"]
    readonly_fields = [f.name for f in Delivery._meta.fields]
    inlines = [AttemptInline]

    def has_add_permission(self, request):
        return False
