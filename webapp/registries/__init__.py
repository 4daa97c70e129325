from ..access import org_blueprint
from ..gating import require_enterprise

bp = org_blueprint(
    "registries",
    __name__,
    "/settings/infrastructure/container-registry",
    checks=[require_enterprise],
)

from . import actions, views, which  # noqa: E402,F401, I001 - routes register on import
