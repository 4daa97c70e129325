"""The limit of the stack for bench/pages.py: a bare Flask app with one "hello" route, served by
the same gunicorn command as the product. It imports nothing of ours, so it measures only
gunicorn, Werkzeug and Flask on this machine at this moment."""

from flask import Flask

BODY = "Hello, World!"

app = Flask(__name__)


@app.route("/")
def hello() -> str:
    return BODY
