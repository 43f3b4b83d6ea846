"""Statement check for `db.query`: one read-only statement, nothing that writes.

This is the second line of defence: where the database has read-only transactions the query also runs
in one. The scanner understands comments, string literals, quoted identifiers and dollar quoting, so
keywords hidden in strings neither pass nor cause false refusals.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from phi_agent.errors import ToolError

_READ_STATEMENTS = frozenset({"SELECT", "WITH", "VALUES", "TABLE"})
# Keywords that can make an otherwise read-looking statement write (data-modifying CTEs, SELECT INTO,
# row locks) or that are DDL / privileges. Quoted identifiers ("update") are not keywords.
_WRITE_KEYWORDS = frozenset(
    {
        "INSERT",
        "UPDATE",
        "DELETE",
        "MERGE",
        "UPSERT",
        "INTO",
        "TRUNCATE",
        "DROP",
        "CREATE",
        "ALTER",
        "GRANT",
        "REVOKE",
        "RENAME",
    }
)
_ROW_LOCK_FOLLOWERS = frozenset({"SHARE", "UPDATE", "NO", "KEY"})
# Functions that write, reach the server's files or other servers, or change server state.
_DENIED_FUNCTIONS = frozenset(
    {
        "NEXTVAL",
        "SETVAL",
        "SET_CONFIG",
        "PG_READ_FILE",
        "PG_READ_BINARY_FILE",
        "PG_LS_DIR",
        "PG_STAT_FILE",
        "LO_IMPORT",
        "LO_EXPORT",
        "LO_UNLINK",
        "LO_FROM_BYTEA",
        "LO_PUT",
        "DBLINK",
        "DBLINK_EXEC",
        "DBLINK_CONNECT",
        "PG_TERMINATE_BACKEND",
        "PG_CANCEL_BACKEND",
        "PG_RELOAD_CONF",
        "PG_ROTATE_LOGFILE",
        "PG_ADVISORY_LOCK",
        "PG_ADVISORY_XACT_LOCK",
        "PG_NOTIFY",
        "QUERY_TO_XML",
        "LOAD_EXTENSION",
        "WRITEFILE",
        "READFILE",
        "EDIT",
        "FTS3_TOKENIZER",
        "LOAD_FILE",
        "SLEEP",
        "BENCHMARK",
        "GET_LOCK",
        "XP_CMDSHELL",
        "OPENROWSET",
        "OPENQUERY",
        "OPENDATASOURCE",
    }
)
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
_DOLLAR_TAG = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")


@dataclass(frozen=True)
class Dialect:
    backslash_escapes: bool = False
    dollar_quotes: bool = False
    bracket_identifiers: bool = False
    backtick_identifiers: bool = False


def dialect_for(name: str) -> Dialect:
    """Quoting rules of a SQLAlchemy dialect name (postgresql, sqlite, mysql, mariadb, mssql, ...)."""
    if name == "postgresql":
        return Dialect(dollar_quotes=True)
    if name in {"mysql", "mariadb"}:
        return Dialect(backslash_escapes=True, backtick_identifiers=True)
    if name == "mssql":
        return Dialect(bracket_identifiers=True)
    if name == "sqlite":
        return Dialect(bracket_identifiers=True, backtick_identifiers=True)
    return Dialect()


def _skip_quoted(sql: str, start: int, quote: str, backslash_escapes: bool) -> int:
    """Index just past the literal opened at `start`; doubled quotes (and maybe backslashes) escape."""
    i = start + 1
    while i < len(sql):
        char = sql[i]
        if backslash_escapes and char == "\\":
            i += 2
            continue
        if char == quote:
            if i + 1 < len(sql) and sql[i + 1] == quote:
                i += 2
                continue
            return i + 1
        i += 1
    raise ToolError("Tool.SqlError", f"unterminated quoted text starting at character {start + 1}")


def _skip_block_comment(sql: str, start: int) -> int:
    depth, i = 0, start
    while i < len(sql):
        if sql.startswith("/*", i):
            depth, i = depth + 1, i + 2
        elif sql.startswith("*/", i):
            depth, i = depth - 1, i + 2
            if depth == 0:
                return i
        else:
            i += 1
    raise ToolError("Tool.SqlError", "unterminated /* comment")


def tokenize(sql: str, dialect: Dialect) -> list[str]:
    """Upper-cased words and single punctuation characters; literals and comments become placeholders."""
    tokens: list[str] = []
    i = 0
    while i < len(sql):
        char = sql[i]
        if char.isspace():
            i += 1
        elif sql.startswith("--", i) or (char == "#" and dialect.backtick_identifiers):
            newline = sql.find("\n", i)
            i = len(sql) if newline < 0 else newline + 1
        elif sql.startswith("/*", i):
            i = _skip_block_comment(sql, i)
        elif char == "'":
            escaped_string = dialect.backslash_escapes or (
                dialect.dollar_quotes and bool(tokens) and tokens[-1] == "E" and sql[i - 1] in "eE"
            )
            if escaped_string and tokens and tokens[-1] == "E":
                tokens.pop()
            i = _skip_quoted(sql, i, "'", escaped_string)
            tokens.append("<literal>")
        elif char == '"' or (char == "`" and dialect.backtick_identifiers):
            i = _skip_quoted(sql, i, char, backslash_escapes=False)
            tokens.append("<identifier>")
        elif char == "[" and dialect.bracket_identifiers:
            end = sql.find("]", i)
            if end < 0:
                raise ToolError("Tool.SqlError", "unterminated [identifier]")
            i = end + 1
            tokens.append("<identifier>")
        elif char == "$" and dialect.dollar_quotes and (tag := _DOLLAR_TAG.match(sql, i)):
            end = sql.find(tag.group(0), tag.end())
            if end < 0:
                raise ToolError("Tool.SqlError", "unterminated dollar-quoted text")
            i = end + len(tag.group(0))
            tokens.append("<literal>")
        elif word := _WORD.match(sql, i):
            tokens.append(word.group(0).upper())
            i = word.end()
        else:
            tokens.append(char)
            i += 1
    return tokens


def _split_statements(tokens: list[str]) -> list[list[str]]:
    statements: list[list[str]] = [[]]
    for token in tokens:
        if token == ";":
            statements.append([])
        else:
            statements[-1].append(token)
    return [statement for statement in statements if statement]


def _refuse(reason: str) -> ToolError:
    return ToolError(
        "Tool.ReadOnlyViolation",
        f"{reason}. Only a single read-only query (SELECT, WITH ... SELECT, VALUES or TABLE) is allowed; "
        'quote an identifier ("name") if it clashes with a keyword.',
    )


def check_read_only(sql: str, dialect: Dialect) -> None:
    """Raise `Tool.ReadOnlyViolation` unless `sql` is exactly one statement that only reads."""
    statements = _split_statements(tokenize(sql, dialect))
    if not statements:
        raise ToolError("Tool.BadRequest", "args.sql: the query is empty")
    if len(statements) > 1:
        raise _refuse(f"the query contains {len(statements)} statements")
    tokens = statements[0]
    first_word = next((token for token in tokens if token != "("), "")
    if first_word not in _READ_STATEMENTS:
        raise _refuse(f"{first_word or 'the statement'} is not a read-only statement")
    for position, token in enumerate(tokens):
        following = tokens[position + 1] if position + 1 < len(tokens) else ""
        if token in _WRITE_KEYWORDS:
            raise _refuse(f"the query contains {token}")
        if token == "FOR" and following in _ROW_LOCK_FOLLOWERS:
            raise _refuse(f"the query takes row locks (FOR {following})")
        if token in _DENIED_FUNCTIONS and following == "(":
            raise _refuse(f"the function {token.lower()}() is not allowed")
