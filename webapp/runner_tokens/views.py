"""Settings > Infrastructure > Runner tokens: an org's tokens for its self-hosted machines.

Admins create (the token is in that one answer, never again: no redirect carries it, and the
answer is `no-store`) and revoke after a confirmation; members see the list only (`@admin_only`
answers them 403). Plain forms that work without JavaScript; hx-boost makes them smoother.
"""

from __future__ import annotations

from flask import abort, current_app, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from ..access import admin_only, current_org, is_admin
from ..extensions import db
from ..forms import EmptyForm
from ..models import RunnerToken
from ..services import runner_tokens
from . import bp
from .forms import RunnerTokenCreateForm


def _page(form: RunnerTokenCreateForm | None, status: int = 200, **extra: object) -> Response:
    org = current_org()
    body = render_template(
        "runner_tokens/index.html",
        form=form,
        tokens=runner_tokens.tokens_of(org),
        can_manage=is_admin(),
        api_url=url_for("api.pull_credentials", _external=True),
        nav_active="runner_tokens",
        **extra,
    )
    response = current_app.make_response((body, status))
    response.headers["Cache-Control"] = "no-store"
    return response


def _token_or_404(token_id: int) -> RunnerToken:
    if not 0 < token_id < 2**31:
        abort(404)
    return runner_tokens.find(current_org(), token_id) or abort(404)


@bp.route("/")
def index() -> Response:
    revoked_id = request.args.get("revoked", type=int)
    revoked = (
        runner_tokens.find(current_org(), revoked_id)
        if revoked_id and 0 < revoked_id < 2**31
        else None
    )
    return _page(RunnerTokenCreateForm() if is_admin() else None, revoked=revoked)


@bp.route("/", methods=["POST"])
@admin_only
def create() -> Response:
    form = RunnerTokenCreateForm()
    if form.validate_on_submit():
        try:
            token, row = runner_tokens.create(
                form.name.data,
                org=current_org(),
                created_by=current_user,
                expires_in_days=form.expires_in_days(),
            )
        except runner_tokens.RunnerTokenError as error:
            form.name.errors.append(str(error).capitalize() + ".")
        else:
            db.session.flush()
            runner_tokens.record_created(row)
            db.session.commit()
            return _page(RunnerTokenCreateForm(formdata=None), 201, created=row, token=token)
    db.session.rollback()
    return _page(form, 422)


@bp.route("/<int:token_id>/revoke")
@admin_only
def revoke_confirm(token_id: int) -> Response:
    row = _token_or_404(token_id)
    return render_template(
        "runner_tokens/revoke.html", row=row, form=EmptyForm(), nav_active="runner_tokens"
    )


@bp.route("/<int:token_id>/revoke", methods=["POST"])
@admin_only
def revoke(token_id: int) -> Response:
    row = _token_or_404(token_id)
    form = EmptyForm()
    if not form.validate_on_submit():
        abort(400)
    if runner_tokens.revoke_row(row):
        runner_tokens.record_revoked(row)
    db.session.commit()
    return redirect(url_for(".index", revoked=row.id, _anchor=f"token-{row.id}"), 303)
