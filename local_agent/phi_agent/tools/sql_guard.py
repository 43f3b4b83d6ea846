"""Statement check for `db.query`: one read-only query, built only from allow-listed parts.

The query is parsed with sqlglot in the database's own dialect (from the SQLAlchemy URL), checked against
allow-lists, and the SQL the database then runs is *re-generated from the checked tree* (comments dropped),
so what runs is exactly what was checked, whatever a tokenizer difference between sqlglot and the server
(MySQL's `/*! … */`, SQLite's `#`, backslash escapes) might otherwise have hidden.

- exactly one statement, and it is a SELECT, WITH … SELECT, VALUES or TABLE (set operations of those too);
- no data-modifying CTEs, no locking clauses (FOR UPDATE/SHARE…), no SELECT INTO, no statements nested
  anywhere (every node of the tree must be of an allowed kind);
- every function called, wherever it appears (select list, WHERE, CASE, ORDER BY, window, FROM, LATERAL),
  is normalised (quotes, U& escapes, schema qualification, case) and must be on the dialect's allow-list of
  side-effect-free functions; schema-qualified calls are allowed only for `pg_catalog` on PostgreSQL;
- no field selection on a row value (PostgreSQL `(s).label` runs a function `label(s)` when `s` has no
  such field);
- no relation of the database's system schemas (catalogs, statistics, other sessions, stored credentials),
  see `SYSTEM_SCHEMAS`; SQLite's `sqlite_master`/`sqlite_schema` stay readable (the schema of the file the
  login reads anyway), its `pragma_*` table functions do not;
- anything that cannot be parsed, checked or re-generated faithfully is refused (fail closed).

Only real placeholders (`:name` outside literals and quoted names) are parameters: every other `:` in the
re-generated SQL is escaped for SQLAlchemy's `text()`, so a `:p` inside `':p'` stays text and a driver
that binds on the client side (psycopg2, PyMySQL) can never paste a value into a literal.

Every refusal is `Tool.NotAllowed` with a readable reason that names the function or construct.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, ClassVar

import sqlglot
from sqlalchemy import text
from sqlglot import exp
from sqlglot.dialects.mysql import MySQL
from sqlglot.errors import ErrorLevel, SqlglotError
from sqlglot.tokens import Token, TokenType

from phi_agent.errors import ToolError
from phi_agent.tools.sql_functions import ALLOWED_FUNCTIONS, SYNTAX_FORMS

# sqlglot warns when it falls back to an opaque command ("CALL …"); the guard refuses those anyway.
logging.getLogger("sqlglot").setLevel(logging.ERROR)


class MySQLAndMariaDB(MySQL):
    """MySQL as sqlglot writes it, except `a REGEXP b`, which sqlglot writes as MySQL 8's REGEXP_LIKE(a, b): MariaDB
    has no such function (it answered "execute command denied … for routine 'db.REGEXP_LIKE'"), and both servers
    read the operator (written like LIKE: `NOT a REGEXP b`, which reads back the same)."""

    class Generator(MySQL.Generator):  # type: ignore[misc, valid-type]  # sqlglot sets it up at class creation
        TRANSFORMS: ClassVar = {
            **MySQL.Generator.TRANSFORMS,
            exp.RegexpLike: lambda self, e: (
                self.func("REGEXP_LIKE", e.this, e.expression, e.args["flag"])
                if e.args.get("flag")
                else self.binary(e, "REGEXP")
            ),
        }


# The dialect a checked query is written back in, where it differs from the one it is read in.
_WRITE_DIALECTS: dict[str, type[MySQL]] = {"mysql": MySQLAndMariaDB}

# SQLAlchemy dialect name → sqlglot dialect.
SQLGLOT_DIALECTS = {
    "postgresql": "postgres",
    "sqlite": "sqlite",
    "mysql": "mysql",
    "mariadb": "mysql",
    "mssql": "tsql",
    "oracle": "oracle",
}
MAX_NODES = 20_000
MAX_DEPTH = 200
# Checked queries kept per guard: a workflow sends the same few statements on every run, and checking one
# (two parses, two renders) costs more CPU than running it on a small table. Only accepted queries of at most
# _CACHEABLE_SQL_CHARS are kept (at most ~2 MB of SQL); a refusal is checked again each time.
_CACHED_QUERIES = 128
_CACHEABLE_SQL_CHARS = 16_384

_ALLOWED_ROOTS = (exp.Select, exp.SetOperation, exp.Values, exp.Subquery)
# Node kinds refused wherever they appear, with the reason given to the caller.
_REFUSED_NODES: dict[type[exp.Expression], str] = {
    exp.Into: "SELECT … INTO (or INTO OUTFILE) writes: not allowed",
    exp.Lock: "locking clauses (FOR UPDATE / FOR SHARE / LOCK IN SHARE MODE) take row locks: not allowed",
    exp.Operator: "OPERATOR(schema.op) calls an operator chosen by name: not allowed",
    exp.DynamicIdentifier: "dynamic identifiers are not allowed",
    exp.Parameter: "session or server variables ($1, @x, @@x) are not allowed; use :name parameters",
    exp.SessionParameter: "session or server variables (@@x) are not allowed",
    # MySQL keeps a hint it cannot read as one opaque text, which would reach the server unchecked
    # (SET_VAR(max_execution_time=0), MAX_EXECUTION_TIME, RESOURCE_GROUP change the query's own limits).
    exp.Hint: "optimizer hints (/*+ … */) are not allowed: they can change server settings for the query",
}
# PostgreSQL's object identifier types whose text form is a catalog lookup: `g::oid::regclass::text` over a
# series lists every relation without reading a catalog table.
_POSTGRES_CATALOG_LOOKUP_TYPES = frozenset(
    {
        "regclass",
        "regcollation",
        "regconfig",
        "regdictionary",
        "regnamespace",
        "regoper",
        "regoperator",
        "regproc",
        "regprocedure",
        "regrole",
        "regtype",
    }
)
# Table hints that only relax locking (SQL Server reporting queries use them).
_ALLOWED_TABLE_HINTS = frozenset({"NOLOCK", "READUNCOMMITTED", "READCOMMITTED", "NOWAIT"})
# Classes of `sqlglot.expressions.query` that may appear in a read-only query.
_ALLOWED_QUERY_NODES: frozenset[type[exp.Expression]] = frozenset(
    {
        exp.With,
        exp.CTE,
        exp.TableAlias,
        exp.BitString,
        exp.HexString,
        exp.ByteString,
        exp.RawString,
        exp.National,
        exp.Introducer,
        exp.From,
        exp.Having,
        exp.Fetch,
        exp.Group,
        exp.Cube,
        exp.Rollup,
        exp.GroupingSets,
        exp.Limit,
        exp.LimitOptions,  # FETCH FIRST n ROWS ONLY / WITH TIES / PERCENT: standard paging
        exp.Join,
        exp.Lateral,
        exp.Offset,
        exp.Order,
        exp.Qualify,
        exp.Tuple,
        exp.Table,
        exp.Union,
        exp.Except,
        exp.Intersect,
        exp.Values,
        exp.Select,
        exp.Subquery,
        exp.TableSample,
        exp.Window,
        exp.WindowSpec,
        exp.Where,
        exp.JSONPath,
        exp.JSONPathKey,
        exp.JSONPathRoot,
        exp.JSONPathSubscript,
        exp.JSONPathWildcard,
        exp.JSONPathSlice,
        exp.JSONKeyValue,
        exp.RecursiveWithSearch,
    }
)
# Modules of sqlglot expressions whose nodes never belong in a read-only query.
_REFUSED_MODULES = ("ddl", "dml", "constraints", "properties")
_FUNCTION_HEAD = re.compile(r'\s*(?:"((?:[^"]|"")+)"|`([^`]+)`|\[([^\]]+)\]|([A-Za-z_][A-Za-z0-9_$]*))\s*\(')
_PLACEHOLDER_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# Schemas of the database's own catalogs, statistics and stored credentials: every relation in them is
# refused, whatever its name (a list of names was always one view short: user_mapping_options, pg_settings…).
SYSTEM_SCHEMAS = {
    "postgres": frozenset({"pg_catalog", "information_schema", "pg_toast"}),
    "mysql": frozenset({"mysql", "performance_schema", "sys", "information_schema"}),
    "tsql": frozenset({"sys", "information_schema"}),
    "oracle": frozenset({"sys", "system"}),
}
# Unqualified names with these prefixes resolve to system relations without a schema: PostgreSQL searches
# pg_catalog first, SQL Server resolves its compatibility views (sysprocesses, syslogins…) from any schema.
_SYSTEM_NAME_PREFIXES = {"postgres": ("pg_",), "tsql": ("sys",)}
# SQL Server's compatibility views (sys.sysprocesses …): qualified by a schema other than `sys` they are still
# found (dbo.sysprocesses is the old idiom), so these names are refused in every schema.
_TSQL_COMPATIBILITY_VIEWS = frozenset(
    {
        "sysaltfiles", "syscacheobjects", "syscharsets", "syscolumns", "syscomments", "sysconfigures",
        "sysconstraints", "syscurconfigs", "sysdatabases", "sysdepends", "sysdevices", "sysfilegroups", "sysfiles",
        "sysforeignkeys", "sysfulltextcatalogs", "sysindexes", "sysindexkeys", "syslanguages", "syslockinfo",
        "syslogins", "sysmembers", "sysmessages", "sysobjects", "sysoledbusers", "sysopentapes", "sysperfinfo",
        "syspermissions", "sysprocesses", "sysprotects", "sysreferences", "sysremotelogins", "sysservers",
        "systypes", "sysusers",
    }
)  # fmt: skip
# Database-qualified names that reach SQL Server's system databases.
_SYSTEM_DATABASES = {"tsql": frozenset({"master", "msdb", "tempdb", "model"})}
_SENTINEL_PREFIX = "phi_placeholder_"


@dataclass(frozen=True)
class CheckedQuery:
    """The checked query: `sql` is the SQL re-generated from the checked tree (`:name` placeholders),
    `text_sql` the same for SQLAlchemy's `text()` (every other `:` escaped), `parameters` the names of its
    placeholders, `functions` the functions it calls and `bounded_parameters` the placeholders that stand for a
    LIKE pattern or a searched text, whose values must be texts of at most `MAX_SEARCHED_TEXT_CHARS`."""

    sql: str
    text_sql: str
    parameters: frozenset[str]
    functions: frozenset[str]
    bounded_parameters: frozenset[str] = frozenset()


def _refuse(reason: str) -> ToolError:
    return ToolError(
        "Tool.NotAllowed",
        f"{reason}. db.query runs one read-only query (SELECT, WITH … SELECT, VALUES or TABLE) "
        "using allow-listed functions only.",
    )


def decode_unicode_escapes(body: str, escape: str = "\\") -> str:
    """The text of a PostgreSQL U&"…" / U&'…' literal: \\XXXX and \\+XXXXXX are code points."""
    out: list[str] = []
    i = 0
    while i < len(body):
        char = body[i]
        if char != escape:
            out.append(char)
            i += 1
            continue
        if body.startswith(escape, i + 1):
            out.append(escape)
            i += 2
        elif body.startswith("+", i + 1) and re.fullmatch(r"[0-9A-Fa-f]{6}", body[i + 2 : i + 8]):
            out.append(chr(int(body[i + 2 : i + 8], 16)))
            i += 8
        elif re.fullmatch(r"[0-9A-Fa-f]{4}", body[i + 1 : i + 5]):
            out.append(chr(int(body[i + 1 : i + 5], 16)))
            i += 5
        else:
            out.append(char)
            i += 1
    return "".join(out)


class SqlGuard:
    """Checks queries for one SQLAlchemy dialect (`postgresql`, `sqlite`, `mysql`, `mssql`, …)."""

    def __init__(self, dialect_name: str, default_schema: str | None = None) -> None:
        """`default_schema`: where unqualified names resolve (MySQL: the URL's database), if known."""
        self.dialect_name = dialect_name
        self.read = SQLGLOT_DIALECTS.get(dialect_name, "")
        self.allowed_functions = ALLOWED_FUNCTIONS.get(self.read, ALLOWED_FUNCTIONS[""])
        self._case_sensitive_quoted = self.read == "postgres"
        self._system_schemas = SYSTEM_SCHEMAS.get(self.read, frozenset())
        self._default_schema = (default_schema or "").lower() if self.read == "mysql" else ""
        # The verdict depends only on the text and on this guard's dialect and schema, fixed above.
        self._accepted: OrderedDict[str, CheckedQuery] = OrderedDict()
        self._accepted_lock = threading.Lock()

    # -- entry point --------------------------------------------------------------------------------
    def check(self, sql: str) -> CheckedQuery:
        if not sql.strip():
            raise ToolError("Tool.BadRequest", "args.sql: the query is empty")
        with self._accepted_lock:
            checked = self._accepted.get(sql)
            if checked is not None:
                self._accepted.move_to_end(sql)
                return checked
        checked = self._check_refusing(sql)
        if len(sql) <= _CACHEABLE_SQL_CHARS:
            with self._accepted_lock:
                self._accepted[sql] = checked
                if len(self._accepted) > _CACHED_QUERIES:
                    self._accepted.popitem(last=False)
        return checked

    def _check_refusing(self, sql: str) -> CheckedQuery:
        """The check itself: every failure is a readable refusal, never an internal error."""
        try:
            return self._check(sql)
        except ToolError:
            raise
        except RecursionError:
            raise _refuse("the query is nested too deeply") from None
        except Exception as error:
            # sqlglot's parser and generator raise plain Python errors on some malformed calls
            # (levenshtein_less_equal(), date_add(1)…): still a refusal, never an internal error.
            raise _refuse(f"the query could not be checked ({type(error).__name__}: {_first_line(error)})") from None

    def _check(self, sql: str) -> CheckedQuery:
        tokens = self._tokens(sql)
        self._refuse_unicode_escapes(sql, tokens)
        tree = self._parse_one(sql)
        functions, bounded_parameters = self._check_tree(tree)
        canonical, text_sql, parameters = self._render(tree, sql)
        # The re-generated SQL must itself pass and be stable, and keep the statement's shape: anything
        # else means the round trip changed the query, and what runs would not be what was checked.
        again = self._parse_one(canonical)
        self._check_tree(again)
        if self._render(again, canonical)[0] != canonical:
            raise _refuse("the query does not survive a parse/print round trip unchanged")
        if _shape(again) != _shape(tree):
            raise _refuse("the query cannot be written for this database without changing its meaning")
        return CheckedQuery(canonical, text_sql, parameters, frozenset(functions), frozenset(bounded_parameters))

    # -- parsing ------------------------------------------------------------------------------------
    def _tokens(self, sql: str) -> list[Token]:
        try:
            return list(sqlglot.tokenize(sql, read=self.read or None))
        except SqlglotError as error:
            raise _refuse(f"the query could not be parsed ({_first_line(error)})") from None

    def _parse_one(self, sql: str) -> exp.Expr:
        try:
            statements = [s for s in sqlglot.parse(sql, read=self.read or None) if s is not None]
        except SqlglotError as error:
            raise _refuse(f"the query could not be parsed ({_first_line(error)})") from None
        except RecursionError:
            raise _refuse("the query is nested too deeply") from None
        statements = [s for s in statements if not isinstance(s, exp.Semicolon)]
        if not statements:
            raise ToolError("Tool.BadRequest", "args.sql: the query is empty")
        if len(statements) > 1:
            raise _refuse(f"the query contains {len(statements)} statements")
        return statements[0]

    def _refuse_unicode_escapes(self, sql: str, tokens: list[Token]) -> None:
        """U&"…" names a function or column by escapes that sqlglot does not decode: refuse, decoded."""
        for first, amp, third in zip(tokens, tokens[1:], tokens[2:], strict=False):
            if (
                first.text.upper() == "U"
                and amp.token_type == TokenType.AMP
                and amp.start == first.end + 1
                and third.start == amp.end + 1
                and third.token_type in {TokenType.IDENTIFIER, TokenType.STRING}
            ):
                decoded = decode_unicode_escapes(third.text)
                raise _refuse(
                    f'Unicode-escaped names and strings (U&"…") are not allowed: U&"{third.text}" is "{decoded}"'
                )
        if re.search(r"\bU&['\"]", sql, flags=re.IGNORECASE) and self.read == "postgres":
            raise _refuse('Unicode-escaped names and strings (U&"…") are not allowed')

    # -- the checks ---------------------------------------------------------------------------------
    def _check_tree(self, tree: exp.Expr) -> tuple[set[str], set[str]]:
        """The functions the query calls, and the placeholders whose values must be short texts."""
        root = tree.unnest() if isinstance(tree, exp.Subquery) else tree
        if not isinstance(root, _ALLOWED_ROOTS):
            raise _refuse(f"{_statement_name(tree)} is not a read-only query")
        functions: set[str] = set()
        bounded_parameters: set[str] = set()
        for count, node in enumerate(tree.walk(), start=1):
            if count > MAX_NODES:
                raise _refuse(f"the query has more than {MAX_NODES} parts")
            if node.depth > MAX_DEPTH:
                raise _refuse("the query is nested too deeply")
            self._check_node(node)
            if isinstance(node, _CONTAINMENTS):  # operators that sqlglot also counts as functions
                bounded_parameters |= _check_containment(node)
            if isinstance(node, exp.Func):
                name = self._check_function(node)
                if name:
                    functions.add(name)
                if name and isinstance(node, _SUBSTRING_SEARCHES):
                    bounded_parameters |= _check_searched_text(node, name)
            elif isinstance(node, exp.Table):
                self._check_relation(node)
            elif isinstance(node, exp.Placeholder):
                _check_placeholder(node)
            elif isinstance(node, _PATTERN_MATCHES):
                bounded_parameters |= _check_pattern(node)
        return functions, bounded_parameters

    def _check_node(self, node: exp.Expr) -> None:
        kind = type(node)
        for refused, reason in _REFUSED_NODES.items():
            if isinstance(node, refused):
                raise _refuse(reason)
        if isinstance(node, exp.Dot) and not _is_name(node.this):
            raise _refuse(
                f"selecting a field of a row value ({node.sql(dialect=self.read or None)}) is not allowed: "
                "PostgreSQL runs a function of that name on the row when the row has no such field"
            )
        if isinstance(node, exp.DataType) and self.read == "postgres":
            type_name = node.sql(dialect="postgres").lower().rsplit(".", 1)[-1].strip('"')
            if type_name in _POSTGRES_CATALOG_LOOKUP_TYPES:
                raise _refuse(
                    f"casts to {type_name} are not allowed: PostgreSQL's reg* types look names up in the system "
                    "catalogs (every relation, role or schema could be listed by number)"
                )
        if isinstance(node, exp.WithTableHint):
            hints = {hint.sql().upper() for hint in node.expressions}
            if not hints <= _ALLOWED_TABLE_HINTS:
                raise _refuse(f"the table hint(s) {', '.join(sorted(hints - _ALLOWED_TABLE_HINTS))} are not allowed")
            return
        module = kind.__module__.rsplit(".", 1)[-1]
        if module in _REFUSED_MODULES or isinstance(node, exp.Command):
            raise _refuse(f"{_statement_name(node)} is not allowed in a read-only query")
        if module == "query" and kind not in _ALLOWED_QUERY_NODES:
            raise _refuse(f"the SQL construct {kind.__name__} is not allowed in a read-only query")
        if isinstance(node, exp.With) and any(not isinstance(cte.this, _ALLOWED_ROOTS) for cte in node.expressions):
            raise _refuse("a WITH clause may only hold queries, not data-modifying statements")

    def _normal_name(self, identifier: exp.Expr | str) -> str:
        if isinstance(identifier, exp.Identifier):
            if identifier.quoted and self._case_sensitive_quoted:
                return identifier.this
            return str(identifier.this).lower()
        return str(identifier).lower()

    def _check_function(self, node: exp.Func) -> str:
        qualifier = self._qualifier(node)
        if isinstance(node, exp.Anonymous):
            name = self._normal_name(node.this if isinstance(node.this, exp.Identifier) else str(node.this))
            shown = f"{qualifier}.{name}" if qualifier else name
            if qualifier and not (self.read == "postgres" and qualifier == "pg_catalog"):
                raise _refuse(f"the function {shown}() is not allowed (schema-qualified functions are not allowed)")
            if name not in self.allowed_functions:
                raise _refuse(f"the function {shown}() is not allowed")
            return name
        if qualifier and not (self.read == "postgres" and qualifier == "pg_catalog"):
            raise _refuse(f"the function {qualifier}.{node.sql_name().lower()}() is not allowed")
        # A built-in function sqlglot knows: check the name it will be called by on this database.
        head = _FUNCTION_HEAD.match(self._render_head(node))
        if head is None:
            return ""  # operator or keyword syntax (a + b, x -> 'k', CASE …): its parts are checked separately
        raw = next(group for group in head.groups() if group is not None)
        quoted = head.group(4) is None
        name = raw if (quoted and self._case_sensitive_quoted) else raw.lower()
        if name not in SYNTAX_FORMS and name not in self.allowed_functions:
            raise _refuse(f"the function {name}() is not allowed")
        return name

    def _render_head(self, node: exp.Func) -> str:
        """The node written out with each argument that is itself an expression replaced by a stand-in column:
        its name is what matters here, and writing the whole subtree at every function of a deep query cost time
        in proportion to depth times size (22,000 ORs took minutes). Literals, types and names stay: a generator may
        choose the function by them. Written whole when the stand-ins do not render."""
        try:
            return type(node)(**{key: _stand_in(value) for key, value in node.args.items()}).sql(
                dialect=self.read or None, comments=False
            )
        except Exception:  # a generator that needs the real argument: write it whole
            return node.sql(dialect=self.read or None, comments=False)

    def _qualifier(self, node: exp.Func) -> str:
        parent = node.parent
        if isinstance(parent, exp.Dot) and parent.expression is node:
            return ".".join(self._normal_name(part) for part in _dot_parts(parent.this))
        return ""

    def _check_relation(self, node: exp.Table) -> None:
        if isinstance(node.this, exp.Func):
            # A table function: its name is checked as a function; its schema here.
            parts = [node.args.get("catalog"), node.args.get("db")]
            qualifier = ".".join(self._normal_name(part) for part in parts if part is not None)
            if qualifier and not (self.read == "postgres" and qualifier == "pg_catalog"):
                name = node.this.name or node.this.sql_name().lower()
                raise _refuse(
                    f"the function {qualifier}.{name}() is not allowed (schema-qualified functions are not allowed)"
                )
            return
        shown = node.sql(dialect=self.read or None, comments=False)
        if isinstance(node.this, exp.Dot):
            raise _refuse(f"reading {shown} is not allowed (a name of four parts reaches a linked server)")
        catalog, schema = (self._system_key(self._part(node, key)) for key in ("catalog", "db"))
        name = self._system_key(
            self._normal_name(node.this) if isinstance(node.this, exp.Identifier) else node.name.lower()
        )
        reason = f"reading {shown} is not allowed (the database's system relations hold secrets and server internals)"
        if catalog in _SYSTEM_DATABASES.get(self.read, frozenset()):
            raise _refuse(reason)
        if self.read == "sqlite" and name.startswith("pragma_"):
            raise _refuse(reason)  # pragma_* reads and sets PRAGMAs, in any schema
        if self.read == "tsql" and name in _TSQL_COMPATIBILITY_VIEWS:
            raise _refuse(reason)
        if schema:
            if schema in self._system_schemas or (self.read == "postgres" and schema.startswith("pg_")):
                raise _refuse(reason)
            return
        if name.startswith(_SYSTEM_NAME_PREFIXES.get(self.read, ())) or (self._default_schema in self._system_schemas):
            raise _refuse(f"{reason}; a table of yours with such a name can be read schema-qualified")

    def _system_key(self, name: str) -> str:
        """A name as the server compares it with its system names. SQL Server compares names by the database's
        collation: trailing spaces do not count (`[sys ]` is `sys`), and a width- or accent-insensitive collation
        finds `sys` from full-width letters or `[sÿs]`; so a name is refused when any of those readings is a
        system one. The others compare names exactly or by case only (checked on MariaDB: `ínformation_schema` is
        not found); case is folded for all, which refuses PostgreSQL's quoted `"PG_X"` too (fail closed)."""
        if self.read != "tsql":
            return name.lower()
        decomposed = unicodedata.normalize("NFKD", name)
        return "".join(char for char in decomposed if not unicodedata.combining(char)).casefold().rstrip(" ")

    def _part(self, node: exp.Table, key: str) -> str:
        part = node.args.get(key)
        return self._normal_name(part) if isinstance(part, exp.Identifier) and part.this else ""

    def _render(self, tree: exp.Expr, source: str) -> tuple[str, str, frozenset[str]]:
        """The SQL of the tree, that SQL for `text()` and the placeholder names.

        Placeholders are generated as unique sentinel names first, so that the only `:name` in the text
        given to SQLAlchemy are the real placeholders: a `:` anywhere else (in a literal, a quoted name,
        a `::` cast) is escaped, and stays text whatever the driver's way of binding."""
        nonce = _SENTINEL_PREFIX + secrets.token_hex(8)
        while nonce in source.lower():
            nonce = _SENTINEL_PREFIX + secrets.token_hex(8)
        names: list[str] = []

        def to_sentinel(node: exp.Expr) -> exp.Expr:
            if isinstance(node, exp.Placeholder):
                names.append(node.name)
                return exp.var(f"{nonce}_{len(names) - 1}")
            return node

        prepared = tree.copy().transform(to_sentinel, copy=False)
        generated = prepared.sql(
            dialect=_WRITE_DIALECTS.get(self.read) or self.read or None,
            comments=False,
            normalize_functions=False,
            unsupported_level=ErrorLevel.RAISE,
        )
        sentinel = re.compile(re.escape(nonce) + r"_(\d+)\b")
        if sorted({int(index) for index in sentinel.findall(generated)}) != list(range(len(names))):
            raise _refuse("the query's parameters do not survive re-generation")
        canonical = sentinel.sub(lambda match: ":" + names[int(match.group(1))], generated)
        text_sql = sentinel.sub(lambda match: ":" + names[int(match.group(1))], generated.replace(":", "\\:"))
        parameters = frozenset(names)
        if set(text(text_sql).compile().params) != parameters:
            raise _refuse("the query's parameters cannot be bound safely")
        return canonical, text_sql, parameters


# Functions that look for one text in another: the databases search in time proportional to the two lengths
# multiplied, inside one call that no statement timeout interrupts (PostgreSQL ignored even pg_cancel_backend for
# minutes; MariaDB's max_statement_time and SQLite's progress handler alike). The text searched for is where a query
# would make both long, so it must be written in the query, and short. The argument that holds it, by node type, and
# what it is called in a refusal. Trimming and translate() look each character up in a set of characters the same
# way (PostgreSQL's ltrim and translate of a computed 200,000-character text by a computed set as long ran 214 s and
# 313 s past a 1 s statement_timeout; SQLite's trim(a, b) 29 s past its deadline at 100,000).
_SUBSTRING_SEARCHES: tuple[type[exp.Func], ...] = (
    exp.StrPosition,
    exp.Replace,
    exp.SplitPart,
    exp.SubstringIndex,
    exp.Trim,
    exp.Translate,
)
_SEARCHED_TEXT_ARGUMENT: dict[type[exp.Func], tuple[str, str]] = {
    exp.StrPosition: ("substr", "the text {name}() looks for"),
    exp.Replace: ("expression", "the text {name}() looks for"),
    exp.SplitPart: ("delimiter", "the text {name}() looks for"),
    exp.SubstringIndex: ("delimiter", "the text {name}() looks for"),
    exp.Trim: ("expression", "the characters {name}() removes"),
    exp.Translate: ("from_", "the characters {name}() replaces"),
}
MAX_SEARCHED_TEXT_CHARS = 1_000


def _check_searched_text(node: exp.Func, name: str) -> set[str]:
    argument, what = next(pair for kind, pair in _SEARCHED_TEXT_ARGUMENT.items() if isinstance(node, kind))
    return _short_text_parameters(
        node.args.get(argument), what.format(name=name.lower()), "a search of one long computed text for another"
    )


# Array and JSON containment and overlap (`&&`, `@>`, `<@`, `?|`, `?&`) compare each element of one side with the
# elements of the other inside one operator call, which no statement timeout interrupts (PostgreSQL: `a && b` of two
# computed 60,000-element arrays ran 15 s past a 1 s statement_timeout, jsonb `a @> a` of 30,000 elements 14 s; the
# time grows with the square of the size). One side must be written in the query: a quoted text (`'{"s": 1}'::jsonb`)
# of at most MAX_SEARCHED_TEXT_CHARS, an ARRAY[…] of at most MAX_WRITTEN_ELEMENTS written values, or a :parameter.
_CONTAINMENTS: tuple[type[exp.Expr], ...] = (
    exp.ArrayOverlaps,
    exp.ArrayContainsAll,
    exp.ArrayContainedBy,
    exp.JSONBContainsAnyTopKeys,
    exp.JSONBContainsAllTopKeys,
)
MAX_WRITTEN_ELEMENTS = 1_000


def _check_containment(node: exp.Expr) -> set[str]:
    for side in (node.args.get("expression"), node.this):
        bounded = _written_value(side)
        if bounded is not None:
            return bounded
    raise _refuse(
        f"one side of {node.sql(dialect='postgres')[:80]} must be written in the query (a quoted text of at most "
        f"{MAX_SEARCHED_TEXT_CHARS:,} characters, an ARRAY[…] of at most {MAX_WRITTEN_ELEMENTS:,} values, or a "
        ":parameter): comparing two long computed arrays or JSON values can run far past the time limit"
    )


def _written_value(node: exp.Expr | None) -> set[str] | None:
    """The placeholders of a value written in the query (a literal, a :parameter, an ARRAY[…] of those, each maybe
    cast or negated), or None when the value is computed or longer than the limits above."""
    node = node.unnest() if isinstance(node, exp.Expr) else node
    while isinstance(node, exp.Cast | exp.Neg):
        node = node.this.unnest()
    if isinstance(node, exp.Placeholder):
        return {node.name}
    if isinstance(node, exp.Null | exp.Boolean) or (
        isinstance(node, (exp.Literal, *_WRITTEN_TEXTS)) and len(node.name) <= MAX_SEARCHED_TEXT_CHARS
    ):
        return set()
    if isinstance(node, exp.Array) and len(node.expressions) <= MAX_WRITTEN_ELEMENTS:
        bounded: set[str] = set()
        for element in node.expressions:
            written = _written_value(element)
            if written is None:
                return None
            bounded |= written
        return bounded
    return None


# LIKE and GLOB match in time proportional to the text's length times the pattern's, inside one call that no
# statement timeout interrupts (PostgreSQL: 174 s past a 1 s statement_timeout, for a computed pattern of 40,000
# characters against a computed text of 4,000,000). Their patterns are bounded as the searched texts above are.
# Regular expressions (SIMILAR TO, ~, REGEXP) are left: PostgreSQL stopped the same search at its timeout.
_PATTERN_MATCHES: tuple[type[exp.Expr], ...] = (exp.Like, exp.ILike, exp.Glob)


def _check_pattern(node: exp.Expr) -> set[str]:
    name = "ILIKE" if isinstance(node, exp.ILike) else "GLOB" if isinstance(node, exp.Glob) else "LIKE"
    pattern = node.expression
    # LIKE ANY / ALL (ARRAY['a%', 'b%']) or a list: each pattern of the list.
    listed = pattern.unnest().this if isinstance(pattern, (exp.Any, exp.All)) else None
    listed = listed.unnest() if isinstance(listed, exp.Expr) else None
    patterns = list(listed.expressions) if isinstance(listed, (exp.Array, exp.Tuple)) else [pattern]
    bounded: set[str] = set()
    for each in patterns:
        bounded |= _short_text_parameters(
            each, f"the pattern of {name}", "matching a long text against a long computed pattern"
        )
    return bounded


_WRITTEN_TEXTS = (exp.National, exp.RawString, exp.ByteString)


def _short_text_parameters(node: exp.Expr | None, what: str, risk: str) -> set[str]:
    """`node` must be a text written in the query (at most MAX_SEARCHED_TEXT_CHARS) or a placeholder, whose name is
    returned: its value is checked when the query runs (`check_short_texts`)."""
    node = node.unnest() if isinstance(node, exp.Expr) else node
    if node is None or isinstance(node, exp.Null):
        return set()
    if isinstance(node, exp.Placeholder):
        return {node.name}
    if not ((isinstance(node, exp.Literal) and node.is_string) or isinstance(node, _WRITTEN_TEXTS)):
        raise _refuse(
            f"{what} must be a quoted text written in the query or a :parameter (here: {node.sql()[:60]}): "
            f"{risk} can run far past the time limit"
        )
    if len(node.name) > MAX_SEARCHED_TEXT_CHARS:
        raise _refuse(f"{what} is {len(node.name):,} characters long (at most {MAX_SEARCHED_TEXT_CHARS:,})")
    return set()


_KEPT_ARGUMENTS = (exp.DataType, exp.Literal, exp.Identifier, exp.Var, exp.Boolean, exp.Null, exp.Star)


def _stand_in(value: Any) -> Any:
    if isinstance(value, list):
        return [_stand_in(item) for item in value]
    if isinstance(value, exp.Expr) and not isinstance(value, _KEPT_ARGUMENTS):
        return exp.column("phi_argument")
    return value


def _check_placeholder(node: exp.Placeholder) -> None:
    name = node.name
    if not name or not _PLACEHOLDER_NAME.match(name):
        raise ToolError(
            "Tool.BadRequest",
            "args.sql: use named parameters (:name) with args.params; positional or unusual placeholders "
            f"({node.sql()}) are not supported",
        )


def _is_name(node: exp.Expr) -> bool:
    """A plain (possibly qualified) name, as opposed to a value: `pg_catalog`, `s.addr`."""
    if isinstance(node, exp.Dot):
        return _is_name(node.this) and isinstance(node.expression, exp.Identifier)
    return isinstance(node, exp.Identifier | exp.Column | exp.Var)


def _shape(tree: exp.Expr) -> list[tuple[str, int]]:
    """The kinds of the query's parts and the width of each select list, in order: a re-generation that
    drops an expression or a clause changes it."""
    return [
        (type(node).__name__, len(node.expressions))
        for node in tree.walk()
        if isinstance(node, exp.Select | exp.SetOperation | exp.Subquery | exp.CTE | exp.Join)
    ]


def _dot_parts(node: exp.Expr) -> list[exp.Expr]:
    if isinstance(node, exp.Dot):
        return [*_dot_parts(node.this), node.expression]
    if isinstance(node, exp.Column):
        return [part for part in node.parts]
    return [node]


def _statement_name(node: exp.Expr) -> str:
    if isinstance(node, exp.Command):
        return str(node.this).upper() or "the statement"
    if isinstance(node, exp.Alias) and isinstance(node.this, exp.Column):
        return node.this.name.upper()
    return {
        "Insert": "INSERT",
        "Update": "UPDATE",
        "Delete": "DELETE",
        "Merge": "MERGE",
        "Create": "CREATE",
        "Drop": "DROP",
        "Alter": "ALTER",
        "TruncateTable": "TRUNCATE",
        "Copy": "COPY",
        "Set": "SET",
        "Pragma": "PRAGMA",
        "Attach": "ATTACH",
        "Detach": "DETACH",
        "Use": "USE",
        "Transaction": "BEGIN",
        "Commit": "COMMIT",
        "Rollback": "ROLLBACK",
        "Grant": "GRANT",
        "Revoke": "REVOKE",
        "Describe": "DESCRIBE",
    }.get(type(node).__name__, type(node).__name__.upper())


def _first_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return re.sub(r"\x1b\[[0-9;]*m", "", text[0])[:300] if text else type(error).__name__


def guard_for(dialect_name: str, default_schema: str | None = None) -> SqlGuard:
    return SqlGuard(dialect_name, default_schema)
