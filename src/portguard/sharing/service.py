"""Organisations, users, sharing groups and notes: the logic, with access checks and audit entries.

Every function takes a session and keyword-only arguments. `actor=None` means the platform itself (CLI run by
the operator, demo loader); it is recorded as `system` in the audit chain. A user acting goes through the policy.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portguard.core import audit
from portguard.core.audit import AuditAction, AuditEntry
from portguard.core.clock import utcnow
from portguard.core.db import paginate
from portguard.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from portguard.core.ids import new_id
from portguard.core.policy import (
    PRIVATE_SECTOR,
    ROLES,
    Handling,
    LegalRegime,
    OrgKind,
    Principal,
    RecordRecipient,
    Role,
    require_permission,
    visible_filter,
)
from portguard.sharing import auth
from portguard.sharing.models import (
    GroupIn,
    Note,
    NoteIn,
    Organisation,
    OrgIn,
    SharingGroup,
    SharingGroupMember,
    User,
    UserIn,
    UserRole,
)

# ---------------------------------------------------------------- organisations


def create_org(session: Session, *, actor: Principal | None, data: OrgIn) -> Organisation:
    """Register an organisation (platform administrators only)."""
    require_permission(actor, "org:manage")
    if session.scalar(select(Organisation.id).where(Organisation.name == data.name)):
        raise Conflict(f"an organisation named {data.name!r} exists already")
    org = Organisation(id=new_id("org"), name=data.name, kind=data.kind.value, country=data.country, member=data.member)
    session.add(org)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action=AuditAction.ADMIN,
        object_type="organisation",
        object_id=org.id,
        detail={"op": "create", "name": org.name, "kind": org.kind},
    )
    return org


def list_orgs(
    session: Session, *, actor: Principal | None, limit: int = 50, offset: int = 0
) -> tuple[list[Organisation], int]:
    """The organisation directory (names and kinds are visible to every signed-in user)."""
    return paginate(session, select(Organisation).order_by(Organisation.name), limit=limit, offset=offset)


def get_org(session: Session, *, org_id: str) -> Organisation:
    """One organisation, or NotFound."""
    org = session.get(Organisation, org_id)
    if org is None:
        raise NotFound(f"no organisation {org_id}")
    return org


def group_choices(session: Session, *, actor: Principal) -> list[tuple[str, str]]:
    """The sharing groups of the actor's organisation as (id, name) by name: a form's "shared with" choice."""
    return sorted(directory_names(session, ids=sorted(actor.group_ids)).items(), key=lambda group: group[1])


def directory_names(session: Session, *, ids: Sequence[str | None]) -> dict[str, str]:
    """Names of the organisations and sharing groups among `ids` (the directory is visible to every signed-in user),
    for pages that would otherwise show bare ids; an unknown id is left out."""
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return {}
    orgs = session.execute(select(Organisation.id, Organisation.name).where(Organisation.id.in_(wanted))).all()
    groups = session.execute(select(SharingGroup.id, SharingGroup.name).where(SharingGroup.id.in_(wanted))).all()
    return {row[0]: row[1] for row in [*orgs, *groups]}


def find_group(session: Session, *, ref: str) -> SharingGroup:
    """A sharing group by id or exact name (for the CLI)."""
    group = session.scalar(select(SharingGroup).where((SharingGroup.id == ref) | (SharingGroup.name == ref)))
    if group is None:
        raise NotFound(f"no sharing group with id or name {ref!r}")
    return group


def find_org(session: Session, *, ref: str) -> Organisation:
    """An organisation by id or exact name (for the CLI)."""
    org = session.scalar(select(Organisation).where((Organisation.id == ref) | (Organisation.name == ref)))
    if org is None:
        raise NotFound(f"no organisation with id or name {ref!r}")
    return org


# ---------------------------------------------------------------- users


def check_roles(org: Organisation, roles: Sequence[Role | str]) -> None:
    """Refuse a role the organisation's kind may not hold (a terminal operator cannot have police analysts)."""
    for role in roles:
        try:
            _, kinds = ROLES[Role(role)]
        except ValueError:
            raise InvalidInput(f"unknown role {role!r}", field="roles") from None
        if OrgKind(org.kind) not in kinds:
            raise InvalidInput(f"role {role} cannot be held in a {org.kind} organisation", field="roles")


def create_user(session: Session, *, actor: Principal | None, data: UserIn) -> User:
    """Create a user in an organisation; org admins only in their own, platform admins anywhere."""
    require_permission(actor, "user:manage")
    if actor is not None and data.org_id != actor.org_id and not actor.has("user:manage_all"):
        raise Forbidden("organisation administrators create users in their own organisation only")
    if actor is not None and Role.PLATFORM_ADMIN in data.roles and Role.PLATFORM_ADMIN not in actor.roles:
        raise Forbidden("only a platform administrator can grant platform_admin")
    org = get_org(session, org_id=data.org_id)
    check_roles(org, data.roles)
    user = User(
        id=new_id("usr"),
        username=data.username,
        display_name=data.display_name,
        email=data.email,
        org_id=org.id,
        password_hash=auth.hash_password(data.password),
        role_rows=[UserRole(role=Role(r).value) for r in dict.fromkeys(data.roles)],
    )
    session.add(user)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(f"username {data.username!r} is taken") from None
    audit.append(
        session,
        actor=actor,
        action=AuditAction.ADMIN,
        object_type="user",
        object_id=user.id,
        detail={"op": "create", "username": user.username, "org_id": org.id, "roles": user.roles},
    )
    return user


def list_users(
    session: Session, *, actor: Principal | None, org_id: str | None = None, limit: int = 50, offset: int = 0
) -> tuple[list[User], int]:
    """Users the actor may administer: their own organisation's, or everyone's for platform admins."""
    require_permission(actor, "user:read")
    query = select(User).order_by(User.username)
    if actor is not None and not actor.has("user:manage_all"):
        query = query.where(User.org_id == actor.org_id)
    if org_id:
        query = query.where(User.org_id == org_id)
    return paginate(session, query, limit=limit, offset=offset)


def get_user(session: Session, *, actor: Principal | None, user_id: str) -> User:
    """One user the actor may administer, or NotFound (never revealing users of other organisations)."""
    require_permission(actor, "user:read")
    user = session.get(User, user_id)
    if user is None or (actor is not None and not actor.has("user:manage_all") and user.org_id != actor.org_id):
        raise NotFound(f"no user {user_id}")
    return user


def load_principal(session: Session, *, user_id: str) -> Principal | None:
    """The principal for an active user: organisation, roles and sharing-group memberships."""
    user = session.get(User, user_id)
    if user is None or not user.active:
        return None
    groups = session.scalars(select(SharingGroupMember.group_id).where(SharingGroupMember.org_id == user.org_id)).all()
    roles = frozenset(Role(r) for r in user.roles if r in Role.__members__.values())
    return Principal(
        user_id=user.id,
        username=user.username,
        org_id=user.org_id,
        org_kind=OrgKind(user.org.kind),
        org_member=user.org.member,
        roles=roles,
        group_ids=frozenset(groups),
    )


# ---------------------------------------------------------------- sharing groups


def create_group(session: Session, *, actor: Principal | None, data: GroupIn) -> SharingGroup:
    """A named set of organisations that AMBER records can be shared with."""
    require_permission(actor, "group:manage")
    if session.scalar(select(SharingGroup.id).where(SharingGroup.name == data.name)):
        raise Conflict(f"a sharing group named {data.name!r} exists already")
    for org_id in data.org_ids:
        get_org(session, org_id=org_id)
    group = SharingGroup(
        id=new_id("grp"),
        name=data.name,
        description=data.description,
        member_rows=[SharingGroupMember(org_id=o) for o in dict.fromkeys(data.org_ids)],
    )
    session.add(group)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action=AuditAction.ADMIN,
        object_type="sharing_group",
        object_id=group.id,
        detail={"op": "create", "name": group.name, "org_ids": group.org_ids},
    )
    return group


def list_groups(
    session: Session, *, actor: Principal | None, limit: int = 50, offset: int = 0
) -> tuple[list[SharingGroup], int]:
    """All sharing groups (their names and members are part of the directory)."""
    return paginate(session, select(SharingGroup).order_by(SharingGroup.name), limit=limit, offset=offset)


# ---------------------------------------------------------------- notes (protected records)


def create_note(session: Session, *, actor: Principal, data: NoteIn) -> Note:
    """Write a note owned by the actor's organisation; RED notes go to named recipients (and their author)."""
    require_permission(actor, "note:write")
    if data.legal_regime == LegalRegime.LED and actor.private_sector:
        raise Forbidden("private-sector organisations cannot create LED records")
    if data.sharing_group_id is not None:
        group = session.get(SharingGroup, data.sharing_group_id)
        if group is None:
            raise InvalidInput(f"no sharing group {data.sharing_group_id}", field="sharing_group_id")
    if data.handling != Handling.RED and data.recipient_ids:
        raise InvalidInput("named recipients are for RED notes only", field="recipient_ids")
    recipients = list(dict.fromkeys([*data.recipient_ids, actor.user_id])) if data.handling == Handling.RED else []
    for user_id in recipients:
        recipient = session.get(User, user_id)
        if recipient is None:
            raise InvalidInput(f"no user {user_id}", field="recipient_ids")
        if data.legal_regime == LegalRegime.LED and OrgKind(recipient.org.kind) in PRIVATE_SECTOR:
            raise InvalidInput(
                f"{recipient.username} is in a private-sector organisation and may not receive LED records",
                field="recipient_ids",
            )
    now = utcnow()
    note = Note(
        id=new_id("note"),
        title=data.title,
        body=data.body,
        owner_org_id=actor.org_id,
        handling=data.handling.value,
        legal_regime=data.legal_regime.value,
        sharing_group_id=data.sharing_group_id,
        created_by=actor.user_id,
        created_at=now,
        updated_at=now,
    )
    session.add(note)
    session.flush()
    session.add_all(RecordRecipient(record_type="note", record_id=note.id, user_id=u) for u in recipients)
    audit.append(
        session,
        actor=actor,
        action=AuditAction.COLLECT,
        object_type="note",
        object_id=note.id,
        legal_regime=note.legal_regime,
        detail={"handling": note.handling, "recipients": recipients},
    )
    return note


def note_recipients(session: Session, *, note_id: str) -> frozenset[str]:
    """The named recipients of a note."""
    return frozenset(
        session.scalars(
            select(RecordRecipient.user_id).where(
                RecordRecipient.record_type == "note", RecordRecipient.record_id == note_id
            )
        ).all()
    )


def list_notes(
    session: Session, *, actor: Principal, justification: str | None = None, limit: int = 50, offset: int = 0
) -> tuple[list[Note], int]:
    """The notes the actor may see, newest first; LED notes only with a justification. Audited as a consult."""
    query = (
        select(Note)
        .where(visible_filter(actor, Note, justification=justification))
        .order_by(Note.created_at.desc(), Note.id.desc())
    )
    items, total = paginate(session, query, limit=limit, offset=offset)
    audit.consult_list(session, actor=actor, object_type="note", records=items, justification=justification)
    return items, total


def get_note(session: Session, *, actor: Principal, note_id: str, justification: str | None = None) -> Note:
    """One note, if the policy allows; a denied read looks like a missing one, except where a reason is owed."""
    note = session.get(Note, note_id)
    if note is None:
        raise NotFound(f"no note {note_id}")
    audit.consult_one(
        session,
        actor=actor,
        record=note,
        object_type="note",
        recipients=note_recipients(session, note_id=note.id),
        justification=justification,
    )
    return note


def find_user_id(session: Session, *, username: str) -> str:
    """The id of the user with this username, or NotFound."""
    user_id = session.scalar(select(User.id).where(User.username == username))
    if user_id is None:
        raise NotFound(f"no user {username!r}")
    return user_id


def principal_for(session: Session, *, username: str) -> Principal:
    """The principal of the user with this username (CLI commands acting as a person), or NotFound."""
    principal = load_principal(session, user_id=find_user_id(session, username=username))
    if principal is None:
        raise NotFound(f"user {username!r} cannot act (disabled?)")
    return principal


# ---------------------------------------------------------------- audit review


def list_audit(
    session: Session,
    *,
    actor: Principal,
    action: str | None = None,
    object_type: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[AuditEntry], int]:
    """Audit entries newest first: the actor's organisation's, or all for platform admins. Itself audited."""
    require_permission(actor, "audit:read")
    query = select(AuditEntry).order_by(AuditEntry.seq.desc())
    if not actor.has("audit:read_all"):
        query = query.where(AuditEntry.org_id == actor.org_id)
    if action:
        query = query.where(AuditEntry.action == action)
    if object_type:
        query = query.where(AuditEntry.object_type == object_type)
    items, total = paginate(session, query, limit=limit, offset=offset)
    audit.append(
        session,
        actor=actor,
        action=AuditAction.CONSULT,
        object_type="audit",
        detail={"seqs": [e.seq for e in items][:50]},
    )
    return items, total
