"""`phi`: run the embedded stack, the demo, and the migrations."""

from __future__ import annotations

import faulthandler
import logging
import signal
import threading
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="Phi Agents: the cloud side on one machine (embedded stack), the demo, migrations.", no_args_is_help=True
)
STOP_STACKS_AFTER_SECONDS = 60
DataDir = Annotated[Path, typer.Option(help="Folder for the embedded stack's data (kept across restarts)")]
DEFAULT_DATA_DIR = Path(".phi")


@app.command()
def dev(
    data_dir: DataDir = DEFAULT_DATA_DIR,
    api_port: Annotated[int, typer.Option(help="Port for the REST API")] = 8000,
    aws_port: Annotated[int, typer.Option(help="Port for the moto server (the local agent's AWS endpoint)")] = 4566,
) -> None:
    """Start the embedded stack (PostgreSQL, moto, state machine, API) until Ctrl-C."""
    from phi.embedded.stack import DataDirInUse, EmbeddedStack

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for chatty in ("pgserver", "yoyo", "botocore"):  # every initdb/pg_ctl line, migration step, endpoint
        logging.getLogger(chatty).setLevel(logging.WARNING)
    stack = EmbeddedStack(data_dir=data_dir.resolve(), api_port=api_port, moto_port=aws_port)
    try:
        info = stack.start()
    except DataDirInUse as exc:
        typer.echo(f"phi dev: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"API:           {info.api_url}  (docs: {info.api_url}/docs)")
    typer.echo(f"Console:       {info.api_url}/console  (sign up there, in a browser)")
    typer.echo(f"AWS endpoint:  {info.aws_endpoint_url}  (written into agent configs as cloud.aws_endpoint_url)")
    typer.echo(f"State machine: {info.state_machine_arn}")
    typer.echo("Press Ctrl-C to stop.")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    # `kill -USR1 <pid>` writes every thread's stack to stderr: what a stop that hangs is waiting for.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        # A stop that takes more than a minute writes every thread's stack to stderr: where it waits.
        faulthandler.dump_traceback_later(STOP_STACKS_AFTER_SECONDS, exit=False)
        stack.stop()
        faulthandler.cancel_dump_traceback_later()
        typer.echo("Stopped.")


@app.command()
def demo(data_dir: DataDir = DEFAULT_DATA_DIR) -> None:
    """Run the daily warehouse report end to end on the embedded stack and print it."""
    from phi.embedded.demo import run_demo
    from phi.embedded.stack import DataDirInUse

    try:
        code = run_demo(data_dir.resolve())
    except DataDirInUse as exc:
        typer.echo(f"phi demo: {exc}", err=True)
        code = 1
    raise typer.Exit(code)


@app.command()
def migrate(database_url: Annotated[str, typer.Option(envvar="PHI_DATABASE_URL", help="PostgreSQL DSN")]) -> None:
    """Apply the versioned SQL migrations to a database."""
    from phi.db.migrate import apply_migrations

    applied = apply_migrations(database_url)
    typer.echo(f"applied: {', '.join(applied) if applied else 'nothing (up to date)'}")


@app.command("grant-admin")
def grant_admin(
    email: Annotated[str, typer.Argument(help="Email of a signed-up user")],
    database_url: Annotated[str, typer.Option(envvar="PHI_DATABASE_URL", help="PostgreSQL DSN")],
) -> None:
    """Make a user a platform administrator (sees every organisation's tasks under /admin)."""
    import psycopg

    with psycopg.connect(database_url) as conn:
        updated = conn.execute(
            "UPDATE users SET is_platform_admin = true WHERE lower(email) = lower(%s)", (email,)
        ).rowcount
    if not updated:
        typer.echo(f"no user with email {email}", err=True)
        raise typer.Exit(1)
    typer.echo(f"{email} is now a platform administrator")


if __name__ == "__main__":
    app()
