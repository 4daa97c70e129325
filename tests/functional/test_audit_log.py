"""The audit log people can read: sentences, labelled details, filters, 50 a page."""

import re

from tests.support.factories import org_row, registry_row
from webapp.extensions import db
from webapp.services import audit, registries

LOG = "/orgs/acme/settings/audit-log/"


def add_events(app, count, action="tool.added", actor=None, label="Build tool"):
    with app.app_context():
        org = org_row("acme")
        for n in range(count):
            audit.record(action, org=org, target=("tool", str(n), f"{label} {n}"),
                         details={"image": f"ghcr.io/acme/t{n}:1"},
                         actor=actor or audit.Actor("user", "1", "ana@acme.test"))
        db.session.commit()


def sentences(body):
    return [re.sub(r"<[^>]+>", "", s).strip()
            for s in re.findall(r'<p class="audit-event__sentence">(.*?)</p>', body, re.S)]


def test_events_read_as_sentences_with_labelled_details(app, client, org_admin):
    with app.app_context():
        registry = registry_row(secret="s3cret", name="Prod ECR", host="registry.acme.test",
                                namespace="team", state="draft")
        registries.activate(registry, registry.version, audit.Actor("user", "1", "ana@acme.test"))
        audit.record("registry.checked", org=org_row("acme"),
                     target=("registry", str(registry.id), "Prod ECR"),
                     details={"trigger": "manual", "from": "connected", "to": "auth_failed"},
                     actor=audit.Actor("user", "1", "ana@acme.test"))
        audit.record("support.viewed_registry", org=org_row("acme"),
                     target=("registry", str(registry.id), "Prod ECR"),
                     actor=audit.Actor("support", "9", "help@platform.test"))
        db.session.commit()
    body = client.get(LOG).get_data(as_text=True)
    said = sentences(body)
    assert said[0] == "Support access Support (help@platform.test) viewed registry Prod ECR"
    assert said[1] == "ana@acme.test checked registry Prod ECR: sign-in failed"
    assert said[2] == ("ana@acme.test added registry Prod ECR "
                       "(Docker Registry, registry.acme.test/team)")
    assert "<dt>Before</dt><dd><bdi>Connected</bdi></dd>" in body
    assert "<dt>Username</dt><dd><bdi>alice</bdi></dd>" in body
    for raw in ("registry.checked", "secret_changed", "trigger:", "status: "):
        assert raw not in re.sub(r'data-action="[^"]*"', "", body)
    assert "audit-event--support" in body and 'datetime="' in body and " UTC" in body


def test_drafts_are_logged_as_drafts_until_they_become_active(app, client, org_admin, make):
    with app.app_context():
        draft = registry_row(secret="x", name="Never connected", state="draft")
        org = org_row("acme")
        registries.discard(org, draft)
        db.session.commit()
        actions = [e.action for e in audit.events_for_org(org)]
    assert actions[0] == "registry.draft_discarded" and "registry.added" not in actions
    assert "discarded the draft of registry Never connected" in sentences(client.get(LOG).get_data(as_text=True))[0]


def test_fifty_a_page_newest_first_and_older_pages_keep_the_filters(app, client, org_admin):
    add_events(app, 60)
    add_events(app, 3, action="support.viewed_org",
               actor=audit.Actor("support", "9", "help@platform.test"), label="Acme")
    body = client.get(LOG).get_data(as_text=True)
    said = sentences(body)
    assert len(said) == 50 and said[0].startswith("Support access") and "Build tool 59" in said[3]
    older = re.search(r'href="([^"]*before=\d+[^"]*)"', body).group(1).replace("&amp;", "&")
    rest = sentences(client.get(older).get_data(as_text=True))
    assert len(rest) == 13 and "Build tool 0" in rest[-1]

    support_only = client.get(LOG + "?action=support").get_data(as_text=True)
    assert len(sentences(support_only)) == 3
    assert '<option value="support" selected>' in support_only
    by_actor = client.get(LOG + "?actor=ana@acme.test").get_data(as_text=True)
    assert len(sentences(by_actor)) == 50 and "Support access" not in "".join(sentences(by_actor))
    assert "actor=ana@acme.test&amp;before=" in by_actor  # the older page keeps the filter
    assert client.get(LOG + "?action=nonsense&actor=" + "x" * 5000).status_code == 200


def test_htmx_swaps_only_the_log(app, client, org_admin, hx):
    add_events(app, 2)
    fragment = client.get(LOG + "?action=tool", headers=hx).get_data(as_text=True)
    assert fragment.startswith('<div id="audit-log"') and "<html" not in fragment
    assert len(sentences(fragment)) == 2
