"""A form's own copy of one of its declared fields, with the type it was declared with.

`form.fields[name]` is a plain `forms.Field` to a type checker; forms that adjust a
field per request (choices, a queryset, a limit) read it through `field_of()`, which
checks what they get."""

from typing import TypeVar

from django import forms

F = TypeVar("F", bound=forms.Field)


def field_of(form: forms.BaseForm, name: str, kind: type[F]) -> F:
    field = form.fields[name]
    if not isinstance(field, kind):
        raise TypeError(f"{type(form).__name__}.{name} is not a {kind.__name__}")
    return field
