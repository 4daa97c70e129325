"""Users, organisations and memberships: what the sign-in pages and the CLI share."""

from __future__ import annotations

import functools
import re

from flask import current_app
from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from ..models import PLANS, ROLES, Membership, Organization, User, utcnow

#: Load a user with their memberships and those orgs in the same statement.
WITH_MEMBERSHIPS = (joinedload(User.memberships).joinedload(Membership.org),)


@functools.cache
def user_with_memberships():
    """The signed-in user's statement, built once (every request runs it; building it, with its
    options, cost more than running it): the user `user_id` with their memberships and orgs."""
    return select(User).options(*WITH_MEMBERSHIPS).where(User.id == bindparam("user_id"))


SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
MIN_PASSWORD_LENGTH = 12
# Hashed once so an unknown email costs as much time as a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-real-password", method="scrypt")


class AccountError(ValueError):
    """Bad input for an account operation; the message is for the person who typed it."""


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def find_org(slug: str) -> Organization | None:
    if not SLUG_PATTERN.match(slug):
        return None  # not a slug: nothing to look up (ACME, NULs, lone surrogates, …)
    return db.session.scalar(select(Organization).where(Organization.slug == slug))


def authenticate(email: str, password: str) -> User | None:
    user = find_user(email)
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, password):
        return None
    return user


def create_org(slug: str, name: str, plan: str) -> Organization:
    slug = slug.strip().lower()
    if not SLUG_PATTERN.match(slug):
        raise AccountError(
            "the slug must be 1-63 lowercase letters, digits or hyphens, "
            "starting and ending with a letter or digit"
        )
    if plan not in PLANS:
        raise AccountError(f"the plan must be one of {', '.join(PLANS)}")
    name = name.strip()
    if not name or len(name) > 120:
        raise AccountError("the name must be 1-120 characters")
    if find_org(slug) is not None:
        raise AccountError(f"an organization with the slug {slug!r} already exists")
    org = Organization(slug=slug, name=name, plan=plan)
    db.session.add(org)
    return org


def create_user(
    email: str,
    password: str,
    *,
    org: Organization | None = None,
    role: str = "member",
    support: bool = False,
) -> User:
    email = normalise_email(email)
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email) or len(email) > 254:
        raise AccountError("enter an email address like name@example.com")
    if support and org is not None:
        raise AccountError("support staff are not members of an organization: drop --org")
    if role not in ROLES:
        raise AccountError(f"the role must be one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password must be at least {MIN_PASSWORD_LENGTH} characters")
    if find_user(email) is not None:
        raise AccountError(f"a user with the email {email!r} already exists")
    user = User(
        email=email,
        password_hash=generate_password_hash(
            password, method=current_app.config["PASSWORD_HASH_METHOD"]
        ),
        is_support=support,
    )
    db.session.add(user)
    if org is not None:
        db.session.add(Membership(user=user, org=org, role=role))
    return user


def set_plan(org: Organization, plan: str) -> str:
    if plan not in PLANS:
        raise AccountError(f"the plan must be one of {', '.join(PLANS)}")
    old, org.plan = org.plan, plan
    return old


def orgs_of(user: User) -> list[Organization]:
    """The user's orgs by name, from their loaded memberships (no query once loaded)."""
    return sorted((member.org for member in user.memberships), key=lambda org: org.name.lower())


def membership_by_slug(user: User, slug: str) -> Membership | None:
    """The user's membership of the org with this slug, None if they have none (or the org does
    not exist: the caller cannot tell the two apart, and neither can anyone it answers)."""
    return next((member for member in user.memberships if member.org.slug == slug), None)


def record_login(user: User) -> None:
    user.last_login_at = utcnow()


def end_sessions(user: User) -> None:
    """Every session cookie minted before now stops working."""
    user.session_epoch = (user.session_epoch or 0) + 1
