"""PostgreSQL values Python's types cannot hold, loaded so that a row carrying one still arrives.

PostgreSQL's `timestamp`, `timestamptz` and `date` have the special values 'infinity' and '-infinity'
(common as "no end" or "no promise"). Python's datetime and date have no such value, so psycopg refuses to
load them ("timestamp too large") and the whole query fails. Following psycopg's documented remedy (custom
loaders on the connection, see its "Handling infinity date" example), they load as the text 'infinity' /
'-infinity', which the cloud reads as PostgreSQL's endless value; every other value is loaded by the loader
the connection had (psycopg's C one where installed).
"""

from __future__ import annotations

from typing import Any

INFINITE_TYPES = ("timestamp", "timestamptz", "date")
# The binary forms: the int64 microseconds (timestamps) or int32 days (dates) PostgreSQL reserves.
_BINARY_INFINITIES = {
    "date": {b"\x7f\xff\xff\xff": "infinity", b"\x80\x00\x00\x00": "-infinity"},
    "timestamp": {b"\x7f\xff\xff\xff\xff\xff\xff\xff": "infinity", b"\x80\x00\x00\x00\x00\x00\x00\x00": "-infinity"},
}
_TEXT_INFINITIES = {b"infinity": "infinity", b"-infinity": "-infinity"}
_LONGEST_SPECIAL = 9  # '-infinity'; every other text or binary value of these types is longer or a real value


def load_infinity_as_text(dbapi_connection: Any) -> None:
    """Register, on one psycopg 3 connection, loaders that turn infinite timestamps and dates into text."""
    from psycopg.adapt import Loader
    from psycopg.pq import Format

    adapters = dbapi_connection.adapters
    for type_name in INFINITE_TYPES:
        oid = adapters.types[type_name].oid
        for load_format in (Format.TEXT, Format.BINARY):
            original = adapters.get_loader(oid, load_format)
            if original is None:
                continue
            specials = (
                _TEXT_INFINITIES
                if load_format == Format.TEXT
                else _BINARY_INFINITIES["date" if type_name == "date" else "timestamp"]
            )

            class InfinityAsText(Loader):
                format = load_format
                _original: type[Loader] = original
                _specials: dict[bytes, str] = specials

                def __init__(self, oid: int, context: Any = None) -> None:
                    super().__init__(oid, context)
                    self._load = self._original(oid, context).load

                def load(self, data: Any) -> Any:
                    if len(data) <= _LONGEST_SPECIAL and (endless := self._specials.get(bytes(data))) is not None:
                        return endless
                    return self._load(data)

            adapters.register_loader(oid, InfinityAsText)
