from ..access import org_blueprint

bp = org_blueprint("settings", __name__, "/settings")

from . import views  # noqa: E402,F401 - routes register on import
