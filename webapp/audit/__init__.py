from ..access import org_blueprint

bp = org_blueprint("audit", __name__, "/settings/audit-log")

from . import views  # noqa: E402,F401
