"""The WSGI entry point: `gunicorn wsgi:app`, and what `flask` finds through .flaskenv.

It also starts this process's check scheduler, under gunicorn and `flask run` only; other
`flask` commands import this file too and start nothing (`jobs.scheduler_wanted` says how).
"""

from webapp import create_app, jobs

app = create_app()
jobs.start_scheduler(app)
