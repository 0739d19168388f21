"""The `portguard` command: serve, demo, db, and each domain's commands."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from sqlalchemy.exc import OperationalError, ProgrammingError

from portguard.controls import cli as controls_cli
from portguard.core.console import console, err_console
from portguard.core.errors import PortGuardError
from portguard.declarations import cli as declarations_cli
from portguard.network import cli as network_cli
from portguard.personnel import cli as personnel_cli
from portguard.release import cli as release_cli
from portguard.risk import cli as risk_cli
from portguard.sharing import cli as sharing_cli
from portguard.substances import cli as substances_cli
from portguard.tracking import cli as tracking_cli

app = typer.Typer(
    help="PortGuard: targeting, container security and sharing for European ports.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(sharing_cli.org_app, name="org")
app.add_typer(sharing_cli.user_app, name="user")
app.add_typer(sharing_cli.token_app, name="token")
app.add_typer(sharing_cli.audit_app, name="audit")
app.add_typer(declarations_cli.app, name="declarations")
app.add_typer(controls_cli.app, name="controls")
app.add_typer(risk_cli.app, name="rules")
app.add_typer(risk_cli.model_app, name="model")
app.command("select")(risk_cli.select_command)
app.add_typer(tracking_cli.app, name="tracking")
app.add_typer(release_cli.app, name="release")
app.add_typer(network_cli.app, name="network")
app.add_typer(personnel_cli.app, name="personnel")
app.add_typer(substances_cli.app, name="substances")


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply migrations up to REVISION (default: the latest)."""
    from portguard.core import migrate
    from portguard.core.db import from_settings

    db = from_settings()
    migrate.upgrade(db.engine, revision)
    console.print(f"Database at revision [bold]{migrate.current(db.engine)}[/] ({db.dialect}).")


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    reload: Annotated[bool, typer.Option(help="Restart on code changes")] = False,
) -> None:
    """Serve the workbench and the API."""
    import uvicorn

    uvicorn.run("portguard.api:create_app", factory=True, host=host, port=port, reload=reload)


@app.command()
def demo(
    serve_after: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve after loading")] = True,
    host: str = "127.0.0.1",
    port: int = 8000,
) -> None:
    """Create the database, load the demo organisations, users and notes, print the logins, and serve."""
    from portguard import demo as demo_data
    from portguard.core import migrate
    from portguard.core.db import from_settings
    from portguard.core.settings import get_settings

    db = from_settings()
    migrate.upgrade(db.engine)
    with db.session() as session:
        created = demo_data.load(session, shared_data_dir=get_settings().shared_data_dir)
    console.print("[green]Demo data loaded.[/]" if created else "Demo data already present.")
    demo_data.print_logins(console)
    if serve_after:
        console.print(f"Workbench: [bold]http://{host}:{port}[/]  (Ctrl-C to stop)")
        serve(host=host, port=port)


def main() -> None:
    """Entry point: run the CLI, turning expected errors into one red line and exit code 1."""
    try:
        app()
    except PortGuardError as exc:
        err_console.print(f"[red]error:[/] {exc.detail}")
        sys.exit(1)
    except (OperationalError, ProgrammingError) as exc:
        err_console.print("[red]database error:[/]", str(exc.orig), highlight=False)
        err_console.print("Is the schema up to date? Run `portguard db upgrade`.")
        sys.exit(1)
