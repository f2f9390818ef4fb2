"""Models whose rows are cached, and querysets that announce their bulk writes.

A model whose rows a process keeps (the configuration snapshot, tickets.config) is
declared with the `@cached_rows` class decorator. The cache connects its invalidation
to every model registered here (`cached_models()`), so there is no list to keep by hand,
and it refuses to keep a row of a model that is not registered.

Model signals (post_save, post_delete) miss `QuerySet.update()`, `bulk_create()` and
`bulk_update()`. A registered model therefore uses WatchedQuerySet as its default and
base manager (checked by `check_cached_models()`; derive it from the abstract
`WatchedModel`, below), which sends `rows_changed` after each such write, so a cache that
watches saves and deletes also sees them. The base manager matters too: Django's own bulk
writes (`on_delete=SET_NULL`, a reverse relation's `add()`) go through it.
"""

from collections.abc import Iterable
from typing import Any, TypeVar

from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.dispatch import Signal

rows_changed = Signal()  # sender: the model class

_cached: list[type[models.Model]] = []
M = TypeVar("M", bound=type[models.Model])
_M = TypeVar("_M", bound=models.Model)


def cached_rows(model: M) -> M:
    """Class decorator: rows of this model may be cached (tickets.config); any write to
    it, one row or in bulk, gives the configuration a new version."""
    if model not in _cached:
        _cached.append(model)
    return model


def cached_models() -> tuple[type[models.Model], ...]:
    return tuple(_cached)


def is_cached_model(model: type[models.Model]) -> bool:
    return model._meta.concrete_model in _cached


def check_cached_models() -> None:
    """Every registered model writes in bulk through a WatchedQuerySet (default and base
    manager), or its bulk writes would not be seen: raised at start-up, not found later."""
    for model in _cached:
        for role, manager in (("default", model._default_manager), ("base", model._base_manager)):
            # the queryset the manager's bulk writes run on (get_queryset() runs no query)
            if not isinstance(manager.get_queryset(), WatchedQuerySet):
                raise ImproperlyConfigured(
                    f"{model._meta.label} is cached (@cached_rows) but its {role} manager does "
                    "not use accounts.watched.WatchedQuerySet: its bulk writes would go "
                    "unnoticed. Set `objects = WatchedQuerySet.as_manager()` and "
                    "Meta.base_manager_name = 'objects'."
                )


class WatchedQuerySet(models.QuerySet[_M]):
    """The overrides keep `alters_data` (templates never call them): Django's QuerySet
    copies it onto overriding methods (django.db.models.utils.AltersData)."""

    def update(self, **kwargs: Any) -> int:
        count = super().update(**kwargs)
        if count:
            rows_changed.send(sender=self.model)
        return count

    def bulk_create(self, objs: Iterable[_M], *args: Any, **kwargs: Any) -> list[_M]:
        created = super().bulk_create(objs, *args, **kwargs)
        if created:
            rows_changed.send(sender=self.model)
        return created

    def bulk_update(
        self, objs: Iterable[_M], fields: Iterable[str], *args: Any, **kwargs: Any
    ) -> int:
        count = super().bulk_update(objs, fields, *args, **kwargs)
        if count:
            rows_changed.send(sender=self.model)
        return count


class WatchedModel(models.Model):
    """The base of a model declared @cached_rows: WatchedQuerySet as its default and base
    manager. A subclass with a Meta of its own derives it from `WatchedModel.Meta`."""

    objects = WatchedQuerySet.as_manager()

    class Meta:
        abstract = True
        # Django's own bulk writes (on_delete=SET_NULL, related add()) use it too
        base_manager_name = "objects"
