"""Read queries compiled once per process, for the hot read paths (README "Read endpoints
against a hello-world").

Building a queryset and compiling it to SQL costs 0.3-0.8 ms of CPU for the queries of the
read endpoints, more than MariaDB takes to answer them. A ``PreparedQuery`` asks the ORM for the
SQL once per database alias and vendor, with a recognisable stand-in for each parameter, and
from then on only substitutes the parameters, runs the SQL and applies the ORM's own column
converters: the rows are exactly what ``queryset.values_list(...)`` gives.

Only what keeps the same SQL for every value can be prepared: single values (``=``, ``<``,
``LIKE`` through ``startswith``/``contains``, which Django escapes in Python before binding, so
those are not preparable: pass the escaped pattern yourself), never ``None`` (it becomes ``IS
NULL``). The one exception is a list of integers for ``__in`` (kind ``ints``): its ``IN (%s)``
is written out with the list's values on each call (integers only, so inlined as decimal text;
never empty: Django would answer an empty ``__in`` without asking the database). A list keeps the database's range
access on an index (``user_id IN (1, 2, 3) AND occurred_at >= ...``), which a subquery or a
correlated subquery per row does not.

``force_index`` names the index MariaDB/MySQL must read the query's table through (``FORCE
INDEX``; other databases plan as before). With a hundred ids in a list, the optimizer estimates
each id's range in every index that could serve it before choosing, and that estimate costs more
than the reads: naming the one index the query was designed for took 20-30 % off MariaDB's CPU
for the leaderboards' values.
"""

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from django.db import connections, router
from django.db.models import QuerySet

# A stand-in per parameter kind: made from the parameter's position, never a value a caller
# passes, and its bound form (what the compiled params hold) is what gets replaced.
_SENTINELS: dict[str, Callable[[int], Any]] = {
    "int": lambda n: -7_310_000_001 - n,
    "str": lambda n: f"\x00prepared parameter {n}\x00",
    "date": lambda n: dt.date(1001 + n, 1, 1),
    "datetime": lambda n: dt.datetime(1001 + n, 1, 1, 0, 0, 1, tzinfo=dt.UTC),
    "ints": lambda n: [-7_310_000_001 - n],
}
# A placeholder in the compiled SQL (``%s``), or a literal percent sign (``%%``).
_PLACEHOLDER_OR_PERCENT = re.compile(r"%[s%]")


def _bound(kind: str, value: Any, connection) -> Any:
    """``value`` as the ORM binds it for a field of this kind."""
    if kind == "date":
        return connection.ops.adapt_datefield_value(value)
    if kind == "datetime":
        return connection.ops.adapt_datetimefield_value(value)
    if kind == "ints":
        return value[0]  # the list's stand-in binds as its one element
    return value


def _with_index(sql: str, queryset: QuerySet, index: str, connection) -> str:
    """``sql`` reading its model's table through ``index`` (MariaDB/MySQL's ``FORCE INDEX``),
    which must be one of the model's declared indexes, on a table the SQL names once."""
    meta = queryset.model._meta
    if index not in {declared.name for declared in meta.indexes}:
        raise ValueError(f"prepared query: {meta.label} declares no index {index!r}")
    table = f"FROM {connection.ops.quote_name(meta.db_table)}"
    if sql.count(table) != 1:
        raise ValueError(f"prepared query: the SQL does not read {meta.db_table} exactly once")
    return sql.replace(table, f"{table} FORCE INDEX ({connection.ops.quote_name(index)})")


class _Compiled:
    def __init__(
        self, build: Callable[..., QuerySet], kinds: dict[str, str], alias: str, force_index: str | None = None
    ) -> None:
        connection = connections[alias]
        stand_ins = {name: _SENTINELS[kind](n) for n, (name, kind) in enumerate(kinds.items())}
        queryset = build(**stand_ins).using(alias)
        compiler = queryset.query.get_compiler(using=alias)
        self.sql, params = compiler.as_sql()
        if force_index is not None and connection.vendor == "mysql":
            self.sql = _with_index(self.sql, queryset, force_index, connection)
        self.params = list(params)
        bound = {name: _bound(kinds[name], value, connection) for name, value in stand_ins.items()}
        self.slots: list[tuple[int, str]] = []
        for position, value in enumerate(self.params):
            for name, stand_in in bound.items():
                if type(value) is type(stand_in) and value == stand_in:
                    self.slots.append((position, name))
        missing = set(kinds) - {name for _, name in self.slots}
        if missing:
            raise ValueError(f"prepared query: parameters {sorted(missing)} are not bound in the SQL")
        # For lists: the SQL cut at each placeholder, so that a call can widen a list's one.
        self.lists = {position for position, name in self.slots if kinds[name] == "ints"}
        self.pieces: list[str] = []
        if self.lists:
            cut = 0
            for match in _PLACEHOLDER_OR_PERCENT.finditer(self.sql):
                if match.group() == "%s":
                    self.pieces.append(self.sql[cut : match.start()])
                    cut = match.end()
            self.pieces.append(self.sql[cut:])
            if len(self.pieces) != len(self.params) + 1:
                raise ValueError("prepared query: the SQL's placeholders do not match its parameters")
        self.col_count = compiler.col_count
        columns = [column for column, _, _ in compiler.select[: self.col_count]]
        self.converters = list(compiler.get_converters(columns).items())


class PreparedQuery:
    """``build(**parameters)`` returns a ``values_list()`` queryset; ``kinds`` names each
    parameter's kind (``int``, ``str``, ``date``, ``datetime``, or ``ints``: a non-empty list of
    integers for ``__in``); ``force_index``, the index MariaDB/MySQL reads the table through.
    ``rows(**parameters)`` gives the queryset's rows as tuples, compiled once per process and
    database. Without ``using`` the rows come from where the database
    router sends the queryset model's reads (a replica, unless the client just wrote), as the
    ORM would have read them."""

    def __init__(self, build: Callable[..., QuerySet], *, force_index: str | None = None, **kinds: str) -> None:
        unknown = set(kinds.values()) - set(_SENTINELS)
        if unknown:
            raise ValueError(f"prepared query: unknown parameter kinds {sorted(unknown)}")
        self._build = build
        self._force_index = force_index
        self._kinds = kinds
        self._compiled: dict[tuple[str, str], _Compiled] = {}
        self._model = None

    def _read_alias(self) -> str:
        if self._model is None:
            stand_ins = {name: _SENTINELS[kind](n) for n, (name, kind) in enumerate(self._kinds.items())}
            self._model = self._build(**stand_ins).model
        return router.db_for_read(self._model)

    def _for(self, alias: str) -> _Compiled:
        key = (alias, connections[alias].vendor)
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compiled[key] = _Compiled(self._build, self._kinds, alias, self._force_index)
        return compiled

    def rows(self, *, using: str | None = None, **values: Any) -> list[tuple]:
        if values.keys() != self._kinds.keys():
            raise TypeError(f"prepared query: expected parameters {sorted(self._kinds)}, got {sorted(values)}")
        if using is None:
            using = self._read_alias()
        compiled = self._for(using)
        connection = connections[using]
        params = list(compiled.params)
        for position, name in compiled.slots:
            value = values[name]
            if value is None:
                raise TypeError(f"prepared query: parameter {name} is None")
            if position in compiled.lists:
                value = list(value)
                if not value or any(type(item) is not int for item in value):
                    raise TypeError(f"prepared query: parameter {name} must be a non-empty list of integers")
                params[position] = value
            else:
                params[position] = _bound(self._kinds[name], value, connection)
        sql = compiled.sql
        if compiled.lists:
            sql, params = _widened(compiled, params)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        count = compiled.col_count
        converters = compiled.converters
        if not converters:
            return [tuple(row[:count]) for row in rows]
        result = []
        for row in rows:
            row = list(row[:count])
            for position, (functions, expression) in converters:
                value = row[position]
                for function in functions:
                    value = function(value, expression, connection)
                row[position] = value
            result.append(tuple(row))
        return result


def _widened(compiled: _Compiled, params: list) -> tuple[str, list]:
    """The SQL and the remaining parameters once each list parameter is written out in the SQL:
    integers only (checked by the caller), so their decimal text is safe to inline, and it
    spares the client library's escaping of each value (a hundred ids cost 0.06 ms of CPU as
    bound parameters with MySQLdb)."""
    parts = [compiled.pieces[0]]
    flat: list = []
    for position, value in enumerate(params):
        if position in compiled.lists:
            parts.append(", ".join(map(str, value)))
        else:
            parts.append("%s")
            flat.append(value)
        parts.append(compiled.pieces[position + 1])
    return "".join(parts), flat
