"""Querysets that announce their bulk writes.

Model signals (post_save, post_delete) miss `QuerySet.update()`, `bulk_create()` and
`bulk_update()`. Models whose rows are cached (the configuration, see tickets.config)
use WatchedQuerySet, which sends `rows_changed` after each such write, so a cache that
watches saves and deletes also sees them.
"""

from django.db import models
from django.dispatch import Signal

rows_changed = Signal()  # sender: the model class


class WatchedQuerySet(models.QuerySet):
    def update(self, **kwargs):
        count = super().update(**kwargs)
        if count:
            rows_changed.send(sender=self.model)
        return count

    update.alters_data = True

    def bulk_create(self, objs, *args, **kwargs):
        created = super().bulk_create(objs, *args, **kwargs)
        if created:
            rows_changed.send(sender=self.model)
        return created

    bulk_create.alters_data = True

    def bulk_update(self, objs, fields, *args, **kwargs):
        count = super().bulk_update(objs, fields, *args, **kwargs)
        if count:
            rows_changed.send(sender=self.model)
        return count

    bulk_update.alters_data = True
