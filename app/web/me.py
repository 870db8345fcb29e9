"""我的: the dealer's account page, and the tabs that later issues fill in."""

from flask import render_template
from flask_login import current_user

from app.web import bp


@bp.get("/me")
def me():
    return render_template("dealer/me.html", user=current_user, dealer=current_user.dealer)


@bp.get("/cart")
def cart():
    return render_template("dealer/soon.html", tab="cart")


@bp.get("/orders")
def orders():
    return render_template("dealer/soon.html", tab="orders")
