"""Serializers that build their fields once per class (helpdesk.api.serializers.
FieldsBuiltOnce): each instance gets its own bound copies, so two instances alive at
once (two requests in two threads of one process) share no state and report their
own errors."""

import base64
import threading

from django.db.models import QuerySet
from django.utils.functional import Promise
from rest_framework import serializers

from helpdesk.api.serializers import FieldsBuiltOnce, TicketCreateSerializer


def body(**extra):
    return {"subject": "VPN down", "body": "Since 9am.", "requester_email": "a@b.test", **extra}


def test_two_instances_have_their_own_bound_fields(db):
    first = TicketCreateSerializer(data=body())
    second = TicketCreateSerializer(data=body())

    assert first.fields and "_fields_built" in TicketCreateSerializer.__dict__
    for name in first.fields:
        one, two = first.fields[name], second.fields[name]
        assert one is not two, name
        assert one.parent is first and two.parent is second, name
        assert one.field_name == two.field_name == name
        assert one.validators is not two.validators, name
    files_one, files_two = first.fields["attachments"], second.fields["attachments"]
    assert files_one.child is not files_two.child
    assert files_one.child.parent is files_one and files_two.child.parent is files_two
    prototype = TicketCreateSerializer._fields_built["subject"]
    assert getattr(prototype, "parent", None) is None  # the prototypes stay unbound


def test_interleaved_validations_keep_their_own_data_and_errors(db):
    good = TicketCreateSerializer(data=body(attachments=[_file("a.txt")]))
    bad = TicketCreateSerializer(
        data=body(subject="x" * 300, requester_email="nope", attachments=[{"filename": "b"}])
    )
    good.fields, bad.fields  # noqa: B018  both built before either validates

    assert not bad.is_valid()
    assert good.is_valid(), good.errors
    again = TicketCreateSerializer(data=body(format="rtf"))
    assert not again.is_valid()

    assert set(bad.errors) == {"subject", "requester_email", "attachments"}
    assert bad.errors["attachments"] == {0: {"content": ["This field is required."]}}
    assert good.validated_data["subject"] == "VPN down"
    assert good.validated_data["attachments"][0]["content"] == b"hello"
    assert set(again.errors) == {"format"}
    assert TicketCreateSerializer(data=body()).is_valid()


def test_instances_in_threads_answer_for_their_own_body(db):
    results: dict[int, object] = {}
    barrier = threading.Barrier(8)

    def run(i):
        serializer = TicketCreateSerializer(
            data=body(subject=f"T{i}") if i % 2 else body(subject="", requester_email="x")
        )
        barrier.wait()
        results[i] = (
            serializer.validated_data["subject"]
            if serializer.is_valid()
            else (sorted(serializer.errors))
        )

    threads = [threading.Thread(target=run, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    for i in range(8):
        assert results[i] == (f"T{i}" if i % 2 else ["requester_email", "subject"]), i


def _file(name):
    return {"filename": name, "content": base64.b64encode(b"hello").decode()}


def _state(value, depth=0):
    """A field's state, comparable between two copies (parents left out: each its own)."""
    if isinstance(value, serializers.Field):
        return {
            key: _state(item, depth + 1)
            for key, item in vars(value).items()
            if key not in ("parent", "_context", "fields", "_creation_counter")
        }
    if isinstance(value, QuerySet):
        return ("queryset", str(value.query))
    if isinstance(value, list | tuple):
        return [_state(item, depth + 1) for item in value]
    if isinstance(value, dict):
        return {key: _state(item, depth + 1) for key, item in value.items()}
    if isinstance(value, str | int | float | bool | type(None) | type):
        return value
    if isinstance(value, Promise):
        return str(value)
    if hasattr(value, "__dict__") and depth < 8:  # a validator, a regex holder: by state
        return (type(value).__name__, _state(vars(value), depth + 1))
    return (type(value).__name__, str(value))  # lazy messages: their text


def test_the_copies_are_what_drf_builds_for_each_instance(db):
    """Given the create serializer (lists, dicts, a list serializer, related fields),
    then each instance's fields have the state DRF's own deep copies have, children
    included, each child bound to its own parent."""
    ours = TicketCreateSerializer(data=body())
    theirs = TicketCreateSerializer(data=body())
    drf_fields = super(FieldsBuiltOnce, theirs).get_fields()
    drf_fields["attachments"].max_length = ours.fields["attachments"].max_length
    for name, field in drf_fields.items():
        field.bind(field_name=name, parent=theirs)
        assert _state(ours.fields[name]) == _state(field), name
        for attr in ("child", "child_relation"):
            if hasattr(field, attr):
                child, drf_child = getattr(ours.fields[name], attr), getattr(field, attr)
                assert child.parent is ours.fields[name], name
                assert (child.field_name, child.source) == (drf_child.field_name, drf_child.source)
