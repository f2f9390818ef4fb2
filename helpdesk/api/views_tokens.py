"""/api/v1/tokens/: agents create and revoke their personal API tokens (admins: anyone's).
A token is shown once, in the answer to its creation."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

from accounts.apikeys import token_create, token_revoke, tokens_visible_to
from accounts.errors import NotVisible
from accounts.models import AgentToken, User

from . import bounds
from .base import ApiMixin
from .pagination import KeysetPagination
from .permissions import IsAgent, actor_of


class TokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = AgentToken
        fields = [
            "id",
            "name",
            "user",
            "token_prefix",
            "created_at",
            "expires_at",
            "last_used_at",
            "revoked_at",
        ]
        read_only_fields = fields


class TokenCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=128)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)
    user = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_agent=True),
        required=False,
        help_text="Admins only: create a token for another agent.",
    )


class NewTokenSerializer(TokenSerializer):
    token = serializers.CharField(read_only=True, help_text="Shown once; store it now.")

    class Meta(TokenSerializer.Meta):
        fields = [*TokenSerializer.Meta.fields, "token"]
        read_only_fields = fields


class TokenPagination(KeysetPagination):
    default_orderings = ("-created_at", "created_at")


@extend_schema_view(
    list=extend_schema(summary="Your API tokens (admins: every agent's)"),
    retrieve=extend_schema(summary="One token"),
)
class TokenViewSet(
    ApiMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    permission_classes = [IsAgent]
    serializer_class = TokenSerializer
    pagination_class = TokenPagination
    lookup_value_regex = r"[0-9]{1,18}"

    def get_queryset(self):
        return tokens_visible_to(user=self.request.user)

    @extend_schema(
        summary="Create a token (shown once)",
        request=TokenCreateSerializer,
        responses={201: NewTokenSerializer},
    )
    def create(self, request):
        data = bounds.validate(TokenCreateSerializer(data=request.data))
        token, secret = token_create(
            actor=actor_of(request),
            user=data.get("user") or request.user,
            name=data["name"],
            expires_at=data.get("expires_at"),
        )
        answer = {**TokenSerializer(token).data, "token": secret}  # as NewTokenSerializer
        return Response(answer, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Revoke a token", request=None, responses={204: None})
    def destroy(self, request, pk=None):
        token = self.get_queryset().filter(pk=int(pk)).first()
        if token is None:
            raise NotVisible("Token not found.", code="token_not_found")
        token_revoke(actor=actor_of(request), token=token)
        return Response(status=status.HTTP_204_NO_CONTENT)
