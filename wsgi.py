"""The WSGI entry point: `gunicorn wsgi:app`, and what `flask` finds through .flaskenv."""

from webapp import create_app

app = create_app()
