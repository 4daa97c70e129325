from ..access import org_blueprint
from ..gating import require_enterprise

# Runner tokens fetch pull credentials, which only Enterprise orgs hand out.
bp = org_blueprint(
    "runner_tokens",
    __name__,
    "/settings/infrastructure/runner-tokens",
    checks=[require_enterprise],
)

from . import views  # noqa: E402,F401 - routes register on import
