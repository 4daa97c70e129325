"""The wizard's draft rules (services/drafts.py): which draft a Connect form's token names."""

from __future__ import annotations

import uuid

import pytest

from tests.support.apps import make_app, make_config
from tests.support.factories import registry_row
from webapp.extensions import db
from webapp.services import accounts, drafts


@pytest.fixture
def orgs(tmp_path):
    app = make_app(make_config(f"sqlite:///{tmp_path / 'drafts.db'}"))
    with app.app_context():
        db.create_all()
        acme = accounts.create_org("acme", "Acme", "enterprise")
        other = accounts.create_org("other", "Other", "enterprise")
        db.session.commit()
        yield acme, other
        db.engine.dispose()


def test_a_new_drafts_token_names_its_id_for_its_org_only(orgs):
    acme, other = orgs
    registry_id = uuid.uuid4()
    token = drafts.token(acme, registry_id)
    assert drafts.slot(acme, token) == drafts.Slot(registry_id, connected=False)
    for forged in (drafts.token(other, registry_id), token[:-2] + "xx", "", None):
        with pytest.raises(drafts.FormExpired, match="This form expired"):
            drafts.slot(acme, forged)


def test_a_connected_draft_is_done_and_a_removed_one_starts_afresh(orgs):
    acme, _ = orgs
    active = registry_row("acme", secret="s", state="active")
    assert drafts.slot(acme, drafts.token(acme, active.id)).connected is True
    removed = registry_row("acme", secret="s", state="removed")
    with pytest.raises(drafts.DraftGone, match="removed meanwhile") as gone:
        drafts.slot(acme, drafts.token(acme, removed.id))
    fresh = drafts.slot(acme, gone.value.fresh_token)
    assert fresh.registry_id != removed.id and not fresh.connected
