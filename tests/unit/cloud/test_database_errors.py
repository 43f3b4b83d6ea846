"""How database errors reach callers: an outage is 503, a statement past its time 503 request_timed_out, and a
transaction PostgreSQL rolled back to break a deadlock (or a serialization failure) is a conflict to try again,
not an outage (it had answered "the database is not reachable")."""

from __future__ import annotations

import psycopg
import pytest

from phi.db.connection import _unavailable_on_outage
from phi.errors import Conflict, RequestTimedOut, ServiceUnavailable


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (psycopg.errors.DeadlockDetected("deadlock detected"), Conflict),
        (psycopg.errors.SerializationFailure("could not serialize access"), Conflict),
        (psycopg.errors.QueryCanceled("canceling statement due to statement timeout"), RequestTimedOut),
        (psycopg.OperationalError("connection refused"), ServiceUnavailable),
    ],
)
def test_each_database_error_is_answered_as_what_it_is(raised: Exception, expected: type[Exception]) -> None:
    with pytest.raises(expected), _unavailable_on_outage():
        raise raised
