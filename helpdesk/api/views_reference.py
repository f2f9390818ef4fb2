"""Reference resources: users (clients), organizations, agents (read), departments,
teams, help topics, SLAs, statuses, priorities (read for agents and API keys, write
for helpdesk admins) and canned responses (through the kb services)."""

from collections.abc import Callable
from typing import Any, TypeVar

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

from accounts import permissions as perms
from accounts import services as account_services
from accounts.actors import is_agent, is_api_key
from accounts.configuration import DeleteService, SaveService
from accounts.errors import NotVisible, PermissionRefused
from accounts.models import Organization, Role, User
from accounts.selectors import agents_visible_to, clients
from helpdesk import limits
from helpdesk.kb import services as kb_services
from helpdesk.kb.models import CannedResponse
from helpdesk.kb.selectors import canned_visible_to
from routing import services as routing_services
from routing.models import SLA, Department, HelpTopic, Team
from tickets import services as ticket_services
from tickets.customfields import values_by_name, values_prefetch
from tickets.models import CustomForm, Priority, TicketStatus
from tickets.services import people_fields

from . import bounds
from .base import ApiMixin
from .fields import BoundedDictField, IdListField
from .filters import UserFilter
from .pagination import KeysetPagination
from .permissions import IsAgent, IsStaffCaller, ReadStaffWriteAdmin, actor_of

V = TypeVar("V", bound=type)
ID_REGEX = r"[0-9]{1,18}"


class IdPagination(KeysetPagination):
    default_orderings = ("id", "-id")


def _validated(serializer, partial=False):
    return dict(bounds.validate(serializer))


def summaries(
    many: str,
    one: str,
    *,
    a: str = "a",
    create: str = "admins",
    change: str = "admins",
    delete: str | None = "admins",
    unused: bool = True,
) -> Callable[[V], V]:
    """The OpenAPI summaries of a reference resource: list, retrieve, create and change,
    each write naming who may do it, and destroy unless `delete` is None."""
    views = {
        "list": many,
        "retrieve": f"One {one}",
        "create": f"Add {a} {one} ({create})",
        "partial_update": f"Change {a} {one} ({change})",
    }
    if delete is not None:
        which = "an unused" if unused else a
        views["destroy"] = f"Delete {which} {one} ({delete})"
    return extend_schema_view(**{view: extend_schema(summary=text) for view, text in views.items()})


class ConfigViewSet(
    ApiMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Read for agents and API keys; create, update, delete for helpdesk admins."""

    permission_classes = [ReadStaffWriteAdmin]
    pagination_class = IdPagination
    lookup_value_regex = ID_REGEX
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    m2m_fields: tuple[str, ...] = ()
    # The owning app's operations (the Django admin calls the same ones):
    # save_service(actor=, instance=, data=, m2m=) and delete_service(actor=, instance=).
    queryset: QuerySet[Any]
    save_service: SaveService[Any]
    delete_service: DeleteService[Any]

    def get_queryset(self):
        return self.queryset.all()

    def _split(self, data):
        m2m = {k: data.pop(k) for k in self.m2m_fields if k in data}
        return data, m2m

    def _save(self, instance, data, m2m):
        return self.save_service(
            actor=actor_of(self.request), instance=instance, data=data, m2m=m2m
        )

    def create(self, request):
        serializer = self.get_serializer(data=request.data)
        data, m2m = self._split(_validated(serializer))
        instance = self._save(self.queryset.model(), data, m2m)
        return Response(self.get_serializer(instance).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        instance = self.get_object()
        serializer = self.get_serializer(instance, data=request.data, partial=True)
        data, m2m = self._split(_validated(serializer))
        instance = self._save(instance, data, m2m)
        return Response(self.get_serializer(instance).data)

    def destroy(self, request, pk=None):
        self.delete_service(actor=actor_of(request), instance=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- serializers -----------------------------------------------------------------------


class DepartmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Department
        fields = [
            "id",
            "name",
            "parent",
            "manager",
            "sla",
            "email",
            "assign_members_only",
            "is_public",
            "is_active",
            "signature",
        ]
        extra_kwargs = {"manager": {"queryset": User.objects.filter(is_agent=True)}}


class TeamSerializer(serializers.ModelSerializer):
    members = IdListField(
        queryset=User.objects.filter(is_agent=True),
        max_length=limits.MAX_TEAM_MEMBERS,
        required=False,
        help_text="Agent ids.",
    )

    class Meta:
        model = Team
        fields = ["id", "name", "lead", "members", "is_active", "alerts_enabled"]
        extra_kwargs = {"lead": {"queryset": User.objects.filter(is_agent=True)}}


class TopicSerializer(serializers.ModelSerializer):
    full_name = serializers.CharField(read_only=True)

    class Meta:
        model = HelpTopic
        fields = [
            "id",
            "name",
            "full_name",
            "parent",
            "is_public",
            "is_active",
            "department",
            "priority",
            "sla",
            "status",
            "assign_agent",
            "assign_team",
            "disable_autoresponse",
            "sort",
            "notes",
        ]
        extra_kwargs = {"assign_agent": {"queryset": User.objects.filter(is_agent=True)}}


class SLASerializer(serializers.ModelSerializer):
    class Meta:
        model = SLA
        fields = [
            "id",
            "name",
            "grace_hours",
            "schedule",
            "is_transient",
            "alerts_enabled",
            "is_active",
            "notes",
        ]


class StatusSerializer(serializers.ModelSerializer):
    class Meta:
        model = TicketStatus
        fields = [
            "id",
            "name",
            "state",
            "description",
            "allow_reopen",
            "reopen_status",
            "pauses_sla",
            "sort",
        ]


class PrioritySerializer(serializers.ModelSerializer):
    class Meta:
        model = Priority
        fields = ["id", "name", "urgency", "colour", "is_public"]


class AgentSerializer(serializers.ModelSerializer):
    role: "serializers.StringRelatedField[Role]" = serializers.StringRelatedField()

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "name",
            "email",
            "department",
            "role",
            "is_active",
            "is_helpdesk_admin",
            "on_vacation",
        ]
        read_only_fields = fields


class FieldValuesField(BoundedDictField):
    """A user's or an organization's custom field values, {field name: value}: read from
    the prefetched values (tickets.customfields.values_prefetch), written through
    tickets.services.people_fields."""

    def get_attribute(self, instance):
        return values_by_name(instance)


def field_values_field(what: str) -> FieldValuesField:
    return FieldValuesField(
        child=serializers.CharField(allow_blank=True, max_length=10_000),
        max_length=limits.MAX_CUSTOM_FIELDS,
        required=False,
        help_text=f"Values of the {what} fields (custom fields for {what}s, defined by "
        "admins), by field name. On a change only the fields given are set; an unknown "
        "name or a bad value is refused (422, the errors by field name) and nothing is "
        "written.",
    )


class UserSerializer(serializers.ModelSerializer):
    custom_fields = field_values_field("user")

    class Meta:
        model = User
        fields = [
            "id",
            "email",
            "name",
            "phone",
            "organization",
            "is_active",
            "date_joined",
            "custom_fields",
        ]
        read_only_fields = ["id", "date_joined"]


class OrganizationSerializer(serializers.ModelSerializer):
    domains = serializers.ListField(
        child=serializers.CharField(max_length=253),
        max_length=limits.MAX_ORGANIZATION_DOMAINS,
        required=False,
        write_only=True,
    )
    email_domains = serializers.SerializerMethodField()
    custom_fields = field_values_field("organization")

    class Meta:
        model = Organization
        fields = [
            "id",
            "name",
            "sharing",
            "notes",
            "domains",
            "email_domains",
            "manager_agent",
            "manager_team",
            "auto_assign_manager",
            "collab_all_members",
            "collab_primary_contacts",
            "custom_fields",
        ]
        extra_kwargs = {"manager_agent": {"queryset": User.objects.filter(is_agent=True)}}

    def get_email_domains(self, obj) -> list[str]:
        return [d.domain for d in obj.domains.all()]


class CannedSerializer(serializers.ModelSerializer):
    body = serializers.CharField(write_only=True, required=False)

    class Meta:
        model = CannedResponse
        fields = ["id", "title", "body", "body_html", "department", "is_active", "notes"]
        read_only_fields = ["id", "body_html"]


# --- views -----------------------------------------------------------------------------


@summaries("Departments", "department")
class DepartmentViewSet(ConfigViewSet):
    queryset = Department.objects.all()
    serializer_class = DepartmentSerializer
    save_service = staticmethod(routing_services.department_save)
    delete_service = staticmethod(routing_services.department_delete)


@summaries("Teams", "team", unused=False)
class TeamViewSet(ConfigViewSet):
    queryset = Team.objects.prefetch_related("members")
    serializer_class = TeamSerializer
    m2m_fields = ("members",)
    save_service = staticmethod(routing_services.team_save)
    delete_service = staticmethod(routing_services.team_delete)


@summaries("Help topics", "help topic")
class TopicViewSet(ConfigViewSet):
    queryset = HelpTopic.objects.select_related("parent__parent__parent")
    serializer_class = TopicSerializer
    save_service = staticmethod(routing_services.topic_save)
    delete_service = staticmethod(routing_services.topic_delete)


@summaries("SLA plans", "SLA plan", a="an")
class SLAViewSet(ConfigViewSet):
    queryset = SLA.objects.all()
    serializer_class = SLASerializer
    save_service = staticmethod(routing_services.sla_save)
    delete_service = staticmethod(routing_services.sla_delete)


@summaries("Ticket statuses", "status")
class StatusViewSet(ConfigViewSet):
    queryset = TicketStatus.objects.all()
    serializer_class = StatusSerializer
    save_service = staticmethod(ticket_services.ticket_status_save)
    delete_service = staticmethod(ticket_services.ticket_status_delete)
    # ticket_status_save refuses a state change of a status in use: 409 `status_in_use`.


@summaries("Priorities", "priority")
class PriorityViewSet(ConfigViewSet):
    queryset = Priority.objects.all()
    serializer_class = PrioritySerializer
    save_service = staticmethod(ticket_services.priority_save)
    delete_service = staticmethod(ticket_services.priority_delete)


@extend_schema_view(
    list=extend_schema(summary="Agents"), retrieve=extend_schema(summary="One agent")
)
class AgentViewSet(ApiMixin, viewsets.ReadOnlyModelViewSet):
    """Agents: all of them for admins, API keys and `visibility.agents`; otherwise the
    agents who share a department with the caller."""

    permission_classes = [IsStaffCaller]
    serializer_class = AgentSerializer
    pagination_class = IdPagination
    lookup_value_regex = ID_REGEX

    queryset = User.objects.none()

    def get_queryset(self):
        user = self.request.user
        qs = User.objects.filter(is_agent=True).select_related("role")
        if not is_agent(user) and not is_api_key(user):
            return qs.none()
        if is_api_key(user):
            return qs
        return qs.filter(pk__in=agents_visible_to(user=user).values("pk"))


@summaries("Users (clients)", "user", create="user.create", change="user.edit", delete=None)
class UserViewSet(ConfigViewSet):
    """The client directory: agents with `user.dir` (admins always) and API keys."""

    # the clients as people: the "Deleted user" placeholder is nobody (accounts.selectors)
    queryset = clients().prefetch_related(values_prefetch(CustomForm.Scope.USER))
    serializer_class = UserSerializer
    filterset_class = UserFilter
    permission_classes = [IsStaffCaller]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        user = self.request.user
        if is_agent(user) and not perms.has_agent_perm(user, "user.dir"):
            raise PermissionRefused("You need the user.dir permission to browse users.")
        return self.queryset.all()

    def _save(self, instance, data, m2m):
        values = data.pop("custom_fields", None)
        people_fields.user_update_with_fields(
            actor=actor_of(self.request), user=instance, data=data, custom_fields=values
        )
        return self.get_queryset().get(pk=instance.pk)  # the values as written

    def create(self, request):
        data = _validated(self.get_serializer(data=request.data))
        user = people_fields.user_create_with_fields(
            actor=actor_of(request),
            custom_fields=data.get("custom_fields"),
            email=data["email"],
            name=data.get("name", ""),
            phone=data.get("phone", ""),
            organization=data.get("organization"),
        )
        return Response(self.get_serializer(user).data, status=status.HTTP_201_CREATED)


@summaries(
    "Organizations", "organization", a="an", create="org.create", change="org.edit", delete=None
)
class OrganizationViewSet(ConfigViewSet):
    queryset = Organization.objects.prefetch_related(
        "domains", values_prefetch(CustomForm.Scope.ORGANIZATION)
    )
    serializer_class = OrganizationSerializer
    permission_classes = [IsStaffCaller]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        user = self.request.user
        if is_agent(user) and not perms.has_agent_perm(user, "user.dir"):
            raise PermissionRefused("You need the user.dir permission to browse organizations.")
        return super().get_queryset()

    def create(self, request):
        data = _validated(self.get_serializer(data=request.data))
        org = people_fields.organization_create_with_fields(
            actor=actor_of(request),
            custom_fields=data.get("custom_fields"),
            name=data["name"],
            domains=data.get("domains", []),
            sharing=data.get("sharing"),
            notes=data.get("notes", ""),
            settings={k: data[k] for k in account_services.ORGANIZATION_SETTINGS if k in data},
        )
        return Response(self.get_serializer(org).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        instance = self.get_object()
        data = _validated(self.get_serializer(instance, data=request.data, partial=True))
        domains, values = data.pop("domains", None), data.pop("custom_fields", None)
        people_fields.organization_update_with_fields(
            actor=actor_of(request),
            organization=instance,
            data=data,
            domains=domains,
            custom_fields=values,
        )
        return Response(self.get_serializer(self.get_queryset().get(pk=instance.pk)).data)


@summaries(
    "Canned responses the agent may insert",
    "canned response",
    create="canned.manage",
    change="canned.manage",
    delete="canned.manage",
    unused=False,
)
class CannedViewSet(
    ApiMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    permission_classes = [IsAgent]
    serializer_class = CannedSerializer
    pagination_class = IdPagination
    lookup_value_regex = ID_REGEX
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return canned_visible_to(agent=self.request.user)

    def _get(self, pk):
        found = self.get_queryset().filter(pk=int(pk)).first()
        if found is None:
            raise NotVisible("Canned response not found.", code="not_found")
        return found

    def create(self, request):
        data = _validated(self.get_serializer(data=request.data))
        canned = kb_services.canned_create(
            actor=actor_of(request),
            title=data.get("title", ""),
            body=data.get("body", ""),
            department=data.get("department"),
            notes=data.get("notes", ""),
        )
        return Response(self.get_serializer(canned).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        canned = self._get(pk)
        data = _validated(self.get_serializer(canned, data=request.data, partial=True))
        canned = kb_services.canned_update(
            actor=actor_of(request),
            canned=canned,
            title=data.get("title"),
            body=data.get("body"),
            is_active=data.get("is_active"),
            notes=data.get("notes"),
        )
        return Response(self.get_serializer(canned).data)

    def destroy(self, request, pk=None):
        kb_services.canned_delete(actor=actor_of(request), canned=self._get(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)
