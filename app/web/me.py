"""我的: the dealer's account page."""

from flask import render_template
from flask_login import current_user

from app.services import wallet
from app.web import bp


@bp.get("/me")
def me():
    dealer = current_user.dealer
    summary = wallet.summary(dealer)
    # A negative funds balance is money owed, already drawn from the credit limit.
    owed = max(-summary.funds_balance, 0)
    return render_template(
        "dealer/me.html", user=current_user, dealer=dealer, wallet=summary, owed=owed
    )
