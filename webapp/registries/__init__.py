from ..access import org_blueprint
from ..gating import require_enterprise

bp = org_blueprint("registries", __name__, "/settings/infrastructure/container-registry")
bp.before_request(require_enterprise)

from . import views  # noqa: E402,F401
from . import actions  # noqa: E402,F401
