"""The machine API under `/api/v1`: JSON in, JSON out, authenticated by runner tokens."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from . import views  # noqa: E402,F401
