"""Input fields that keep the API's bounds (helpdesk.limits)."""

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers

from helpdesk.limits import MAX_ID


class IdListField(serializers.ListField):
    """Primary keys of rows of `queryset`, at most `max_length`, resolved with one
    query (DRF's `many=True` related field runs one per id). Unknown ids are named."""

    max_length: int  # always given

    def __init__(self, *, queryset, max_length: int, **kwargs):
        self.queryset = queryset
        kwargs["child"] = serializers.IntegerField(min_value=1, max_value=MAX_ID)
        super().__init__(max_length=max_length, **kwargs)

    def to_internal_value(self, data):
        ids = list(dict.fromkeys(super().to_internal_value(data)))
        if len(ids) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        found = {row.pk: row for row in self.queryset.filter(pk__in=ids)}
        missing = [pk for pk in ids if pk not in found]
        if missing:
            raise serializers.ValidationError(
                f"Unknown ids: {', '.join(map(str, missing[:20]))}.", code="does_not_exist"
            )
        return [found[pk] for pk in ids]

    def to_representation(self, value):
        rows = value.all() if hasattr(value, "all") else value  # a related manager
        return [getattr(item, "pk", item) for item in rows]


class BoundedDictField(serializers.DictField):
    """A dict of at most `max_length` entries (checked before its values)."""

    default_error_messages = {"max_length": "At most {max_length} entries."}

    def __init__(self, *, max_length: int, **kwargs):
        self.max_length = max_length
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, dict) and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return super().to_internal_value(data)


class BoundedDictFieldSchema(OpenApiSerializerFieldExtension):
    target_class = BoundedDictField

    def map_serializer_field(self, auto_schema, direction):
        return {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "maxProperties": self.target.max_length,
        }


def optional_ref(queryset: QuerySet[Any], **kwargs: Any) -> serializers.PrimaryKeyRelatedField[Any]:
    """An optional reference by primary key: left out or null, it is None."""
    return serializers.PrimaryKeyRelatedField(
        queryset=queryset, required=False, allow_null=True, **kwargs
    )


def comment_field() -> serializers.CharField:
    """An action's optional comment, kept in its event."""
    return serializers.CharField(required=False, default="", allow_blank=True, max_length=2000)
