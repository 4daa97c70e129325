"""The WSGI entry point: `gunicorn wsgi:app`, and what `flask` finds through .flaskenv.

It also starts this process's check scheduler, under gunicorn and `flask run` only; other
`flask` commands import this file too and start nothing (`jobs.scheduler_wanted` says how).
Runner hand-off counts still in memory are written when the process exits.
"""

import atexit

from webapp import create_app, jobs
from webapp.services import audit

app = create_app()
jobs.start_scheduler(app)
atexit.register(audit.flush_at_exit, app)
