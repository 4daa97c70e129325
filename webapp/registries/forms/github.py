"""GitHub's settings form: its words are the provider's (registry_client/providers/github.py)."""

from __future__ import annotations

from ...registry_client.providers import github
from .base import FixedHostSettingsForm, namespace_field, secret_field, username_field


class GitHubSettingsForm(FixedHostSettingsForm):
    provider = github.PROVIDER
    username = username_field(provider.username)
    password = secret_field(provider.secret)
    namespace = namespace_field(provider)
