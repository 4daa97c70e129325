"""Sign-in and sign-out, the landing redirect, and who is signed in."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from flask import (
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user

from .. import htmx
from ..extensions import client_address, db, limiter, login_manager
from ..models import User
from ..request_hooks import is_api_request
from ..services import accounts, audit
from . import bp
from .forms import LoginForm

login_manager.login_view = "auth.login"
login_manager.login_message = "Sign in to continue."
login_manager.login_message_category = "info"
login_manager.session_protection = "basic"


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """The cookie holds `<id>:<session epoch>`; a bumped epoch (logout) makes it worthless.
    Under `/api/` nobody: the APIs authenticate by bearer token alone and ignore cookies."""
    if is_api_request():
        return None
    identifier, _, epoch = user_id.partition(":")
    if not identifier.isdigit() or not epoch.isdigit():
        return None
    # One query for the user and their orgs: the org pages find the org and the membership
    # among them (webapp/access.py), and the org switcher lists them.
    user = db.session.execute(
        accounts.user_with_memberships(), {"user_id": int(identifier)}
    ).unique().scalar_one_or_none()
    if user is None or user.session_epoch != int(epoch):
        return None
    return user


@bp.before_app_request
def _absolute_session_limit() -> None:
    signed_in_at = session.get("signed_in_at")
    limit = current_app.config["SESSION_ABSOLUTE_LIFETIME"].total_seconds()
    if signed_in_at is not None and time.time() - signed_in_at > limit:
        logout_user()
        session.clear()


def safe_next(target: str | None) -> str | None:
    """A local path to go back to after sign-in, or None for anything that could leave us."""
    if not target or len(target) > 2000:
        return None
    if not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    if any(ord(ch) < 32 or ch == "\\" for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def landing_url(user: User) -> str:
    if user.is_support:
        return url_for("support.index")
    orgs = accounts.orgs_of(user)
    if orgs:
        return url_for("registries.index", slug=orgs[0].slug)
    return url_for("auth.no_org")


def _account_key() -> str:
    # The email the login form validates: forms read form fields only (webapp.forms.WebForm)
    # and other bodies are refused before the view, so no attempt can land in another bucket.
    return "account:" + accounts.normalise_email(request.form.get("email", ""))[:254]


def _login_failed(response) -> bool:
    return bool(g.get("login_failed"))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_FAILURES_PER_ACCOUNT"],
    key_func=_account_key,
    methods=["POST"],
    deduct_when=_login_failed,
    scope="login-account",
)
@limiter.limit(
    lambda: current_app.config["LOGIN_FAILURES_PER_ADDRESS"],
    key_func=client_address,
    methods=["POST"],
    deduct_when=_login_failed,
    scope="login-address",
)
def login():
    if current_user.is_authenticated:
        return redirect(landing_url(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data, form.password.data)
        if user is not None:
            next_url = safe_next(request.args.get("next"))
            session.clear()  # a fresh session: nothing from before sign-in carries over
            login_user(user)
            session.permanent = True
            session["signed_in_at"] = time.time()
            accounts.record_login(user)
            audit.record("user.signed_in", actor=audit.Actor.of_user(user))
            db.session.commit()
            return redirect(next_url or landing_url(user))
        g.login_failed = True
        audit.record(
            "user.sign_in_failed",
            actor=audit.Actor("user", None, accounts.normalise_email(form.email.data)),
        )
        db.session.commit()
        form.password.errors.append("That email and password do not match an account.")
    elif request.method == "POST":
        g.login_failed = True
    return render_template("auth/login.html", form=form), htmx.form_status()


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    user = current_user._get_current_object()
    accounts.end_sessions(user)
    audit.record("user.signed_out", actor=audit.Actor.of_user(user))
    db.session.commit()
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/")
@login_required
def home():
    return redirect(landing_url(current_user))


@bp.route("/no-organization")
@login_required
def no_org():
    return render_template("auth/no_org.html")
