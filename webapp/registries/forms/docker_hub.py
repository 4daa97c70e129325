"""Docker Hub's settings form; its words are the provider's
(registry_client/providers/docker_hub.py)."""

from __future__ import annotations

from ...registry_client.providers import docker_hub
from .base import FixedHostSettingsForm, namespace_field, secret_field, username_field


class DockerHubSettingsForm(FixedHostSettingsForm):
    provider = docker_hub.PROVIDER
    username = username_field(provider.username)
    password = secret_field(provider.secret)
    namespace = namespace_field(provider)
