"""CLI for the sharing domain: organisations, users, API tokens and the audit chain. Run by the operator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from portguard.core import audit
from portguard.core.console import console, emit, err_console, progress_bar
from portguard.core.db import from_settings
from portguard.core.policy import OrgKind, Role
from portguard.sharing import auth, service
from portguard.sharing.models import OrgIn, OrgOut, UserIn, UserOut

org_app = typer.Typer(help="Organisations.", no_args_is_help=True)
user_app = typer.Typer(help="Users.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit chain.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


@org_app.command("create")
def org_create(
    name: str,
    kind: Annotated[OrgKind, typer.Option()],
    country: Annotated[str, typer.Option(help="ISO 3166-1 alpha-2")],
    non_member: Annotated[bool, typer.Option("--non-member", help="Not a community member")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Register an organisation."""
    db = from_settings()
    with db.session() as session:
        org = service.create_org(
            session, actor=None, data=OrgIn(name=name, kind=kind, country=country, member=not non_member)
        )
        out = OrgOut.model_validate(org).model_dump(mode="json")
    emit(out, as_json=as_json, title="Organisation created")


@org_app.command("list")
def org_list(as_json: JsonOpt = False) -> None:
    """List organisations."""
    with from_settings().session() as session:
        orgs, _ = service.list_orgs(session, actor=None, limit=10_000)
        rows = [OrgOut.model_validate(o).model_dump(mode="json") for o in orgs]
    emit(rows, as_json=as_json, columns=["id", "name", "kind", "country", "member"], title="Organisations")


@user_app.command("create")
def user_create(
    username: str,
    org: Annotated[str, typer.Option(help="Organisation id or name")],
    role: Annotated[list[Role], typer.Option(help="Role (repeat for several)")],
    display_name: Annotated[str | None, typer.Option()] = None,
    email: Annotated[str | None, typer.Option()] = None,
    password: Annotated[
        str,
        typer.Option(prompt=True, hide_input=True, confirmation_prompt=True, envvar="PORTGUARD_NEW_PASSWORD"),
    ] = "",
    as_json: JsonOpt = False,
) -> None:
    """Create a user (the password is prompted for, or read from PORTGUARD_NEW_PASSWORD)."""
    with from_settings().session() as session:
        org_row = service.find_org(session, ref=org)
        user = service.create_user(
            session,
            actor=None,
            data=UserIn(
                username=username,
                display_name=display_name or username,
                email=email,
                org_id=org_row.id,
                roles=role,
                password=password,
            ),
        )
        out = UserOut.model_validate(user).model_dump(mode="json")
    emit(out, as_json=as_json, columns=["id", "username", "org_id", "roles"], title="User created")


@user_app.command("list")
def user_list(
    org: Annotated[str | None, typer.Option(help="Organisation id or name")] = None, as_json: JsonOpt = False
) -> None:
    """List users."""
    with from_settings().session() as session:
        org_id = service.find_org(session, ref=org).id if org else None
        users, _ = service.list_users(session, actor=None, org_id=org_id, limit=100_000)
        rows = [UserOut.model_validate(u).model_dump(mode="json") for u in users]
    emit(
        rows,
        as_json=as_json,
        columns=["id", "username", "display_name", "org_id", "roles", "active"],
        title="Users",
    )


@token_app.command("create")
def token_create(
    username: str,
    name: Annotated[str, typer.Option(help="What the token is for")] = "cli",
    days: Annotated[int, typer.Option(min=1, max=366)] = 90,
    as_json: JsonOpt = False,
) -> None:
    """Create an API token for a user; the secret is printed once."""
    with from_settings().session() as session:
        user_id = service.find_user_id(session, username=username)
        token, secret = auth.create_token(session, actor=None, user_id=user_id, name=name, days=days)
        out = {"id": token.id, "user": username, "expires_at": token.expires_at.isoformat(), "token": secret}
    if as_json:
        emit(out, as_json=True)
    else:
        console.print(f"Token [bold]{out['id']}[/] for {username}, expires {out['expires_at'][:10]}:")
        console.print(secret, soft_wrap=True)
        err_console.print("Keep it secret: it is shown only now.")


@token_app.command("revoke")
def token_revoke(token_id: str, as_json: JsonOpt = False) -> None:
    """Revoke an API token by id."""
    with from_settings().session() as session:
        token = auth.revoke_token(session, actor=None, token_id=token_id)
        out = {"id": token.id, "revoked_at": token.revoked_at.isoformat() if token.revoked_at else None}
    emit(out, as_json=as_json, title="Token revoked")


def _anchor(value: str) -> tuple[int, str]:
    seq, _, digest = value.partition(":")
    if not seq.isdigit() or len(digest) != 64:
        raise typer.BadParameter(f"{value!r} is not SEQ:HASH (as printed by an earlier `audit verify`)")
    return int(seq), digest


@audit_app.command("verify")
def audit_verify(
    anchor: Annotated[
        list[str] | None,
        typer.Option(help="SEQ:HASH printed by an earlier check and kept elsewhere (repeatable)"),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Check the whole chain; exit 1 naming the first broken entry. Prints the head to keep as an anchor."""
    anchors = dict(_anchor(a) for a in anchor or [])
    with from_settings().session() as session:
        total = audit.count(session)
        with progress_bar(disable=as_json) as bar:
            task = bar.add_task("verifying the audit chain", total=total)
            result = audit.verify(session, anchors=anchors, on_progress=lambda done: bar.update(task, completed=done))
    if as_json:
        emit(result.__dict__, as_json=True)
    elif result.ok:
        console.print(f"[green]Audit chain intact[/]: {result.checked} entries.")
        if result.head:
            console.print(f"Head (keep it elsewhere, check later with --anchor): {result.head}", soft_wrap=True)
    else:
        err_console.print(
            f"[red]Audit chain broken at entry {result.broken_seq}[/]: {result.reason} "
            f"({result.checked} entries intact before it)."
        )
    if not result.ok:
        raise typer.Exit(1)


@audit_app.command("export")
def audit_export(
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File (default: stdout)")] = None,
    org: Annotated[str | None, typer.Option(help="Only this organisation's entries")] = None,
) -> None:
    """Export the chain as JSON Lines (each entry with its hash, so a copy can be verified elsewhere)."""
    with from_settings().session() as session:
        org_id = service.find_org(session, ref=org).id if org else None
        lines = (json.dumps(e, ensure_ascii=False) + "\n" for e in audit.iter_export(session, org_id=org_id))
        if output is None:
            for line in lines:
                print(line, end="")
            return
        count = 0
        with output.open("w", encoding="utf-8") as fh:
            for line in lines:
                fh.write(line)
                count += 1
    err_console.print(f"{count} entries written to {output}")
