"""`Percentile(expression, fraction)`: the continuous percentile of a column, as
PostgreSQL's `percentile_cont(fraction) WITHIN GROUP (ORDER BY ...)`; on SQLite the same
arithmetic by an aggregate function registered on each connection (apps.py)."""

import math

from django.db.models import Aggregate, FloatField

SQLITE_FUNCTION = "helpdesk_percentile"


class Percentile(Aggregate):
    name = "Percentile"
    output_field = FloatField()

    def __init__(self, expression, fraction: float, **extra):
        if not 0.0 <= float(fraction) <= 1.0:
            raise ValueError("fraction must be between 0 and 1")
        super().__init__(expression, **extra)
        self.fraction = float(fraction)

    def as_sql(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.get_source_expressions()[0])
        return f"percentile_cont({self.fraction!r}) WITHIN GROUP (ORDER BY {sql})", params

    def as_sqlite(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.get_source_expressions()[0])
        return f"{SQLITE_FUNCTION}({sql}, {self.fraction!r})", params


def percentile_cont(values: list[float], fraction: float) -> float | None:
    """Linear interpolation between the closest ranks (PostgreSQL's percentile_cont)."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


class SqlitePercentile:
    def __init__(self):
        self.values: list[float] = []
        self.fraction = 0.5

    def step(self, value, fraction):
        if value is not None:
            self.values.append(value)
        self.fraction = fraction

    def finalize(self):
        return percentile_cont(self.values, self.fraction)


def register_sqlite(sender, connection, **kwargs) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_aggregate(SQLITE_FUNCTION, 2, SqlitePercentile)
