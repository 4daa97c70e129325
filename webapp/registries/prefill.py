"""Reading the wizard's "Registry address" box: an address or an image reference, pasted.

`ghcr.io/acme/tool:1.0` means GitHub with namespace `acme`; `acme/tool` or `docker.io/acme/tool`
means Docker Hub with namespace `acme`; `registry.example.com:5000/team/app:2` means a Docker
Registry at `registry.example.com:5000/team`. Without a tag or digest the whole path is taken as
the namespace, as admins paste registry URLs (`registry.example.com/team`) far more often than
bare image names on private hosts.
"""

from __future__ import annotations

from ..registry_client import providers
from ..registry_client.address import parse_registry_url
from ..registry_client.errors import AddressError
from ..registry_client.reference import InvalidReference, parse_reference


class UnreadableAddress(ValueError):
    pass


#: What the field takes, in the words of the person filling it in.
EXAMPLES = (
    "Enter a registry address like registry.example.com/team, or an image like "
    "ghcr.io/acme/app:1.0."
)


def _names_an_image(text: str) -> bool:
    if "://" in text:
        return False
    if "/" not in text:
        # `ubuntu` or `ubuntu:22.04` is an image; `registry.example.com`, `localhost:5000` and
        # `[::1]:5000` are hosts.
        host, _, port = text.partition(":")
        return not ("." in host or host == "localhost" or text.startswith("[") or port.isdigit())
    first = text.split("/", 1)[0]
    first_is_domain = "." in first or ":" in first or first == "localhost" or first != first.lower()
    return not first_is_domain or "@" in text or ":" in text.rsplit("/", 1)[-1]


def interpret(text: str, *, allow_insecure: bool) -> dict[str, str]:
    """The type and step-2 fields an address or image reference suggests."""
    if any(char.isspace() for char in text):
        raise UnreadableAddress(EXAMPLES)
    if _names_an_image(text):
        return _from_image(text)
    try:
        address = parse_registry_url(text, allow_insecure=allow_insecure)
    except AddressError as error:
        raise UnreadableAddress(str(error)) from None
    suggestion = providers.suggest_for_address(address)
    if suggestion.kind:
        return {"kind": str(suggestion.kind), "namespace": address.namespace}
    kind = suggestion.preferred_kind or providers.docker_registry.KIND
    fields = {"kind": kind, "registry_url": address.display}
    if address.scheme == "http":
        fields["registry_url"] = "http://" + address.display
    if suggestion.username and not suggestion.preferred_kind:
        fields["username"] = suggestion.username
    return fields


def _from_image(text: str) -> dict[str, str]:
    try:
        reference = parse_reference(text)
    except InvalidReference as error:
        raise UnreadableAddress(f"{EXAMPLES} ({str(error).capitalize()}.)") from None
    provider = providers.for_image_host(reference.host, reference.port)
    namespace = provider.namespace_of(reference.path)
    if provider.fixed_host is not None:
        return {"kind": provider.kind, "namespace": namespace}
    url = reference.domain + (f"/{namespace}" if namespace else "")
    return interpret(url, allow_insecure=False)  # the kind its address suggests
