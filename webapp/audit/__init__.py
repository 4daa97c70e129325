from ..access import org_blueprint

bp = org_blueprint("audit", __name__, "/settings/audit-log")

from . import views  # noqa: E402,F401
from .sentences import describe  # noqa: E402

# Every page that lists events (the log, the support console) describes them the same way.
bp.add_app_template_global(describe, "describe_event")
