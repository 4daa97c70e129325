"""The installed project: config.py and wsgi.py import from any directory, with no PYTHONPATH.

Console scripts (celery, gunicorn, flask) do not put the current directory on sys.path, so the
top-level modules must come from the (editable) install, as the webapp package does.
"""

import json
import subprocess

from tests.support.shell import BIN, ROOT, fresh_environment

FIND = (
    "import importlib.util as u, json, sys; "
    "print(*(u.find_spec(name).origin for name in ('config', 'wsgi', 'webapp')), sep='\\n'); "
    "print(json.dumps(sys.path))"
)


def test_config_and_wsgi_come_from_the_install_in_any_directory(tmp_path):
    found = subprocess.run([str(BIN / "python"), "-c", FIND], cwd="/", capture_output=True,
                           text=True, env=fresh_environment(tmp_path), timeout=60)
    assert found.returncode == 0, found.stderr
    config, wsgi, webapp, path = found.stdout.splitlines()
    assert (config, wsgi, webapp) == (str(ROOT / "config.py"), str(ROOT / "wsgi.py"),
                                      str(ROOT / "webapp" / "__init__.py"))
    assert str(ROOT) not in json.loads(path)  # found through the install, not sys.path
