from flask import Blueprint

bp = Blueprint("support", __name__, url_prefix="/support")

from . import views  # noqa: E402,F401
