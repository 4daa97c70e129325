"""Container image references: parsing and Docker's normalisation, with no Flask.

Follows the ``distribution/reference`` grammar (``ParseNormalizedNamed``) so that what we store,
resolve and hand to a runner means the same thing to ``docker pull`` and ``skopeo``
(registry-protocol.md §5.1-5.2)::

    reference := name [ ":" tag ] [ "@" digest ]
    name      := [ domain "/" ] path

Normalisation, as Docker does it:

* no ``/`` at all: a Docker Hub official image, ``ubuntu`` -> ``docker.io/library/ubuntu``;
* the first ``/``-component is a registry domain iff it is ``localhost``, contains ``.`` or
  ``:``, or has an upper-case letter (repository paths cannot); otherwise the whole name is a
  Docker Hub path (``acme/tool`` -> ``docker.io/acme/tool``);
* ``index.docker.io`` is rewritten to ``docker.io``;
* on ``docker.io`` a one-component path gets ``library/``;
* with neither tag nor digest the tag is ``latest``.

Deliberate differences from Docker, each refusing or fixing input Docker would mishandle:

* ``registry-1.docker.io`` is rewritten to ``docker.io`` too. ``distribution/reference`` keeps it
  as a registry of its own, but it is Docker Hub's API host, and containers/image looks its
  credentials up as Docker Hub's (``normalizeRegistry``); kept apart, an image written with it
  resolved to no registry, and no registry could be connected for it;
* the Docker Hub domains are recognised case-insensitively (``Docker.IO/ubuntu`` ->
  ``docker.io/library/ubuntu``); Docker would send that to a "registry" called ``Docker.IO``
  that does not exist, and hosts compare case-insensitively everywhere else in this app;
* a port outside 1-65535 is refused (nothing could ever be pulled from it);
* input over :data:`MAX_REFERENCE_LENGTH` characters is refused before any pattern matching.

Digests are checked as ``go-digest`` checks them (what Docker links): ``sha256`` / ``sha384`` /
``sha512`` with exactly 64 / 96 / 128 lower-case hex characters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .providers import auth_key, docker_hub

__all__ = [
    "DEFAULT_TAG",
    "MAX_PATH_LENGTH",
    "MAX_REFERENCE_LENGTH",
    "MAX_TAG_LENGTH",
    "ImageReference",
    "InvalidReference",
    "parse_reference",
]

# Docker Hub's names (its domain, its other hosts, official images' namespace) are the Docker
# Hub provider's: `providers/docker_hub.py`.
DEFAULT_TAG = "latest"
#: ``RepositoryNameTotalLengthMax``, applied to the normalised path as distribution/reference v0.6.
MAX_PATH_LENGTH = 255
MAX_TAG_LENGTH = 128
#: Longest accepted input: a 255-character path plus a long domain, a 128-character tag and a
#: sha512 digest fit; anything longer is refused before a regular expression sees it.
MAX_REFERENCE_LENGTH = 1024

# Patterns from distribution/reference regexp.go. re.ASCII because Go's \w is ASCII-only and
# Python's would accept Unicode letters; fullmatch() because Python's $ accepts a trailing "\n".
_PATH_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*", re.ASCII)
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = re.compile(
    rf"(?P<host>{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[(?P<ipv6>[a-fA-F0-9:]+)\])"
    r"(?::(?P<port>[0-9]+))?",
    re.ASCII,
)
_TAG = re.compile(r"\w[\w.-]{0,127}", re.ASCII)
_DIGEST = re.compile(
    r"(?P<algorithm>[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*):(?P<hex>[0-9a-fA-F]{32,})",
    re.ASCII,
)
_IMAGE_ID = re.compile(r"[a-f0-9]{64}", re.ASCII)
#: go-digest's registered algorithms and their encoded lengths (lower-case hex only).
_DIGEST_HEX_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}
_LOWER_HEX = re.compile(r"[a-f0-9]+", re.ASCII)


class InvalidReference(ValueError):
    """The text is not an image reference; ``str(error)`` is a reason a user can act on."""


@dataclass(frozen=True, slots=True)
class ImageReference:
    """A parsed, normalised image reference.

    ``tag`` and ``digest`` are both kept when both were written (``app:1.2@sha256:…``); ``tag``
    is ``None`` only for a digest-only reference, and ``latest`` when neither was written, so
    that the parsed value, not the formatter, carries the default and re-parsing
    :attr:`canonical` gives back an equal value.
    """

    #: Registry as written after normalisation: ``host[:port]``, IPv6 in brackets, case kept.
    domain: str
    #: ``domain``'s host in lower case, without brackets or port; use this (not ``domain``)
    #: to compare hosts.
    host: str
    port: int | None
    #: Repository path on the registry, e.g. ``library/ubuntu``.
    path: str
    tag: str | None
    digest: str | None

    @property
    def name(self) -> str:
        """``domain/path``: the repository, without tag or digest."""
        return f"{self.domain}/{self.path}"

    @property
    def is_docker_hub(self) -> bool:
        """True for images on Docker Hub (whose API and credential key differ from its domain)."""
        return docker_hub.PROVIDER.serves(self.host, self.port)

    @property
    def canonical(self) -> str:
        """Fully qualified form, ``docker.io/library/ubuntu:latest``.

        Keeps both tag and digest when both are set (``name:tag@digest``), as
        ``distribution/reference`` prints them; registries pull such a reference by digest and
        the Docker CLI (``ParseDockerRef``) drops the tag, so nothing is lost by keeping it.
        """
        return self.name + self._suffix()

    @property
    def familiar(self) -> str:
        """Docker's short form: ``ubuntu:latest``, ``acme/tool:1``, ``ghcr.io/acme/tool:1``.

        Drops ``docker.io/``, and ``library/`` when one component remains (Docker's
        ``FamiliarString``); tag and digest are formatted as in :attr:`canonical`. Unlike
        Docker, keeps ``docker.io/`` when the path's first component would read as a domain
        (``docker.io/a.b/c``, ``docker.io/localhost/x``): Docker's ``a.b/c`` names another
        registry, and a short form must parse back to the same image.
        """
        if not self.is_docker_hub or _split_domain(self.path)[0] is not None:
            return self.canonical
        path = self.path
        official = docker_hub.OFFICIAL_NAMESPACE + "/"
        if path.startswith(official) and "/" not in path[len(official) :]:
            path = path[len(official) :]
        return path + self._suffix()

    @property
    def registry_key(self) -> str:
        """The Docker config.json ``auths`` key for this image's registry."""
        return auth_key(self.domain)

    @property
    def api_host(self) -> str:
        """``host[:port]`` to send ``/v2/`` requests to (Docker Hub's API is elsewhere)."""
        return docker_hub.API_HOST if self.is_docker_hub else self.domain

    @property
    def manifest_reference(self) -> str:
        """What goes after ``/manifests/``: the digest when there is one, else the tag."""
        reference = self.digest or self.tag
        assert reference is not None, "parse_reference always sets a tag or a digest"
        return reference

    def _suffix(self) -> str:
        tag = f":{self.tag}" if self.tag is not None else ""
        digest = f"@{self.digest}" if self.digest is not None else ""
        return tag + digest


def parse_reference(text: str) -> ImageReference:
    """Parse and normalise ``text`` as ``docker pull`` would, or raise :class:`InvalidReference`.

    Nothing else is raised for any ``str``: the callers are form fields and an API that must
    answer "malformed reference" rather than fail.
    """
    _check_characters(text)
    if _IMAGE_ID.fullmatch(text):
        raise InvalidReference(f"a 64-character hex string is an image ID, not a name: {text!r}")

    rest, at, digest = text.partition("@")
    rest, colon, tag = _split_tag(rest)
    domain, written_path = _split_domain(rest)

    if not written_path:
        raise InvalidReference(f"no repository name in {text!r}")
    if written_path.lower() != written_path:
        # "Acme/Tool": "Acme" counts as a domain only because of its capital, so the user
        # almost certainly typed a Docker Hub name; show all of it.
        shown = rest if domain is not None and _is_domain_only_by_case(domain) else written_path
        raise InvalidReference(f"repository name must be lowercase: {shown!r}")
    if domain is None:
        domain = docker_hub.DOMAIN
        host, port = docker_hub.DOMAIN, None
    else:
        host, port = _parse_domain(domain)
        if docker_hub.PROVIDER.serves(host, port):
            domain = host = docker_hub.DOMAIN
    path = _check_path(written_path)
    if domain == docker_hub.DOMAIN and "/" not in path:  # an official image: ubuntu
        path = docker_hub.PROVIDER.repository(path)
    if len(path) > MAX_PATH_LENGTH:
        raise InvalidReference(
            f"repository path is too long (over {MAX_PATH_LENGTH} characters): "
            f"{len(path)} characters"
        )

    parsed_tag = _check_tag(tag) if colon else None
    parsed_digest = _check_digest(digest) if at else None
    if parsed_tag is None and parsed_digest is None:
        parsed_tag = DEFAULT_TAG
    return ImageReference(
        domain=domain, host=host, port=port, path=path, tag=parsed_tag, digest=parsed_digest
    )


def _check_characters(text: str) -> None:
    if not text:
        raise InvalidReference("the reference is empty")
    if len(text) > MAX_REFERENCE_LENGTH:
        raise InvalidReference(
            f"the reference is too long (over {MAX_REFERENCE_LENGTH} characters)"
        )
    for char in text:
        if char.isspace():
            raise InvalidReference(
                "the reference must not contain spaces or line breaks"
            )
        if not char.isascii() or not char.isprintable():
            raise InvalidReference(f"the reference contains a character not allowed: {char!r}")


def _split_tag(rest: str) -> tuple[str, str, str]:
    """Split ``name[:tag]``; a ``:`` before the last ``/`` belongs to the domain's port."""
    slash = rest.rfind("/")
    colon = rest.find(":", slash + 1)
    if colon == -1:
        return rest, "", ""
    return rest[:colon], ":", rest[colon + 1 :]


def _split_domain(name: str) -> tuple[str | None, str]:
    """``splitDockerDomain``: the domain (``None`` for Docker Hub) and the path as written."""
    first, slash, remainder = name.partition("/")
    if not slash:
        return None, name
    if first == "localhost" or "." in first or ":" in first or first.lower() != first:
        return first, remainder
    return None, name


def _is_domain_only_by_case(first: str) -> bool:
    return first != "localhost" and "." not in first and ":" not in first


def _parse_domain(domain: str) -> tuple[str, int | None]:
    match = _DOMAIN.fullmatch(domain)
    if match is None:
        raise InvalidReference(
            f"invalid registry host {domain!r}: expected a host name, an IPv4 address or an "
            "IPv6 address in brackets, optionally followed by :port"
        )
    host = (match["ipv6"] or match["host"]).lower()
    if match["port"] is None:
        return host, None
    port = int(match["port"])
    if not 1 <= port <= 65535:
        raise InvalidReference(f"invalid registry port in {domain!r}: must be 1-65535")
    return host, port


def _check_path(path: str) -> str:
    if path.endswith("/"):
        raise InvalidReference(f"repository name must not end with '/': {path!r}")
    for component in path.split("/"):
        if not component:
            raise InvalidReference(f"repository name has an empty component ('//'): {path!r}")
        if not _PATH_COMPONENT.fullmatch(component):
            raise InvalidReference(
                f"invalid repository name component {component!r}: use lowercase letters and "
                "digits, separated by one '.', one or two '_', or dashes"
            )
    return path


def _check_tag(tag: str) -> str:
    if len(tag) > MAX_TAG_LENGTH:
        raise InvalidReference(f"invalid tag: longer than {MAX_TAG_LENGTH} characters")
    if not _TAG.fullmatch(tag):
        raise InvalidReference(
            f"invalid tag {tag!r}: a tag starts with a letter, digit or '_' and contains only "
            "letters, digits, '_', '.' and '-'"
        )
    return tag


def _check_digest(digest: str) -> str:
    match = _DIGEST.fullmatch(digest)
    if match is None:
        raise InvalidReference(
            f"invalid digest {digest!r}: expected algorithm:hex, e.g. 'sha256:' and 64 hex digits"
        )
    algorithm, encoded = match["algorithm"], match["hex"]
    expected = _DIGEST_HEX_LENGTHS.get(algorithm)
    if expected is None:
        raise InvalidReference(
            f"invalid digest: unsupported algorithm {algorithm!r} (use sha256, sha384 or sha512)"
        )
    if len(encoded) != expected:
        raise InvalidReference(
            f"invalid digest: {algorithm} needs exactly {expected} hex digits, got {len(encoded)}"
        )
    if not _LOWER_HEX.fullmatch(encoded):
        raise InvalidReference(f"invalid digest: the hex digits must be lowercase: {digest!r}")
    return digest
