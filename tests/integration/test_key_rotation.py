"""Key rotation while the app keeps writing: two real processes, on SQLite (a file) and PostgreSQL.

During a rolling restart a web process can still hold the old primary key while `flask keys
rotate` runs with the new ring. Here the rotation runs as the operator runs it (the installed
`flask` script, from another directory, a fresh environment) while this process, configured with
the old ring, keeps replacing secrets through the service layer, aiming at the rows the rotation
is about to rewrite. Afterwards every secret must decrypt, with the new key alone, to the last
value written for it, and the rotation's report must say what it left on the old key.
"""

from __future__ import annotations

import random
import re
import subprocess
import time
from pathlib import Path

from sqlalchemy import func, select

from tests.support.apps import TEST_KEYS, make_app, make_config
from tests.support.factories import registry_row
from tests.support.shell import BIN, fresh_environment
from webapp.database import writing
from webapp.extensions import db
from webapp.models import Organization, Registry
from webapp.services import accounts, credentials, registries
from webapp.services.vault import new_key_line

REGISTRIES = 1500
BATCH = 100  # the rotation's --batch-size: the rows it has read and not yet rewritten
OLD, NEW = "t1", "t2"
SECRET_KEY = "test-secret-key"


def rotate(database_url: str, keys: str, cwd: Path, wait: bool = True):
    environ = fresh_environment(cwd, APP_ENV="development", DATABASE_URL=database_url,
                                SECRET_KEY=SECRET_KEY, CREDENTIAL_KEYS=keys)
    command = [str(BIN / "flask"), "--app", "wsgi", "keys", "rotate", "--batch-size", str(BATCH)]
    process = subprocess.Popen(command, cwd=cwd, env=environ, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if wait:
        process.wait(timeout=120)
    return process


def details_for(registry: Registry, secret: str) -> registries.RegistryDetails:
    return registries.RegistryDetails(
        kind=registry.kind, name=registry.name, scheme=registry.scheme, host=registry.host,
        namespace=registry.namespace, username=registry.username, secret=secret,
    )


def replace_one(org_id: int, rng: random.Random, serial: int, last: dict) -> bool:
    """Replace one secret as the credentials form does (one write transaction); True if the
    rotation had already rewritten some rows when it started."""
    with writing():
        org = db.session.get(Organization, org_id)
        # The rows the rotation works through next (it goes in id order): where a lost update
        # would happen.
        frontier = db.session.scalars(
            select(Registry.id).where(Registry.secret_key_id == OLD)
            .order_by(Registry.id).limit(BATCH)
        ).all()
        rotated = db.session.scalar(
            select(func.count()).select_from(Registry).where(Registry.secret_key_id == NEW)
        )
        registry_id = rng.choice(frontier or list(last))
        registry = registries.get(org, registry_id)
        secret = f"replaced-{serial}-{registry_id.hex[:8]}"
        registries.replace_credentials(org, registry, details_for(registry, secret))
        db.session.commit()
    last[registry_id] = secret
    return bool(rotated)


def test_rotation_beside_a_process_on_the_old_key_ring_loses_no_replacement(backend_url, tmp_path):
    new_ring = f"{new_key_line(NEW)},{TEST_KEYS}"
    old_app = make_app(make_config(backend_url))  # this process: the old ring, t1 primary
    rng = random.Random(11)
    with old_app.app_context():
        db.create_all()
        org = accounts.create_org("acme", "Acme", "enterprise")
        db.session.flush()
        last = {}
        for n in range(REGISTRIES):
            registry = registry_row(org.id, secret=f"original-{n}", commit=False)
            last[registry.id] = f"original-{n}"
        db.session.commit()
        org_id = org.id

        rotation = rotate(backend_url, new_ring, tmp_path, wait=False)
        replaced = during = 0
        deadline = time.monotonic() + 120
        while rotation.poll() is None:
            assert time.monotonic() < deadline, "the rotation did not finish"
            replaced += 1
            during += replace_one(org_id, rng, replaced, last)
        out, err = rotation.communicate()
        # Secrets replaced meanwhile by this old-ring process are left on t1, and said so.
        left = db.session.scalar(
            select(func.count()).select_from(Registry).where(Registry.secret_key_id == OLD)
        )
        db.session.remove()
        db.engine.dispose()

    assert "Traceback" not in err, err
    assert during >= 20, f"only {during} of {replaced} replacements overlapped the rotation"
    assert "could not be decrypted" not in err, err
    # Its report is a snapshot at its end; this process kept writing t1 rows until it exited.
    # Nothing but this process wrote after the snapshot, and only ever t1 rows.
    reported = re.search(rf"(\d+) secret\(s\) are still on older keys \({OLD}: \d+\)", err)
    if reported:
        assert rotation.returncode == 1 and int(reported.group(1)) <= left, out + err
    else:
        assert rotation.returncode == 0 and "No secret needs an older key" in out, out + err

    # With every process restarted on the new ring, a second run finishes the job.
    again = rotate(backend_url, new_ring, tmp_path)
    out, err = again.communicate()
    assert again.returncode == 0, out + err
    assert "No secret needs an older key" in out

    new_only = make_app(make_config(backend_url, CREDENTIAL_KEYS=new_ring.split(",")[0]))
    with new_only.app_context():
        rows = list(db.session.scalars(select(Registry)))
        assert {row.secret_key_id for row in rows} == {NEW}
        wrong = {}
        for row in rows:
            try:
                value = credentials.read_secret(row)
            except credentials.CredentialsUnreadable:
                value = "<unreadable>"
            if value != last[row.id]:
                wrong[row.id] = (value, last[row.id])
        db.session.remove()
        db.engine.dispose()
    assert not wrong, f"{len(wrong)} of {len(rows)} secrets are not the last written ({replaced} replacements): {list(wrong.values())[:5]}"
