from ..access import org_blueprint

bp = org_blueprint("tools", __name__, "/settings/private-tools")

from . import views  # noqa: E402,F401
