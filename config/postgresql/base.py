"""Django's PostgreSQL backend, reading timestamps with psycopg's C loader.

Django registers its own `timestamptz` loader on every connection (to attach the
database time zone to what it reads); being a subclass of psycopg's pure-Python loader,
it parses each timestamp in Python: about 3.5 microseconds a value on our machine,
against 0.15 for psycopg's C loader, some 2 ms of a page of 50 ticket rows and more on
a long thread. With time zone support on, Django sets the session's TimeZone to the
database time zone when it connects, and psycopg's own loader attaches that zone: the
same aware datetimes (`datetime.timezone.utc` for UTC; tests/test_postgresql_engine.py
compares the two loaders). So with USE_TZ this engine leaves psycopg's own loader on its
connections (the C class when psycopg's C implementation is installed, as
psycopg[binary] does) and registers Django's on a cursor only where Django would: when
the zone wanted is no longer the one the connection was opened with. Without USE_TZ
Django's loader stays: it makes the datetimes naive.
"""

import datetime
from typing import Any, cast

from django.conf import settings
from django.db.backends.postgresql import base
from django.db.backends.postgresql.psycopg_any import register_tzloader
from psycopg import adapt, adapters
from psycopg.pq import Format

TIMESTAMPTZ = adapters.types["timestamptz"].oid


class DatabaseWrapper(base.DatabaseWrapper):
    # the zone psycopg's loader attaches on this connection; None: Django's loader
    _zone: datetime.tzinfo | None = None

    def get_connection_params(self):
        params = super().get_connection_params()
        # psycopg's default loader, as registered when it was imported
        loader = adapters.get_loader(TIMESTAMPTZ, Format.TEXT)
        self._opening_zone = self.timezone if settings.USE_TZ and loader is not None else None
        if self._opening_zone is not None and loader is not None:
            context = adapt.AdaptersMap(params["context"])
            context.register_loader(TIMESTAMPTZ, loader)
            params["context"] = context
        return params

    def get_new_connection(self, conn_params):
        connection = super().get_new_connection(conn_params)
        self._zone = getattr(self, "_opening_zone", None)
        return connection

    def create_cursor(self, name=None):
        if self._zone is None:
            return super().create_cursor(name)
        # as Django's create_cursor makes them, without its look at the loader's zone
        if not name:
            cursor = self.connection.cursor()
        elif self.settings_dict["OPTIONS"].get("server_side_binding") is not True:
            cursor = cast(Any, base).ServerSideCursor(  # (django-stubs: psycopg 2's)
                self.connection, name=name, scrollable=False, withhold=self.connection.autocommit
            )
        else:
            cursor = self.connection.cursor(
                name, scrollable=False, withhold=self.connection.autocommit
            )
        if self.timezone != self._zone:  # the zone changed since the connection opened
            register_tzloader(self.timezone, cursor)
        return cursor
