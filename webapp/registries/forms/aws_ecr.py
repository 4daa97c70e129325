"""The AWS ECR settings form: the registry's address (account and region read from it), and how
the platform signs in to AWS: an IAM role (with the external ID the platform generated for this
registry) or an access key pair. Its words and rules are the provider's
(registry_client/providers/aws_ecr.py)."""

from __future__ import annotations

import re

from flask import current_app
from wtforms import Field, RadioField, SelectChoice, StringField
from wtforms.validators import DataRequired, Length, Optional

from ...forms import strip
from ...models import Registry
from ...registry_client.address import parse_registry_url
from ...registry_client.errors import AddressError
from ...registry_client.providers import aws_ecr, ecr
from ...services import drafts
from ...services.registries import RegistryDetails
from .base import RegistrySettingsForm, check_test_image, secret_field

ACCESS_KEY_ID = re.compile(r"[A-Z0-9]{16,128}")


class AwsEcrSettingsForm(RegistrySettingsForm):
    provider = aws_ecr.PROVIDER
    advanced_fields = ("test_image",)
    fields_template = "registries/wizard/_aws_ecr_fields.html"

    registry_url = StringField(
        provider.registry_url.label,
        description=provider.registry_url.help,
        filters=[strip],
        validators=[DataRequired(provider.registry_url.missing)],
    )
    auth_mode = RadioField(
        "Authentication",
        choices=[SelectChoice(key, label) for key, label in aws_ecr.AUTH_MODES.items()],
        default=aws_ecr.ROLE,
        validators=[Optional()],  # absent: the default, the recommended role
    )
    role_arn = StringField(
        "Role ARN",
        description="The IAM role in your account that the platform assumes, e.g. "
        "arn:aws:iam::123456789012:role/registry-pull.",
        filters=[strip],
        validators=[Length(max=2048)],  # required in role mode (details)
    )
    access_key_id = StringField(
        provider.username.label,
        description=provider.username.help,
        filters=[strip],
        validators=[Length(max=128)],  # required in access key mode (details)
    )
    password = secret_field(provider.secret)
    test_image = StringField(
        "Test image",
        description="Optional: an image path in this registry, like team/app:1.0, to check "
        "that the platform can pull it.",
        filters=[strip],
        validators=[Optional(), Length(max=255), check_test_image],
    )
    #: Checked in `details()`, by the chosen sign-in and the platform's settings: the JSON
    #: Schema cannot say them (api/openapi.py lists them as the form's own rules).
    form_only_rules = {
        "role_arn": ("an IAM role ARN in the platform's partition, when auth_mode is role and "
                     "the platform has AWS_PLATFORM_ROLE_ARN",),
        "access_key_id": ("an AWS access key ID, when auth_mode is access_key",),
    }
    #: An existing registry's external ID (Edit details, Replace credentials): never changed.
    stored_external_id: str | None = None

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        # Absent means the default (the API); on the page one of the two is always chosen.
        self.auth_mode.flags.optional = False

    @property
    def address_field(self) -> Field:
        return self.registry_url

    # -- what the page shows --------------------------------------------------------------

    def ecr_host(self) -> aws_ecr.EcrHost | None:
        """Account, region and partition of the typed address, when it reads as ECR's."""
        try:
            address = parse_registry_url(self.registry_url.data or "")
            return aws_ecr.parse_host(address.host)
        except (AddressError, aws_ecr.AwsAddressError):
            return None

    def namespace(self) -> str:
        try:
            return parse_registry_url(self.registry_url.data or "").namespace
        except AddressError:
            return ""

    def external_id(self) -> str | None:
        return self.stored_external_id or drafts.external_id(self.draft.data)

    @staticmethod
    def platform_role_arn() -> str | None:
        return current_app.config.get("AWS_PLATFORM_ROLE_ARN") or None

    def trust_policy(self) -> str | None:
        platform, external_id = self.platform_role_arn(), self.external_id()
        if platform is None or external_id is None:
            return None
        return aws_ecr.trust_policy(platform, external_id)

    def permissions_policy(self) -> str:
        return aws_ecr.permissions_policy(self.ecr_host(), self.namespace())

    # -- validation -----------------------------------------------------------------------

    def validate_page(self) -> bool:
        """A page's submit, every error at once: the secret access key is asked for only in
        access-key mode, and what `details()` finds (address, role, key ID) is flagged with the
        other fields' errors rather than one submit later."""
        valid = self.validate_on_submit()
        if not self.is_submitted():
            return False
        mode = self.auth_mode.data or aws_ecr.ROLE
        if (mode == aws_ecr.ACCESS_KEY and not self.password.data and not self.secret_on_file
                and not self.password.errors):
            self.password.errors.append(
                self.provider.secret.missing or "Enter the secret access key."
            )
            valid = False
        if not valid and not (self.registry_url.errors or self.role_arn.errors
                              or self.access_key_id.errors):
            self.details()  # its errors go beside their fields
        return valid


    def awaits_role(self) -> bool:
        """Role mode with no role ARN yet: the REST API's first step (the wizard shows the
        external ID and policies on the page instead, and asks for the ARN at once)."""
        return (self.auth_mode.data or aws_ecr.ROLE) == aws_ecr.ROLE and not self.role_arn.data

    def details(self, role_pending: bool = False) -> RegistryDetails | None:
        """`role_pending`: role mode may leave the role ARN out (a draft that waits for it;
        its external ID is generated now, its policies can be shown); every other rule holds,
        the platform's own AWS identity included."""
        host = self._host()
        mode = self.auth_mode.data or aws_ecr.ROLE
        role_arn = access_key_id = None
        if mode == aws_ecr.ROLE:
            if role_pending and self.awaits_role() and self.platform_role_arn() is not None:
                role_arn = None
            else:
                role_arn = self._role_arn(host)
        else:
            access_key_id = self._access_key_id()
        if host is None or self.role_arn.errors or self.access_key_id.errors:
            return None
        address, parsed = host
        return RegistryDetails(
            kind=self.provider.kind,
            name=self.name.data,
            scheme="https",
            host=address.netloc,
            namespace=address.namespace,
            username=ecr.USERNAME,
            secret=(self.password.data or None) if mode == aws_ecr.ACCESS_KEY else None,
            test_image=self.test_image.data,
            aws_auth_mode=mode,
            aws_role_arn=role_arn,
            aws_external_id=None if self.stored_external_id else self.external_id(),
            aws_access_key_id=access_key_id,
        )

    def _host(self):  # type: ignore[no-untyped-def]
        try:
            address = parse_registry_url(self.registry_url.data)
            if address.port is not None:
                raise aws_ecr.AwsAddressError("An ECR registry address has no port.")
            return address, aws_ecr.parse_host(address.host)
        except (AddressError, aws_ecr.AwsAddressError) as error:
            self.registry_url.errors.append(str(error))
            return None

    def _role_arn(self, host) -> str | None:  # type: ignore[no-untyped-def]
        platform = self.platform_role_arn()
        if platform is None:
            self.role_arn.errors.append(
                "IAM roles are not available: your platform operator must set "
                "AWS_PLATFORM_ROLE_ARN first. Use an access key meanwhile."
            )
            return None
        if not self.role_arn.data:
            self.role_arn.errors.append("Enter the ARN of the role the platform should assume.")
            return None
        try:
            partition, _account = aws_ecr.parse_role_arn(self.role_arn.data)
        except aws_ecr.AwsAddressError as error:
            self.role_arn.errors.append(str(error))
            return None
        try:
            platform_partition, _ = aws_ecr.parse_role_arn(platform)
        except aws_ecr.AwsAddressError:
            platform_partition = "aws"
        if partition != platform_partition:
            self.role_arn.errors.append(
                f"This role is in the {partition} partition and the platform's AWS identity in "
                f"{platform_partition}: a role can only be assumed from its own partition."
            )
            return None
        if host is not None and host[1].partition != partition:
            self.role_arn.errors.append(
                f"The registry is in the {host[1].partition} partition; the role must be too."
            )
            return None
        return self.role_arn.data

    def _access_key_id(self) -> str | None:
        value = (self.access_key_id.data or "").strip()
        if not value:
            self.access_key_id.errors.append("Enter the access key ID.")
            return None
        if not ACCESS_KEY_ID.fullmatch(value):
            self.access_key_id.errors.append(
                "An access key ID is 16 or more capital letters and digits, like "
                "AKIAIOSFODNN7EXAMPLE."
            )
            return None
        return value

    def use_registry(self, registry: Registry) -> None:
        self.stored_external_id = registry.aws_external_id

    def fill_from(self, registry: Registry) -> None:
        self.name.data = registry.name
        namespace = f"/{registry.namespace}" if registry.namespace else ""
        self.registry_url.data = registry.host + namespace
        self.auth_mode.data = registry.aws_auth_mode or aws_ecr.ROLE
        self.role_arn.data = registry.aws_role_arn
        self.access_key_id.data = registry.aws_access_key_id
        self.test_image.data = registry.test_image
        self.use_registry(registry)
