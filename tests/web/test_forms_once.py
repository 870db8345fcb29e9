"""HQ and dealer forms act once (app/web/once.py): each page renders its write forms with a
fresh key, so a double tap, a retry after a lost answer or a resubmitted page gets the first
answer again and changes nothing more; a refused or changed form is asked afresh."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from app.extensions import db
from app.models import IdempotencyKey
from app.web import once
from tests import factories as f
from tests.web.test_finance_pages import ADJUST, desk, entries, page_of  # noqa: F401

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
FORM = re.compile(r"<form\b[^>]*>.*?</form>", re.S)


def hidden_fields(page: str, action: str) -> dict[str, str]:
    """The hidden fields of the page's form that posts to `action`."""
    for form in FORM.findall(page):
        if f'action="{action}"' in html.unescape(form):
            hidden = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form)
            return {name: html.unescape(value) for name, value in hidden}
    raise AssertionError(f"no form posts to {action}")


def test_every_write_form_of_the_hq_pages_carries_a_key():
    missing = []
    for path in sorted((TEMPLATES / "admin").rglob("*.html")):
        for form in FORM.findall(path.read_text()):
            writes = 'name="csrf_token"' in form and "logout" not in form
            keyed = 'name="idempotency_key"' in form or 'name="key"' in form
            if writes and not keyed:
                missing.append(str(path.relative_to(TEMPLATES)))
    assert not missing, missing


def test_each_rendering_gets_its_own_key(desk):  # noqa: F811
    first = hidden_fields(page_of(desk.client, ADJUST), ADJUST)["idempotency_key"]
    second = hidden_fields(page_of(desk.client, ADJUST), ADJUST)["idempotency_key"]
    assert first and second and first != second


def _adjust(client, hidden: dict, amount: str = "-5.00", memo: str = "运费补差"):
    form = {**hidden, "dealer": "SH001", "account": "funds", "amount": amount, "memo": memo}
    return client.post(ADJUST, data=form)


def test_an_adjustment_sent_twice_is_posted_once_and_the_retry_goes_where_the_first_did(desk):  # noqa: F811
    hidden = hidden_fields(page_of(desk.client, ADJUST), ADJUST)
    first = _adjust(desk.client, hidden)
    again = _adjust(desk.client, hidden)

    assert first.status_code == again.status_code == 302
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert [(e.type, e.amount) for e in entries("SH001")] == [("adjustment", -500)]
    shown = page_of(desk.client, first.headers["Location"])
    assert "这份表单已提交过" in shown


def test_an_old_page_sent_again_after_the_replay_window_is_asked_afresh(desk, monkeypatch):  # noqa: F811
    """Back to a page used long ago, sent again: done again (the state it set may have been
    changed back since), not "already done"."""
    hidden = hidden_fields(page_of(desk.client, ADJUST), ADJUST)
    assert _adjust(desk.client, hidden).status_code == 302
    monkeypatch.setattr(once, "REPLAY_WINDOW", timedelta(0))
    again = _adjust(desk.client, hidden)
    assert again.status_code == 302 and "Idempotent-Replayed" not in again.headers
    assert [e.amount for e in entries("SH001")] == [-500, -500]


def test_the_same_page_sent_with_other_values_is_another_request(desk):  # noqa: F811
    hidden = hidden_fields(page_of(desk.client, ADJUST), ADJUST)  # the page brought back by Back
    assert _adjust(desk.client, hidden, "-5.00").status_code == 302
    assert _adjust(desk.client, hidden, "-7.00").status_code == 302
    assert [e.amount for e in entries("SH001")] == [-500, -700]


def test_a_refused_form_keeps_nothing_so_the_corrected_one_goes_through(desk):  # noqa: F811
    hidden = hidden_fields(page_of(desk.client, ADJUST), ADJUST)
    assert _adjust(desk.client, hidden, "abc").status_code == 422
    assert _adjust(desk.client, hidden, "abc").status_code == 422  # refused again, not replayed
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(IdempotencyKey)) == 0
    assert _adjust(desk.client, hidden, "-5.00").status_code == 302
    assert [e.amount for e in entries("SH001")] == [-500]


def test_a_form_without_a_key_acts_as_before(desk):  # noqa: F811
    token = f.csrf_from(page_of(desk.client, ADJUST))
    for _ in range(2):
        _adjust(desk.client, {"csrf_token": token})
    assert [e.amount for e in entries("SH001")] == [-500, -500]
