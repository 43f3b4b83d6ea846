"""Functions `db.query` may call, per database: side-effect-free aggregates, window functions, maths,
strings, dates and times, casts and JSON. Anything not listed is refused (`Tool.NotAllowed`).

Deliberately absent, among others: everything that reads or writes server files (pg_read_file, pg_ls_dir,
lo_*, load_file, readfile), changes settings or session state (set_config, current_setting except below,
advisory locks, pg_notify, nextval/setval), signals other sessions (pg_terminate_backend,
pg_cancel_backend), reaches other servers (dblink*, openrowset), runs SQL given as text (query_to_xml,
ts_stat), sleeps (pg_sleep, sleep, benchmark), or can build a huge value from a tiny query through a width or a
count (repeat, replicate, space, zeroblob, randomblob, lpad/rpad, and `format`/`printf` on every database:
PostgreSQL's `format('%150000000s', 'x')` builds 150 MB inside the server before any row limit applies,
SQLite's width loop runs for seconds inside one step).

`generate_series` and `unnest` are allowed: they are pure, warehouse reports use them to fill empty hours
and days, and the size of what they produce is bounded by the agent's deadline and its row and byte caps.
"""

from __future__ import annotations

_COMMON = """
count sum avg min max coalesce nullif greatest least
abs ceil ceiling floor round sign sqrt power exp ln log log10 mod
lower upper length trim ltrim rtrim substr substring replace concat
row_number rank dense_rank percent_rank cume_dist ntile lag lead first_value last_value nth_value
"""

_POSTGRES = """
date_trunc date_part date_bin to_char to_date to_timestamp to_number age make_date make_time make_timestamp
make_timestamptz make_interval justify_days justify_hours justify_interval isfinite timezone now
clock_timestamp statement_timestamp transaction_timestamp extract
string_agg array_agg json_agg jsonb_agg json_object_agg jsonb_object_agg json_build_object jsonb_build_object
json_build_array jsonb_build_array to_json to_jsonb row_to_json array_to_json json_extract_path
json_extract_path_text jsonb_extract_path jsonb_extract_path_text json_array_length jsonb_array_length
json_typeof jsonb_typeof jsonb_pretty json_each jsonb_each json_each_text jsonb_each_text
json_array_elements jsonb_array_elements json_array_elements_text jsonb_array_elements_text json_object_keys
jsonb_object_keys jsonb_path_exists jsonb_path_query jsonb_path_query_first jsonb_path_query_array
jsonb_strip_nulls json_strip_nulls jsonb_set_lax
stddev stddev_pop stddev_samp variance var_pop var_samp corr covar_pop covar_samp regr_slope regr_intercept
regr_r2 regr_count regr_avgx regr_avgy percentile_cont percentile_disc mode bool_and bool_or every bit_and
bit_or any_value
char_length character_length octet_length bit_length position strpos left right initcap reverse split_part
regexp_replace regexp_match regexp_matches regexp_split_to_array regexp_split_to_table regexp_like
regexp_count regexp_substr regexp_instr translate btrim concat_ws md5 sha224 sha256 sha384 sha512
encode decode to_hex ascii chr starts_with quote_ident quote_literal quote_nullable normalize unistr
unnest generate_series array_length array_position array_positions array_to_string string_to_array
string_to_table cardinality array_append array_prepend array_cat array_remove array_replace array_upper
array_lower array_ndims array_dims trim_array
trunc div cbrt pi degrees radians sin cos tan cot asin acos atan atan2 sinh cosh tanh width_bucket scale
gcd lcm random num_nulls num_nonnulls
date time timestamp timestamptz interval text numeric int int2 int4 int8 float4 float8 bool varchar
row
"""

_SQLITE = """
strftime date time datetime julianday unixepoch timediff
json json_extract json_array json_object json_array_length json_type json_valid json_quote json_group_array
json_group_object json_each json_tree json_patch json_remove json_insert json_replace json_set jsonb
ifnull iif instr total group_concat string_agg hex unhex quote unicode char typeof likely unlikely likelihood
like glob concat_ws octet_length
ceil ceiling floor ln log log2 pow sqrt exp pi degrees radians sin cos tan asin acos atan atan2 sinh cosh tanh
trunc random sqlite_version
"""

_MYSQL = """
date_format str_to_date date_add date_sub datediff timestampdiff timestampadd adddate subdate
curdate curtime now current_timestamp current_date utc_timestamp utc_date unix_timestamp from_unixtime
year month day dayofmonth dayofweek dayofyear hour minute second week weekday weekofyear quarter last_day
makedate maketime extract convert_tz date time timestamp to_days from_days
group_concat json_extract json_unquote json_object json_array json_arrayagg json_objectagg json_length
json_contains json_keys json_type json_valid
ifnull if instr locate left right lpad_disabled char_length character_length octet_length reverse
regexp_replace regexp_like regexp_substr regexp_instr concat_ws md5 sha1 sha2 hex unhex ascii
truncate div pow pi degrees radians sin cos tan asin acos atan atan2 cot rand
std stddev stddev_pop stddev_samp variance var_pop var_samp bit_and bit_or bit_xor any_value
cast convert
"""

_TSQL = """
getdate getutcdate sysdatetime sysutcdatetime sysdatetimeoffset datepart datename datediff datediff_big
dateadd datefromparts datetimefromparts eomonth year month day isdate todatetimeoffset switchoffset
string_agg iif isnull choose charindex patindex len datalength left right reverse stuff str concat_ws
try_cast try_convert convert cast json_value json_query isjson stdev stdevp var varp count_big
square pi degrees radians sin cos tan asin acos atan atn2 cot rand
"""

_GENERIC = ""


def _names(*blocks: str) -> frozenset[str]:
    return frozenset(name for block in blocks for name in block.split() if not name.endswith("_disabled"))


ALLOWED_FUNCTIONS: dict[str, frozenset[str]] = {
    "postgres": _names(_COMMON, _POSTGRES),
    "sqlite": _names(_COMMON, _SQLITE),
    "mysql": _names(_COMMON, _MYSQL),
    "tsql": _names(_COMMON, _TSQL),
    "oracle": _names(_COMMON),
    "": _names(_COMMON, _GENERIC),
}

# Keywords that sqlglot prints like a call but that are syntax, not functions.
SYNTAX_FORMS = frozenset(
    {"cast", "try_cast", "extract", "exists", "array", "row", "any", "all", "some", "in", "interval", "position"}
)
