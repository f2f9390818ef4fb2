"""/api/v1/webhooks/: subscriptions and their delivery log (helpdesk admins)."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.errors import NotVisible
from helpdesk.api import bounds
from helpdesk.api.base import ApiMixin
from helpdesk.api.pagination import KeysetPagination
from helpdesk.api.permissions import IsAdmin
from helpdesk.limits import MAX_WEBHOOK_EVENTS

from . import services
from .models import Attempt, Delivery, Subscription

EVENT_CHOICES = ["*", *services.EVENTS]


class SubscriptionSerializer(serializers.ModelSerializer):
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_CHOICES),
        min_length=1,
        max_length=MAX_WEBHOOK_EVENTS,
    )

    class Meta:
        model = Subscription
        fields = ["id", "name", "url", "events", "is_active", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]


class NewSubscriptionSerializer(SubscriptionSerializer):
    secret = serializers.CharField(
        read_only=True, help_text="Key of the X-Helpdesk-Signature HMAC; shown once."
    )

    class Meta(SubscriptionSerializer.Meta):
        fields = [*SubscriptionSerializer.Meta.fields, "secret"]


class AttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = Attempt
        fields = ["number", "status_code", "response_excerpt", "error", "duration_ms", "created_at"]
        read_only_fields = fields


class DeliverySerializer(serializers.ModelSerializer):
    log = AttemptSerializer(many=True, read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "event",
            "event_id",
            "status",
            "attempts",
            "next_attempt_at",
            "last_status_code",
            "last_error",
            "created_at",
            "delivered_at",
            "payload",
            "log",
        ]
        read_only_fields = fields


class IdPagination(KeysetPagination):
    default_orderings = ("id", "-id")


class DeliveryPagination(KeysetPagination):
    default_orderings = ("-created_at", "created_at")


def _valid(serializer):
    return bounds.validate(serializer)  # lists counted first (400), then values (422)


@extend_schema_view(
    list=extend_schema(summary="Webhook subscriptions"),
    retrieve=extend_schema(summary="One subscription"),
)
class WebhookViewSet(
    ApiMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    permission_classes = [IsAdmin]
    serializer_class = SubscriptionSerializer
    pagination_class = IdPagination
    lookup_value_regex = r"[0-9]{1,18}"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return services.subscriptions_visible_to(user=self.request.user)

    def _sub(self, pk) -> Subscription:
        found = self.get_queryset().filter(pk=int(pk)).first()
        if found is None:
            raise NotVisible("Subscription not found.", code="not_found")
        return found

    @extend_schema(
        summary="Subscribe a URL to events (the secret is shown once)",
        request=SubscriptionSerializer,
        responses={201: NewSubscriptionSerializer},
    )
    def create(self, request):
        data = _valid(SubscriptionSerializer(data=request.data))
        sub = services.subscription_create(actor=request.user, **data)
        return Response(NewSubscriptionSerializer(sub).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Change a subscription", responses=SubscriptionSerializer)
    def partial_update(self, request, pk=None):
        sub = self._sub(pk)
        data = _valid(SubscriptionSerializer(sub, data=request.data, partial=True))
        sub = services.subscription_update(actor=request.user, subscription=sub, **data)
        return Response(SubscriptionSerializer(sub).data)

    @extend_schema(summary="Delete a subscription and its log", responses={204: None})
    def destroy(self, request, pk=None):
        services.subscription_delete(actor=request.user, subscription=self._sub(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(summary="Delivery log", responses=DeliverySerializer(many=True))
    @action(
        detail=True,
        methods=["get"],
        pagination_class=DeliveryPagination,
        orderings=("-created_at", "created_at"),
    )
    def deliveries(self, request, pk=None):
        sub = self._sub(pk)
        rows = Delivery.objects.filter(subscription=sub).prefetch_related("log")
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)

    @extend_schema(summary="Send a delivery again", request=None, responses=DeliverySerializer)
    @action(
        detail=True,
        methods=["post"],
        url_path=r"deliveries/(?P<delivery_id>[0-9]{1,18})/redeliver",
    )
    def redeliver(self, request, pk=None, delivery_id=None):
        sub = self._sub(pk)
        delivery = Delivery.objects.filter(subscription=sub, pk=int(delivery_id)).first()
        if delivery is None:
            raise NotVisible("Delivery not found.", code="not_found")
        delivery = services.delivery_redeliver(actor=request.user, delivery=delivery)
        return Response(DeliverySerializer(delivery).data)
