"""The machine APIs under `/api/v1`: the runner API (`views`) and the REST API (`*_views`,
`document`), JSON in and out, authenticated by tokens alone (`auth`)."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from . import (  # noqa: E402,F401
    document,
    registry_views,
    tool_views,
    views,  # noqa: E402,F401
)
from .document import docs_bp  # noqa: E402,F401
