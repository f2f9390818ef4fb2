"""Serializers of the ticket resources: they translate, never decide.

Output serializers shape rows already loaded by selectors; input serializers turn a
body into typed arguments for one service call.
"""

import base64
import binascii
from typing import TYPE_CHECKING, Any, ClassVar

from django.urls import reverse
from rest_framework import serializers

from accounts.actors import is_client
from accounts.models import User
from helpdesk import limits
from helpdesk.limits import MAX_ID
from routing.models import SLA, Department, HelpTopic, Team
from threads.models import Attachment, Collaborator, EntryRevision, ThreadEntry, ThreadEvent
from tickets.models import MergeMode, Priority, Task, Ticket, TicketStatus
from tickets.services import Participants, Signature

from .fields import BoundedDictField, IdListField, comment_field, optional_ref

if TYPE_CHECKING:
    _Serializer = serializers.Serializer[Any]  # what the mixins below are mixed into
else:
    _Serializer = object

# --- small references ------------------------------------------------------------------


# A read-only reference of a few plain attributes (integers and text), answered straight
# from its declared fields' sources: DRF would build and bind field objects for every
# reference, and a page of 25 tickets holds 250 of them. The declared fields stay the
# schema; tests compare the output with DRF's own. A field this cannot answer exactly
# (another type, a dotted source) sends the class back to DRF's own path.
# (Comments, not a docstring: drf-spectacular would publish a docstring in the schema.)
FLAT_TYPES = (serializers.IntegerField, serializers.CharField, serializers.EmailField)


class FlatRef(_Serializer):
    _flat_plan: ClassVar[tuple[tuple[str, str, bool], ...]]

    def to_representation(self, instance):
        cls = type(self)
        plan = cls.__dict__.get("_flat_plan")
        if plan is None:
            plan = cls._flat_plan = _flat_plan(cls._declared_fields)
        if not plan:
            return super().to_representation(instance)
        out = {}
        for name, source, integer in plan:
            value = getattr(instance, source)
            out[name] = None if value is None else int(value) if integer else str(value)
        return out


def _flat_plan(fields) -> tuple:
    plan = []
    for name, field in fields.items():
        source = field.source or name
        if type(field) not in FLAT_TYPES or "." in source or source == "*":
            return ()  # not flat: DRF's own path
        plan.append((name, source, isinstance(field, serializers.IntegerField)))
    return tuple(plan)


class RefSerializer(FlatRef, serializers.Serializer):
    id = serializers.IntegerField(source="pk", read_only=True)
    name = serializers.CharField(read_only=True)


class StatusRefSerializer(RefSerializer):
    state = serializers.CharField(read_only=True)


def absolute_url(context, route: str, **kwargs: Any) -> str:
    """The URL of a route, absolute when the serializer answers a request."""
    path = reverse(route, kwargs=kwargs)
    request = context.get("request")
    return request.build_absolute_uri(path) if request else path


def client_caller(context) -> bool:
    """Is the API caller a client (not an agent, not an API key acting for the helpdesk)?
    Clients get what the portal shows them, no agent internals."""
    request = context.get("request")
    user = getattr(request, "user", None)
    return bool(user is not None and is_client(user))


# What the portal never shows a client about a ticket.
CLIENT_HIDDEN_TICKET_FIELDS = (
    "sla",
    "assignee",
    "team",
    "source",
    "is_overdue",
    "due_at",
    "sla_due_at",
    "effective_due_at",
)


class PersonRefSerializer(FlatRef, serializers.Serializer):
    id = serializers.IntegerField(source="pk", read_only=True)
    name = serializers.CharField(source="display_name", read_only=True)
    email = serializers.EmailField(read_only=True)


class TopicRefSerializer(FlatRef, serializers.Serializer):
    id = serializers.IntegerField(source="pk", read_only=True)
    name = serializers.CharField(source="full_name", read_only=True)


# DRF builds a serializer's fields for every instance: a ModelSerializer's from the
# model, and every serializer deep-copies its declared fields (each field re-created
# from its arguments, which are deep-copied in turn), most of the cost of reading one
# ticket's body or answering with one ticket. Serializers whose fields do not depend
# on the request build them once per class (unbound prototypes, never used
# themselves) and hand each instance a shallow copy of each, which the instance then
# binds to itself: the copy has its own attributes (name, parent, source, its own
# list of validators), shares only what no field changes after __init__ (choices,
# error messages, querysets, which DRF clones before each use). A field holding a
# child (lists, dicts, many-related fields, list serializers) gets a fresh copy of its
# child, bound to it as its __init__ binds it, so no child is shared between two
# instances. A comment, not a docstring: drf-spectacular would publish a docstring as
# the description of every serializer.
class FieldsBuiltOnce(_Serializer):
    _fields_built: ClassVar[dict[str, serializers.Field]]

    def get_fields(self):
        cls = type(self)
        built = cls.__dict__.get("_fields_built")
        if built is None:
            built = super().get_fields()
            cls._fields_built = built
        return {name: fresh_copy(field) for name, field in built.items()}


def fresh_copy(field: serializers.Field) -> serializers.Field:
    """An unbound copy of a prototype field for one serializer instance."""
    new = object.__new__(type(field))  # copy.copy, without its reduce protocol
    state = new.__dict__
    state.update(field.__dict__)
    state.pop("fields", None)  # a serializer's fields (a cached property): its own, later
    validators = state.get("_validators")
    if validators is not None:
        state["_validators"] = list(validators)
    for name in ("child", "child_relation"):  # ListField, DictField, ListSerializer, many=
        child = state.get(name)
        if child is not None:
            state[name] = own = fresh_copy(child)
            own.source = child._kwargs.get("source")  # as before its parent bound it
            own.bind(field_name="", parent=new)  # type: ignore[arg-type]  # a field, as in DRF
    return new


# --- tickets ---------------------------------------------------------------------------


class TicketSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    status = StatusRefSerializer(read_only=True)
    priority = RefSerializer(read_only=True)
    department = RefSerializer(read_only=True)
    topic = TopicRefSerializer(read_only=True, allow_null=True)
    sla = RefSerializer(read_only=True, allow_null=True)
    requester = PersonRefSerializer(read_only=True)
    organization = RefSerializer(read_only=True, allow_null=True)
    assignee = PersonRefSerializer(read_only=True, allow_null=True)
    team = RefSerializer(read_only=True, allow_null=True)
    merged_into: "serializers.SlugRelatedField[Ticket]" = serializers.SlugRelatedField(
        slug_field="number", read_only=True, allow_null=True
    )
    merge_mode = serializers.ChoiceField(
        choices=MergeMode.choices,
        allow_blank=True,
        read_only=True,
        help_text="How this ticket joined `merged_into`; empty without a parent.",
    )
    effective_due_at = serializers.DateTimeField(read_only=True, allow_null=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = Ticket
        fields = [
            "id",
            "number",
            "url",
            "subject",
            "state",
            "status",
            "priority",
            "department",
            "topic",
            "sla",
            "requester",
            "organization",
            "assignee",
            "team",
            "source",
            "language",
            "is_overdue",
            "is_answered",
            "due_at",
            "sla_due_at",
            "effective_due_at",
            "reopen_count",
            "merged_into",
            "merge_mode",
            "created_at",
            "updated_at",
            "closed_at",
            "last_message_at",
            "last_response_at",
            "version",
        ]
        read_only_fields = fields

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if client_caller(self.context):
            for name in CLIENT_HIDDEN_TICKET_FIELDS:
                data.pop(name, None)
        return data

    def get_url(self, obj) -> str:
        return absolute_url(self.context, "api:ticket-detail", number=obj.number)


class AttachmentInSerializer(serializers.Serializer):
    filename = serializers.CharField(max_length=255)
    content_type = serializers.CharField(
        max_length=128, required=False, default="", allow_blank=True
    )
    content = serializers.CharField(
        help_text="The file's bytes, base64-encoded.", trim_whitespace=True
    )

    def validate_content(self, value) -> bytes:
        try:
            return base64.b64decode(value.encode("ascii"), validate=True)
        except (binascii.Error, ValueError, UnicodeError):
            raise serializers.ValidationError("Not valid base64.") from None


class WithAttachments(FieldsBuiltOnce, serializers.Serializer):
    """Files as base64 in JSON (multipart bodies send them as files instead); at most
    the per-message maximum of helpdesk.limits, as the forms allow (clients: the
    portal's setting, checked by the view)."""

    # many=True makes a ListSerializer, which takes max_length (the stubs type __init__)
    attachments = AttachmentInSerializer(many=True, required=False, max_length=1)  # type: ignore[call-arg]

    def get_fields(self):
        fields = super().get_fields()
        # many=True made it a ListSerializer (its max_length is per instance)
        fields["attachments"].max_length = limits.max_attachments_hard()
        return fields


FORMAT_CHOICES = ThreadEntry.Format.choices
SOURCE_CHOICES = [s.value for s in Ticket.Source]


def custom_fields_field(help_text: str) -> BoundedDictField:
    return BoundedDictField(
        child=serializers.CharField(allow_blank=True, max_length=10_000),
        max_length=limits.MAX_CUSTOM_FIELDS,
        required=False,
        help_text=help_text,
    )


def close_tasks_field(**kwargs: Any) -> serializers.BooleanField:
    return serializers.BooleanField(
        help_text="With a closed status: close the ticket's open tasks first, in the same "
        "transaction (needs task.close on each). Without it, open tasks refuse the close: "
        "409 `open_tasks`, whose `tasks` member names them.",
        **kwargs,
    )


class AtLeastOne(serializers.Serializer):
    """A PATCH body: every field optional, but at least one given."""

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError("Give at least one field to change.")
        return attrs


class TicketCreateSerializer(WithAttachments):
    subject = serializers.CharField(max_length=255)
    body = serializers.CharField(help_text="The first message.")
    format = serializers.ChoiceField(choices=FORMAT_CHOICES, default=ThreadEntry.Format.TEXT)
    requester = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True),
        required=False,
        help_text="An existing user (agents and API keys); clients open for themselves.",
    )
    requester_email = serializers.EmailField(
        required=False, help_text="Or the requester's address: found, or created as a client."
    )
    requester_name = serializers.CharField(max_length=128, required=False, default="")
    topic = optional_ref(HelpTopic.objects.filter(is_active=True))
    department = optional_ref(Department.objects.filter(is_active=True))
    priority = optional_ref(Priority.objects.all())
    assignee = optional_ref(User.objects.filter(is_agent=True))
    team = optional_ref(Team.objects.all())
    due_at = serializers.DateTimeField(required=False, allow_null=True)
    # a declared field, which DRF's metaclass takes out of the class: Field.source stays
    source = serializers.ChoiceField(choices=SOURCE_CHOICES, default=Ticket.Source.API)  # type: ignore[assignment]
    collaborators = IdListField(
        queryset=User.objects.filter(is_active=True),
        max_length=limits.MAX_COLLABORATORS,
        required=False,
        help_text="Ids of users copied on the ticket.",
    )
    custom_fields = custom_fields_field("Values of the topic's custom fields, by field name.")
    autorespond = serializers.BooleanField(default=True)
    alert = serializers.BooleanField(default=True)

    def validate(self, attrs):
        if attrs.get("requester") and attrs.get("requester_email"):
            raise serializers.ValidationError(
                {"requester_email": ["Give requester or requester_email, not both."]}
            )
        return attrs


class TicketUpdateSerializer(AtLeastOne):
    """PATCH: each given field is one service call, all in one transaction."""

    subject = serializers.CharField(max_length=255, required=False)
    topic = optional_ref(HelpTopic.objects.all())
    sla = optional_ref(SLA.objects.all())
    requester = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), required=False
    )
    priority = serializers.PrimaryKeyRelatedField(queryset=Priority.objects.all(), required=False)
    status = serializers.PrimaryKeyRelatedField(queryset=TicketStatus.objects.all(), required=False)
    due_at = serializers.DateTimeField(required=False, allow_null=True)
    is_answered = serializers.BooleanField(required=False)
    close_tasks = close_tasks_field(required=False)

    def validate(self, attrs):
        if "close_tasks" in attrs and "status" not in attrs:
            raise serializers.ValidationError({"close_tasks": ["Only with status."]})
        return super().validate(attrs)


# --- actions ---------------------------------------------------------------------------


class AssignSerializer(serializers.Serializer):
    agent = optional_ref(User.objects.filter(is_agent=True))
    team = optional_ref(Team.objects.all())
    comment = comment_field()


class ReleaseSerializer(serializers.Serializer):
    agent = serializers.BooleanField(default=True, help_text="Drop the agent.")
    team = serializers.BooleanField(default=True, help_text="Drop the team.")


class TransferSerializer(serializers.Serializer):
    department = serializers.PrimaryKeyRelatedField(queryset=Department.objects.all())
    comment = comment_field()


class ReferSerializer(serializers.Serializer):
    agent = optional_ref(User.objects.filter(is_agent=True))
    team = optional_ref(Team.objects.all())
    department = optional_ref(Department.objects.all())
    comment = comment_field()


class StatusChangeSerializer(serializers.Serializer):
    status = serializers.PrimaryKeyRelatedField(queryset=TicketStatus.objects.all())
    close_tasks = close_tasks_field(default=False)


class PriorityChangeSerializer(serializers.Serializer):
    priority = serializers.PrimaryKeyRelatedField(queryset=Priority.objects.all())


class DueDateSerializer(serializers.Serializer):
    due_at = serializers.DateTimeField(allow_null=True, help_text="null clears it.")


class AnsweredSerializer(serializers.Serializer):
    answered = serializers.BooleanField()


class MergeSerializer(serializers.Serializer):
    sources = serializers.ListField(
        child=serializers.RegexField(r"^[A-Za-z0-9_-]{1,32}$", max_length=32),
        min_length=1,
        max_length=limits.MAX_BULK_IDS,
        help_text="Numbers of the tickets merged into this one.",
    )
    mode = serializers.ChoiceField(
        choices=MergeMode.choices,
        default=MergeMode.COMBINE,
        help_text="combine: their entries move into this thread; separate: their threads "
        "stay, shown under this one; link: related only, nothing moves (needs ticket.link).",
    )
    participants = serializers.ChoiceField(
        choices=Participants.choices,
        required=False,
        allow_null=True,
        help_text="Who joins this ticket as a collaborator: the sources' requesters and "
        "collaborators (all, the default) or their requesters only. Not for link.",
    )
    child_status = optional_ref(
        TicketStatus.objects.all(),
        help_text="A closed status for the merged tickets (default: the configured closed "
        "status). Not for link.",
    )
    parent_status = optional_ref(
        TicketStatus.objects.all(),
        help_text="An open or closed status for this ticket (default: unchanged). Not for link.",
    )


class UnmergeSerializer(serializers.Serializer):
    status = optional_ref(
        TicketStatus.objects.all(),
        help_text="An open or closed status for the detached ticket (default: the one it had "
        "before the merge). Not for a linked ticket.",
    )


class SplitSerializer(serializers.Serializer):
    entry = serializers.IntegerField(min_value=1, help_text="Id of an entry of this ticket.")
    subject = serializers.CharField(max_length=255)
    requester = optional_ref(
        User.objects.filter(is_active=True),
        help_text="Default: the entry's author when a client wrote it, else this ticket's "
        "requester.",
    )
    department = optional_ref(
        Department.objects.filter(is_active=True),
        help_text="Default: the help topic's, else this ticket's department.",
    )
    topic = optional_ref(HelpTopic.objects.filter(is_active=True))
    priority = optional_ref(Priority.objects.all())
    autorespond = serializers.BooleanField(default=True)
    alert = serializers.BooleanField(default=True)


class LinkSerializer(serializers.Serializer):
    ticket = serializers.RegexField(
        r"^[A-Za-z0-9_-]{1,32}$", max_length=32, help_text="Number of the other ticket."
    )


class CollaboratorInSerializer(serializers.Serializer):
    user = serializers.PrimaryKeyRelatedField(queryset=User.objects.filter(is_active=True))
    role = serializers.ChoiceField(choices=Collaborator.Role.choices, default=Collaborator.Role.CC)


class CollaboratorSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    user = PersonRefSerializer(read_only=True)

    class Meta:
        model = Collaborator
        fields = ["user", "role", "is_active", "created_at"]
        read_only_fields = fields

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if client_caller(self.context):  # other people's addresses are not a client's
            data["user"] = {"name": data["user"]["name"]}
        return data


# --- thread ----------------------------------------------------------------------------


class AttachmentSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    size = serializers.IntegerField(source="file.size", read_only=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = Attachment
        fields = ["id", "filename", "content_type", "size", "inline", "content_id", "url"]
        read_only_fields = fields

    def get_url(self, obj) -> str:
        return absolute_url(self.context, "api:attachment-download", pk=obj.pk)


class EntrySerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    poster = PersonRefSerializer(read_only=True, allow_null=True)
    attachments = AttachmentSerializer(many=True, read_only=True, source="attachment_list")

    class Meta:
        model = ThreadEntry
        fields = [
            "id",
            "kind",
            "poster",
            "poster_name",
            "title",
            "format",
            "body_html",
            "body_text",
            "source",
            "is_system",
            "created_at",
            "edited_at",
            "attachments",
        ]
        read_only_fields = fields

    def to_representation(self, instance):
        data = super().to_representation(instance)
        poster = instance.poster if instance.poster_id else None
        if poster is not None and poster.is_agent and client_caller(self.context):
            data["poster"] = {"name": data["poster"]["name"]}  # agents: by name only
        return data


class EntryEditSerializer(serializers.Serializer):
    body = serializers.CharField(
        max_length=100_000, help_text="The new text, in the entry's own format (`format`)."
    )
    title = serializers.CharField(
        required=False,
        allow_null=True,
        default=None,
        allow_blank=True,
        max_length=255,
        help_text="An internal note's (or a task update's) title; left out: kept.",
    )
    resend = serializers.BooleanField(
        required=False,
        default=False,
        help_text="A ticket's response was mailed to the client: it is only edited with "
        "`resend` (osTicket's 'edit and resend', which needs ticket.reply).",
    )


class RevisionSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    written_by = PersonRefSerializer(read_only=True, allow_null=True)
    replaced_by = PersonRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = EntryRevision
        fields = [
            "id",
            "title",
            "format",
            "body_html",
            "body_text",
            "written_by",
            "written_by_name",
            "written_at",
            "replaced_by",
            "replaced_at",
        ]
        read_only_fields = fields


# An entry's text and files: a task update as it is, the base of a ticket's entry. (A
# comment: drf-spectacular would publish a docstring as the description of both.)
class EntryBodySerializer(WithAttachments):
    body = serializers.CharField()
    format = serializers.ChoiceField(choices=FORMAT_CHOICES, default=ThreadEntry.Format.TEXT)
    title = serializers.CharField(required=False, default="", allow_blank=True, max_length=255)


class SignatureField(serializers.ChoiceField):
    """A reply's signature; the booleans of the earlier flag read as `mine` and `none`."""

    def to_internal_value(self, data):
        if data is True or data is False:
            return Signature.MINE.value if data else Signature.NONE.value
        return super().to_internal_value(data)


class EntryCreateSerializer(EntryBodySerializer):
    KINDS = ["message", "reply", "note"]

    kind = serializers.ChoiceField(
        choices=KINDS,
        help_text="message: from the client; reply: an agent's response sent to the client; "
        "note: internal.",
    )
    status = optional_ref(
        TicketStatus.objects.all(), help_text="reply only: change the status in the same step."
    )
    cc = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        max_length=limits.MAX_RECIPIENTS,
        required=False,
        allow_null=True,
        help_text="reply only: user ids of the ticket's active collaborators who get the "
        "reply besides the requester (as the panel's 'Also send to'); left out: all of them.",
    )
    signature = SignatureField(
        choices=Signature.choices,
        required=False,
        default=Signature.NONE,
        help_text="reply only: append no signature (`none`), the agent's (`mine`) or the "
        "ticket's department's (`dept`, a public department's), as the panel's choice. "
        "`true` and `false` are still read as `mine` and `none`.",
    )


class EventSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    actor = PersonRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = ThreadEvent
        fields = ["id", "kind", "actor", "actor_label", "channel", "data", "created_at"]
        read_only_fields = fields


# --- tasks -----------------------------------------------------------------------------


class TaskSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    department = RefSerializer(read_only=True)
    assignee = PersonRefSerializer(read_only=True, allow_null=True)
    team = RefSerializer(read_only=True, allow_null=True)
    ticket: "serializers.SlugRelatedField[Ticket]" = serializers.SlugRelatedField(
        slug_field="number",
        read_only=True,
        allow_null=True,
        help_text="The number of the ticket it belongs to; null for a standalone task.",
    )
    created_by = PersonRefSerializer(
        read_only=True, allow_null=True, help_text="The agent who created it (null: a key)."
    )
    url = serializers.SerializerMethodField()
    ticket_url = serializers.SerializerMethodField()
    custom_fields = serializers.SerializerMethodField()

    class Meta:
        model = Task
        fields = [
            "id",
            "number",
            "url",
            "title",
            "state",
            "department",
            "assignee",
            "team",
            "ticket",
            "ticket_url",
            "due_at",
            "is_overdue",
            "created_by",
            "created_at",
            "updated_at",
            "closed_at",
            "version",
            "custom_fields",
        ]
        read_only_fields = fields

    def get_url(self, obj) -> str:
        return absolute_url(self.context, "api:task-detail", number=obj.number)

    def get_ticket_url(self, obj) -> str | None:
        if obj.ticket_id is None:
            return None
        return absolute_url(self.context, "api:ticket-detail", number=obj.ticket.number)

    def get_custom_fields(self, obj) -> dict[str, str]:
        """Values of the task form's fields, by field name."""
        return {value.field.name: value.value for value in obj.field_values.all()}


class TaskCreateSerializer(WithAttachments):
    title = serializers.CharField(max_length=255)
    description = serializers.CharField(
        required=False,
        default="",
        allow_blank=True,
        help_text="The first entry of the task's thread (internal, as every task entry).",
    )
    format = serializers.ChoiceField(choices=FORMAT_CHOICES, default=ThreadEntry.Format.TEXT)
    department = optional_ref(
        Department.objects.all(),
        help_text="Default: the ticket's department, else the settings' default task department.",
    )
    assignee = optional_ref(User.objects.filter(is_agent=True))
    team = optional_ref(Team.objects.all())
    due_at = serializers.DateTimeField(required=False, allow_null=True)
    custom_fields = custom_fields_field("Values of the task form's fields, by field name.")


class TicketTaskCreateSerializer(TaskCreateSerializer):
    entry = serializers.IntegerField(
        min_value=1,
        max_value=MAX_ID,
        required=False,
        help_text='Id of an entry of this ticket (osTicket\'s "Create task" on an entry): '
        "its text and files become the description unless one is given.",
    )


class TaskUpdateSerializer(AtLeastOne):
    """PATCH: one task_edit call."""

    title = serializers.CharField(max_length=255, required=False)
    due_at = serializers.DateTimeField(required=False, allow_null=True, help_text="null clears it.")
    custom_fields = custom_fields_field("Values of the task form's fields, by field name.")


class CommentSerializer(serializers.Serializer):
    comment = comment_field()
