"""Authentication: argon2 passwords, web sessions with CSRF tokens, login throttling, and API bearer tokens.

Why these choices: argon2id is the OWASP-recommended password hash; API tokens are random (256 bits) and stored
only as SHA-256, so a database leak yields no usable token (a slow hash is pointless for random secrets); web
sessions live in the database so that logout and revocation take effect at once. Throttling is counted in the
database too, so it holds across worker processes: an IP gets a fixed number of attempts per minute, and an
account locks for a while after consecutive failures. Attempts during a lock are refused without checking the
password, so the lock ends on time and cannot be used to guess.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portguard.core import audit
from portguard.core.audit import AuditAction
from portguard.core.clock import utcnow
from portguard.core.errors import Forbidden, NotFound
from portguard.core.ids import new_id
from portguard.core.policy import OrgKind, Principal
from portguard.core.settings import Settings
from portguard.sharing.models import ApiToken, LoginAttempt, User, WebSession

TOKEN_PREFIX = "pgt_"  # noqa: S105 - a public prefix, not a secret
_hasher = PasswordHasher()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """A hash to verify against when the user does not exist, so that timing does not tell."""
    return _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    """An argon2id hash of `password`."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches; takes the same time when the user does not exist."""
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def sha256(secret: str) -> str:
    """Hex SHA-256 of a token secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


# ---------------------------------------------------------------- web login


@dataclass(frozen=True)
class LoginResult:
    """What a login attempt produced: a session, or the reason it was refused."""

    ok: bool
    reason: str = ""
    status: int = 200
    user: User | None = None
    web_session: WebSession | None = None
    locked_until: datetime | None = None


def login(session: Session, *, username: str, password: str, client_ip: str, settings: Settings) -> LoginResult:
    """Check throttles and lock-out, then the password; record the attempt; open a web session on success."""
    now = utcnow()
    username = username.strip().lower()
    recent_from_ip = (
        session.scalar(
            select(func.count())
            .select_from(LoginAttempt)
            .where(LoginAttempt.client_ip == client_ip, LoginAttempt.at > now - timedelta(minutes=1))
        )
        or 0
    )
    if recent_from_ip >= settings.login_ip_attempts_per_minute:
        return LoginResult(False, "too many attempts from your address; wait a minute", 429)
    locked_until = _locked_until(session, username=username, now=now, settings=settings)
    if locked_until is not None:
        return LoginResult(False, "account locked after repeated failures", 423, locked_until=locked_until)
    user = session.scalar(select(User).where(User.username == username))
    ok = verify_password(user.password_hash if user else None, password) and user is not None and user.active
    session.add(LoginAttempt(username=username, client_ip=client_ip, at=now, success=ok))
    if not ok or user is None:
        audit.append(
            session,
            actor=None,
            action=AuditAction.LOGIN,
            object_type="user",
            object_id=user.id if user else None,
            detail={"username": username, "success": False, "ip": client_ip},
        )
        return LoginResult(False, "wrong username or password", 401)
    web_session = WebSession(
        id=secrets.token_urlsafe(32),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        expires_at=now + timedelta(hours=settings.session_hours),
    )
    session.add(web_session)
    session.flush()
    audit.append(
        session,
        actor=_actor(user),
        action=AuditAction.LOGIN,
        object_type="user",
        object_id=user.id,
        detail={"success": True, "ip": client_ip},
    )
    return LoginResult(True, user=user, web_session=web_session)


def _actor(user: User) -> Principal:
    """A minimal principal naming the user who just signed in, for the audit entry."""
    return Principal(user_id=user.id, username=user.username, org_id=user.org_id, org_kind=OrgKind(user.org.kind))


def _locked_until(session: Session, *, username: str, now: datetime, settings: Settings) -> datetime | None:
    window = timedelta(minutes=settings.login_lockout_minutes)
    last_success = session.scalar(
        select(func.max(LoginAttempt.at)).where(LoginAttempt.username == username, LoginAttempt.success)
    )
    since = now - window
    if last_success is not None and last_success > since:
        since = last_success
    failures = session.scalars(
        select(LoginAttempt.at)
        .where(LoginAttempt.username == username, ~LoginAttempt.success, LoginAttempt.at > since)
        .order_by(LoginAttempt.at.desc())
        .limit(settings.login_max_failures)
    ).all()
    if len(failures) < settings.login_max_failures:
        return None
    return failures[0] + window


def session_user(session: Session, *, session_id: str) -> WebSession | None:
    """The live web session with this id, or None when unknown, expired or revoked."""
    web_session = session.get(WebSession, session_id)
    if web_session is None or web_session.revoked_at is not None or web_session.expires_at <= utcnow():
        return None
    return web_session


def logout(session: Session, *, session_id: str, actor: Principal | None) -> None:
    """End a web session."""
    web_session = session.get(WebSession, session_id)
    if web_session is not None and web_session.revoked_at is None:
        web_session.revoked_at = utcnow()
        audit.append(session, actor=actor, action=AuditAction.LOGOUT, object_type="user", object_id=web_session.user_id)


def csrf_matches(web_session: WebSession, token: str | None) -> bool:
    """Constant-time check of a submitted CSRF token against the session's."""
    return bool(token) and hmac.compare_digest(web_session.csrf_token, token or "")


# ---------------------------------------------------------------- API tokens


def create_token(
    session: Session, *, actor: Principal | None, user_id: str, name: str, days: int
) -> tuple[ApiToken, str]:
    """A new bearer token for a user; the secret is returned once and stored only as its SHA-256."""
    if actor is not None and actor.user_id != user_id:
        raise Forbidden("tokens are created by their own user")
    if session.get(User, user_id) is None:
        raise NotFound(f"no user {user_id}")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    token = ApiToken(
        id=new_id("tok"),
        user_id=user_id,
        name=name,
        token_sha256=sha256(secret),
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    session.add(token)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action=AuditAction.ADMIN,
        object_type="api_token",
        object_id=token.id,
        detail={"op": "create", "user_id": user_id, "name": name, "expires_at": token.expires_at.isoformat()},
    )
    return token, secret


def list_tokens(session: Session, *, user_id: str) -> list[ApiToken]:
    """A user's tokens, newest first (never their secrets)."""
    return list(
        session.scalars(select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.created_at.desc())).all()
    )


def revoke_token(session: Session, *, actor: Principal | None, token_id: str) -> ApiToken:
    """Revoke a token: its owner, an admin of the owner's organisation, or a platform admin may."""
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"no token {token_id}")
    if actor is not None and token.user_id != actor.user_id:
        owner = session.get(User, token.user_id)
        same_org = owner is not None and owner.org_id == actor.org_id and actor.has("user:manage")
        if not (same_org or actor.has("user:manage_all")):
            raise NotFound(f"no token {token_id}")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.append(
            session,
            actor=actor,
            action=AuditAction.ADMIN,
            object_type="api_token",
            object_id=token.id,
            detail={"op": "revoke"},
        )
    return token


def token_user_id(session: Session, *, secret: str) -> str | None:
    """The user a bearer secret belongs to, if it is live (not expired, not revoked)."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    token = session.scalar(select(ApiToken).where(ApiToken.token_sha256 == sha256(secret)))
    now = utcnow()
    if token is None or token.revoked_at is not None or token.expires_at <= now:
        return None
    token.last_used_at = now
    return token.user_id
