"""Reading an osTicket database (1.10 to 1.18, MySQL or MariaDB), read-only.

One connection, one transaction: `START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY`
at REPEATABLE READ, so every SELECT of a run sees the same moment of a live osTicket,
and nothing is locked or written there. Rows come in batches with keyset paging on
the primary key (`WHERE id > last ORDER BY id LIMIT n`), never OFFSET.

Text is read as the stored bytes (`character_set_results = binary`) and decoded here:
UTF-8 when it is, else Windows-1252 (old installs kept latin1 tables, some holding
UTF-8 bytes, some real latin1 text); each value read the second way is counted.

Before reading a table, the importer asks `require()`: a missing table or column (an
older osTicket, another prefix) is a `SchemaError` naming it, checked against
information_schema, not a traceback halfway through.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

Row = dict[str, Any]

_PREFIX = re.compile(r"^[A-Za-z0-9_]*$")
_NAME = re.compile(r"^[A-Za-z0-9_]+$")
_OFFSET = re.compile(r"^([+-])(\d{1,2}):(\d{2})$")


class SourceError(Exception):
    """The osTicket database cannot be read as asked (bad address, refused, no driver)."""


class SchemaError(SourceError):
    """A table or column the importer reads is missing."""


@dataclass(frozen=True)
class SourceAddress:
    host: str
    port: int
    user: str
    password: str
    database: str

    def __str__(self) -> str:  # never the password
        return f"mysql://{self.user}@{self.host}:{self.port}/{self.database}"


def parse_source(url: str) -> SourceAddress:
    """`mysql://USER:PASS@HOST:3306/DBNAME` (mariadb:// too)."""
    parts = urlsplit(url or "")
    database = unquote(parts.path.lstrip("/"))
    if parts.scheme not in {"mysql", "mariadb"} or not parts.hostname or not database:
        raise SourceError(
            "--source must look like mysql://USER:PASS@HOST:3306/DBNAME "
            f"(got {parts.scheme or 'no scheme'}://{parts.hostname or ''}/{database})."
        )
    try:
        port = parts.port or 3306
    except ValueError as exc:
        raise SourceError(f"--source has a bad port: {exc}.") from exc
    return SourceAddress(
        host=parts.hostname,
        port=port,
        user=unquote(parts.username or "root"),
        password=unquote(parts.password or ""),
        database=database,
    )


def decode(value: bytes, counter: list[int]) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        counter[0] += 1
    try:
        return value.decode("cp1252")
    except UnicodeDecodeError:  # cp1252 leaves five bytes undefined
        return value.decode("latin-1")


def zone(name: str | None) -> dt.tzinfo:
    """osTicket's `db_timezone` (a zone name, an offset like +02:00, or SYSTEM/UTC)."""
    name = (name or "").strip()
    if not name or name.upper() in {"UTC", "GMT", "SYSTEM", "Z"}:
        return dt.UTC
    match = _OFFSET.match(name)
    if match:
        sign, hours, minutes = match.groups()
        delta = dt.timedelta(hours=int(hours), minutes=int(minutes))
        return dt.timezone(-delta if sign == "-" else delta)
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise SourceError(f"osTicket's database time zone {name!r} is not a known zone.") from None


def _datetime_reader(fallback: Callable[[str], Any]) -> Callable[[bytes | str], Any]:
    """DATETIME values as read: ISO parsing, with PyMySQL's own parser (a regular
    expression, the slowest part of reading a row) for what ISO refuses (zero dates)."""

    def read(value: bytes | str) -> Any:
        text = value.decode("ascii") if isinstance(value, bytes | bytearray) else value
        try:
            return dt.datetime.fromisoformat(text)
        except ValueError:
            return fallback(text)

    return read


class Source:
    """A read-only session on one osTicket database."""

    def __init__(self, address: SourceAddress, prefix: str = "ost_") -> None:
        if not _PREFIX.match(prefix):
            raise SourceError(f"--prefix {prefix!r}: letters, digits and _ only.")
        self.address = address
        self.prefix = prefix
        self.legacy_text = [0]  # values that were not UTF-8
        self.tz: dt.tzinfo = dt.UTC
        self._conn: Any = None
        self._columns: dict[str, set[str]] | None = None

    # --- connection -------------------------------------------------------------------

    def open(self) -> None:
        try:
            import pymysql
        except ImportError:  # pragma: no cover - the extra is installed by make
            raise SourceError(
                "The osTicket importer needs PyMySQL: pip install '.[osticket]'."
            ) from None
        conversions = dict(pymysql.converters.conversions)
        read = _datetime_reader(pymysql.converters.convert_datetime)
        conversions[pymysql.constants.FIELD_TYPE.DATETIME] = read
        conversions[pymysql.constants.FIELD_TYPE.TIMESTAMP] = read
        try:
            self._conn = pymysql.connect(
                host=self.address.host,
                port=self.address.port,
                user=self.address.user,
                password=self.address.password,
                database=self.address.database,
                charset="utf8mb4",
                use_unicode=False,
                autocommit=True,
                connect_timeout=10,
                conv=conversions,
            )
        except pymysql.err.MySQLError as exc:
            raise SourceError(f"Cannot connect to {self.address}: {exc.args[-1]}") from None
        with self._conn.cursor() as cursor:
            cursor.execute("SET character_set_results = binary")
            cursor.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            cursor.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.rollback()  # read only: nothing to keep
            finally:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> Source:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- schema ----------------------------------------------------------------------

    def table(self, name: str) -> str:
        if not _NAME.match(name):
            raise ValueError(name)
        return f"`{self.prefix}{name}`"

    def _schema(self) -> dict[str, set[str]]:
        if self._columns is None:
            rows = self.query(
                "SELECT TABLE_NAME AS t, COLUMN_NAME AS c FROM information_schema.COLUMNS"
                " WHERE TABLE_SCHEMA = %s",
                [self.address.database],
            )
            columns: dict[str, set[str]] = {}
            for row in rows:
                name = row["t"]
                if name.startswith(self.prefix):
                    columns.setdefault(name[len(self.prefix) :], set()).add(row["c"].lower())
            self._columns = columns
        return self._columns

    def has(self, table: str, column: str | None = None) -> bool:
        columns = self._schema().get(table)
        if columns is None:
            return False
        return column is None or column.lower() in columns

    def require(self, table: str, columns: Iterable[str] = ()) -> None:
        found = self._schema().get(table)
        if found is None:
            raise SchemaError(
                f"The osTicket table {self.prefix}{table} is missing from database "
                f"{self.address.database} (another --prefix? an osTicket older than 1.10?)."
            )
        missing = [c for c in columns if c.lower() not in found]
        if missing:
            raise SchemaError(
                f"The osTicket table {self.prefix}{table} has no column "
                + ", ".join(f"`{c}`" for c in missing)
                + " (an osTicket older than 1.10, or a changed schema?)."
            )

    # --- reading ----------------------------------------------------------------------

    def query(
        self, sql: str, params: Sequence[Any] = (), *, binary: Iterable[str] = ()
    ) -> list[Row]:
        keep = set(binary)
        with self._conn.cursor() as cursor:
            cursor.execute(sql, list(params) or None)
            names = [d[0].decode() if isinstance(d[0], bytes) else d[0] for d in cursor.description]
            out = []
            for values in cursor.fetchall():
                row: Row = {}
                for name, value in zip(names, values, strict=True):
                    if isinstance(value, bytes | bytearray) and name not in keep:
                        value = decode(bytes(value), self.legacy_text)
                    row[name] = value
                out.append(row)
            return out

    def batches(
        self,
        table: str,
        columns: Sequence[str],
        *,
        key: str = "id",
        where: str = "",
        params: Sequence[Any] = (),
        size: int = 2000,
        binary: Iterable[str] = (),
    ) -> Iterator[list[Row]]:
        """Rows of `table` by ascending `key`, `size` at a time (keyset paging)."""
        self.require(table, [key, *columns])
        select = ", ".join(f"`{c}`" for c in dict.fromkeys([key, *columns]))
        condition = f" AND ({where})" if where else ""
        last: Any = -1
        while True:
            rows = self.query(
                f"SELECT {select} FROM {self.table(table)} WHERE `{key}` > %s{condition}"
                f" ORDER BY `{key}` LIMIT {int(size)}",
                [last, *params],
                binary=binary,
            )
            if not rows:
                return
            yield rows
            last = rows[-1][key]
            if len(rows) < size:
                return

    def ranges(
        self,
        table: str,
        key: str = "id",
        *,
        where: str = "",
        params: Sequence[Any] = (),
        size: int = 2000,
    ) -> Iterator[tuple[Any, Any]]:
        """The `(after, upto]` ranges of `key` holding `size` rows each (the last one
        fewer), in key order, to be read as batches elsewhere: one index probe each."""
        self.require(table, [key])
        condition = f" AND ({where})" if where else ""
        last: Any = -1
        while True:
            rows = self.query(
                f"SELECT `{key}` AS k FROM {self.table(table)} WHERE `{key}` > %s{condition}"
                f" ORDER BY `{key}` LIMIT 1 OFFSET {int(size) - 1}",
                [last, *params],
            )
            if not rows:
                top = self.query(
                    f"SELECT MAX(`{key}`) AS k FROM {self.table(table)}"
                    f" WHERE `{key}` > %s{condition}",
                    [last, *params],
                )
                if top and top[0]["k"] is not None:
                    yield last, top[0]["k"]
                return
            yield last, rows[0]["k"]
            last = rows[0]["k"]

    def count(self, table: str, *, where: str = "", params: Sequence[Any] = ()) -> int:
        self.require(table)
        condition = f" WHERE {where}" if where else ""
        rows = self.query(f"SELECT COUNT(*) AS n FROM {self.table(table)}{condition}", params)
        return int(rows[0]["n"])

    def rows_in(
        self,
        table: str,
        columns: Sequence[str],
        column: str,
        ids: Iterable[Any],
        *,
        where: str = "",
        params: Sequence[Any] = (),
        order: str = "",
        binary: Iterable[str] = (),
    ) -> list[Row]:
        """Rows whose `column` is one of `ids` (one SELECT)."""
        ids = list(dict.fromkeys(ids))
        if not ids:
            return []
        self.require(table, [column, *columns])
        select = ", ".join(f"`{c}`" for c in dict.fromkeys([column, *columns]))
        marks = ", ".join(["%s"] * len(ids))
        condition = f" AND ({where})" if where else ""
        order_by = f" ORDER BY {order}" if order else ""
        return self.query(
            f"SELECT {select} FROM {self.table(table)} WHERE `{column}` IN ({marks})"
            f"{condition}{order_by}",
            [*ids, *params],
            binary=binary,
        )

    # --- values -----------------------------------------------------------------------

    def when(self, value: Any) -> dt.datetime | None:
        """A DATETIME of osTicket (naive, in its database's zone) as an aware UTC time;
        None for NULL and MySQL's zero dates."""
        if not isinstance(value, dt.datetime):
            return None
        return value.replace(tzinfo=self.tz).astimezone(dt.UTC)
