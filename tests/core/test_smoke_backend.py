"""The migrated schema works on each back-end: a note round-trips and its audit entry is chained."""

from portguard.core import audit
from portguard.core.policy import Handling, Role
from portguard.sharing import service
from portguard.sharing.models import NoteIn


def test_note_roundtrip_and_audit(db, make_user):
    author = make_user(Role.CUSTOMS_ANALYST)
    with db.session() as session:
        note = service.create_note(
            session, actor=author.principal, data=NoteIn(title="t", body="b", handling=Handling.AMBER_STRICT)
        )
    with db.session() as session:
        got = service.get_note(session, actor=author.principal, note_id=note.id)
        assert got.title == "t"
        assert got.created_at.tzinfo is not None
        result = audit.verify(session)
    assert result.ok
    assert result.checked >= 4  # org, user, collect, consult
