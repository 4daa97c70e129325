"""Audit events as people read them: a sentence naming the actor, and labelled details.

`describe(event)` turns one `AuditEvent` into a `Sentence`: who (an email, "Support (…)",
"system", a runner token), what they did as words with the names of things marked (the
template wraps them in `<bdi>`), and the details that matter under labels. Raw keys never
reach a page; a detail without a label here is not shown. `ACTIONS` are the action filter's
choices, each a label and the action keys it stands for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..models import AuditEvent
from ..registry_client import providers
from ..registry_client.statuses import Status

#: The audit log's action filter: key → (label, the actions it stands for).
ACTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "support": ("Support access", ("support.viewed_org", "support.viewed_registry")),
    "registry_added": (
        "Registry added",
        ("registry.added", "registry.connected", "registry.saved_anyway"),
    ),
    "draft": (
        "Drafts saved or discarded",
        ("registry.draft_saved", "registry.draft_discarded", "registry.discarded"),
    ),
    "check": ("Checks and status changes", ("registry.checked", "registry.status_changed")),
    "registry_changed": (
        "Registry renamed, credentials replaced or removed",
        ("registry.renamed", "registry.credentials_replaced", "registry.removed",
         "registry.alert_dismissed"),
    ),
    "handed_out": (
        "Credentials handed to runners",
        ("registry.credentials_handed_out", "registry.pull_token_handed_out"),
    ),
    "runner_token": ("Runner tokens", ("runner_token.created", "runner_token.revoked")),
    "tool": ("Private tools", ("tool.added", "tool.renamed", "tool.removed", "tool.pull_checked")),
    "org": ("Organization and people", ("org.created", "org.plan_changed", "user.created")),
}

TRIGGERS = {
    "connect": "when connecting",
    "manual": "on request",
    "scheduled": "scheduled",
    "support": "by support",
}


@dataclass
class Sentence:
    actor: str
    #: ("text" | "name" | "code", words): names are user-supplied (bdi, emphasised).
    parts: list[tuple[str, str]]
    details: list[tuple[str, str]] = field(default_factory=list)
    by_support: bool = False


def actor_words(event: AuditEvent) -> str:
    if event.actor_kind == "support":
        return f"Support ({event.actor_label})"
    if event.actor_kind == "system":
        return "The system"
    return event.actor_label or event.actor_kind


def _status(value: Any, kind: str | None = None) -> str:
    try:
        return providers.describe(str(value), kind or "docker_registry").label
    except ValueError:
        return str(value)


def _kind(value: Any) -> str:
    try:
        return providers.get(str(value)).label
    except ValueError:
        return str(value)


def _yes_no(value: Any) -> str:
    return "yes" if value else "no"


def _t(words: str) -> tuple[str, str]:
    return ("text", words)


def _n(words: str) -> tuple[str, str]:
    return ("name", words)


def _registry_in_brackets(details: dict[str, Any]) -> list[tuple[str, str]]:
    kind = _kind(details["kind"]) if details.get("kind") else ""
    bits = [bit for bit in (kind, details.get("registry") or "") if bit]
    return [_t(f" ({', '.join(bits)})")] if bits else []


def describe(event: AuditEvent) -> Sentence:
    d: dict[str, Any] = dict(event.details or {})
    action, label = event.action, event.target_label
    actor = actor_words(event)
    details: list[tuple[str, str]] = []
    reg = [_t("registry "), _n(label)]
    if action in ("registry.added", "registry.connected", "registry.saved_anyway"):
        parts = [_t("added "), *reg, *_registry_in_brackets(d)]
        if action == "registry.saved_anyway" or d.get("check") == "saved anyway":
            parts.append(_t(" without a passing check"))
        if d.get("status"):
            details.append(("Status", _status(d["status"], d.get("kind"))))
        if d.get("username"):
            details.append(("Username", str(d["username"])))
    elif action == "registry.draft_saved":
        parts = [_t("saved a draft of "), *reg, *_registry_in_brackets(d)]
        if d.get("username"):
            details.append(("Username", str(d["username"])))
        if "secret_changed" in d:
            details.append(("New secret entered", _yes_no(d["secret_changed"])))
    elif action in ("registry.draft_discarded", "registry.discarded"):
        parts = [_t("discarded the draft of "), *reg, *_registry_in_brackets(d)]
        if d.get("reason"):
            details.append(("Why", str(d["reason"])))
    elif action in ("registry.checked", "registry.status_changed"):
        outcome = _status(d.get("to", ""))
        if action == "registry.checked":
            parts = [_t("checked "), *reg, _t(f": {outcome.lower()}")]
        else:
            actor, parts = "", [_t("Check of "), *reg, _t(f": {outcome.lower()}")]
        if d.get("from") and d.get("from") != d.get("to"):
            details.append(("Before", _status(d["from"])))
        if d.get("trigger"):
            details.append(("Trigger", TRIGGERS.get(d["trigger"], str(d["trigger"]))))
    elif action == "registry.renamed":
        parts = [_t("renamed registry "), _n(str(d.get("from", ""))), _t(" to "), _n(label)]
    elif action == "registry.credentials_replaced":
        parts = [_t("replaced the credentials of "), *reg]
        if d.get("registry"):
            details.append(("Registry", str(d["registry"])))
        if d.get("username"):
            details.append(("Username", str(d["username"])))
        if "secret_changed" in d:
            details.append(("New secret entered", _yes_no(d["secret_changed"])))
    elif action == "registry.removed":
        parts = [_t("removed "), *reg, *_registry_in_brackets(d)]
        if d.get("dependent_tools"):
            details.append(("Tools that used it", str(d["dependent_tools"])))
    elif action == "registry.alert_dismissed":
        parts = [_t("dismissed the failure alert of "), *reg]
    elif action == "registry.credentials_handed_out":
        times = f" {event.count} times" if event.count > 1 else ""
        parts = [_t("received the credentials of "), *reg, _t(times)]
        if d.get("first_image"):
            details.append(("First image", str(d["first_image"])))
    elif action == "registry.pull_token_handed_out":
        times = f" {event.count} times" if event.count > 1 else ""
        parts = [_t("received a pull token of "), *reg, _t(times)]
        if d.get("first_image"):
            details.append(("First image", str(d["first_image"])))
    elif action == "runner_token.created":
        parts = [_t("created runner token "), _n(label)]
        details.append(("Expires", str(d["expires_at"])[:10] if d.get("expires_at") else "Never"))
    elif action == "runner_token.revoked":
        parts = [_t("revoked runner token "), _n(label)]
    elif action == "support.viewed_registry":
        parts = [_t("viewed "), *reg]
    elif action == "support.viewed_org":
        parts = [_t("viewed organization "), _n(label)]
    elif action == "tool.added":
        parts = [_t("added private tool "), _n(label)]
        if d.get("image"):
            details.append(("Image", str(d["image"])))
    elif action == "tool.renamed":
        parts = [_t("renamed private tool "), _n(str(d.get("from", ""))), _t(" to "), _n(label)]
    elif action == "tool.removed":
        parts = [_t("removed private tool "), _n(label)]
        if d.get("image"):
            details.append(("Image", str(d["image"])))
    elif action == "tool.pull_checked":
        outcome = str(d.get("outcome", ""))
        outcome = _status(outcome) if outcome in set(Status) else outcome
        parts = [_t("checked the pull of "), _n(label), _t(f": {outcome.lower()}")]
        if d.get("image"):
            details.append(("Image", str(d["image"])))
        if d.get("registry"):
            details.append(("Through registry", str(d["registry"])))
    elif action == "org.created":
        parts = [_t("created the organization")]
        if d.get("plan"):
            details.append(("Plan", str(d["plan"]).capitalize()))
    elif action == "org.plan_changed":
        old, new = (str(d.get(key, "")).capitalize() for key in ("from", "to"))
        parts = [_t(f"changed the plan from {old} to {new}")]
    elif action == "user.created":
        parts = [_t("added "), _n(label)]
        if d.get("role"):
            details.append(("Role", str(d["role"]).capitalize()))
    else:
        words = action.replace("_", " ").replace(".", ": ", 1)
        parts = [_t(words)] + ([_t(" "), _n(label)] if label else [])
    if actor == "" and event.actor_kind in ("user", "support"):
        details.append(("Asked for by", actor_words(event)))
    return Sentence(actor=actor, parts=parts, details=details,
                    by_support=event.actor_kind == "support")
