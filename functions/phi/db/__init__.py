"""Data access: the connection pool, migrations and the repositories (the one place SQL lives)."""
