"""Dealers tell HQ about transfers (§4); HQ confirms (posting the deposit once) or rejects (§3)."""

import io
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import DepositNotice, LedgerEntry
from tests import factories as f
from tests.api.helpers import assert_problem

NOTICE_KEYS = {"id", "amount", "reference", "note", "status", "reason", "has_receipt", "created_at"}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 17
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 16 + b"\xff\xd9"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
URL = "/api/v1/wallet/deposit-notices"
ADMIN_URL = "/api/v1/admin/deposit-notices"


@pytest.fixture
def desk(app, client, tmp_path, monkeypatch):
    receipts = tmp_path / "receipts"
    monkeypatch.setitem(app.config, "RECEIPTS_DIR", str(receipts))
    f.tier("GOLD", "金牌")
    f.dealer("SH001", "GOLD")
    f.dealer("BJ001", "GOLD")
    buyer = f.dealer_user("SH001", "buyer")
    rival = f.dealer_user("BJ001", "rival")
    admin = f.admin("hq")
    return SimpleNamespace(
        client=client,
        receipts=receipts,
        headers=f.api_headers(buyer),
        rival=f.api_headers(rival),
        admin=f.api_headers(admin),
    )


def tell(desk, amount="100.00", reference="ICBC-1", note=None, headers=None):
    body = {"amount": amount, "reference": reference}
    if note is not None:
        body["note"] = note
    return desk.client.post(URL, json=body, headers=headers or desk.headers)


def tell_with_file(desk, content, filename, reference="ICBC-F", amount="50.00"):
    data = {"amount": amount, "reference": reference, "receipt": (io.BytesIO(content), filename)}
    return desk.client.post(
        URL, data=data, headers=desk.headers, content_type="multipart/form-data"
    )


def stored_files(desk):
    return sorted(desk.receipts.iterdir()) if desk.receipts.exists() else []


def notice_count():
    return db.session.scalar(select(func.count(DepositNotice.id)))


def confirm(desk, notice_id):
    return desk.client.post(f"{ADMIN_URL}/{notice_id}/confirm", headers=desk.admin)


def reject(desk, notice_id, reason="查无此款"):
    body = {} if reason is None else {"reason": reason}
    return desk.client.post(f"{ADMIN_URL}/{notice_id}/reject", json=body, headers=desk.admin)


def wallet_balance(desk):
    return desk.client.get("/api/v1/wallet", headers=desk.headers).get_json()["funds"]["balance"]


def deposit_entries(reference):
    return db.session.scalars(
        select(LedgerEntry).where(LedgerEntry.reference == f"deposit:{reference}")
    ).all()


# --- submitting -----------------------------------------------------------------------


def test_a_json_notice_is_201_pending_without_a_receipt(desk):
    response = tell(desk, "1234.50", "ICBC-1", note="3月货款")

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert set(body) == NOTICE_KEYS
    assert body["amount"] == "1234.50"
    assert body["reference"] == "ICBC-1"
    assert body["note"] == "3月货款"
    assert body["status"] == "pending"
    assert body["reason"] == ""
    assert body["has_receipt"] is False
    assert wallet_balance(desk) == "0.00"  # nothing credited until HQ confirms


@pytest.mark.parametrize(
    ("content", "filename", "mimetype"),
    [
        (PNG, "回单.png", "image/png"),
        (JPEG, "r.jpg", "image/jpeg"),
        (PDF, "r.pdf", "application/pdf"),
    ],
)
def test_a_multipart_notice_keeps_the_receipt_under_a_random_name(
    desk, content, filename, mimetype
):
    response = tell_with_file(desk, content, filename)

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["has_receipt"] is True and body["amount"] == "50.00"
    [stored] = stored_files(desk)
    assert stored.read_bytes() == content
    assert filename not in stored.name and len(stored.stem) == 32
    got = desk.client.get(f"{URL}/{body['id']}/receipt", headers=desk.headers)
    assert got.status_code == 200
    assert got.data == content
    assert got.mimetype == mimetype
    assert got.headers["Content-Disposition"] == "inline"
    assert got.headers["Cache-Control"] == "private, no-store"
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    by_hq = desk.client.get(f"{ADMIN_URL}/{body['id']}/receipt", headers=desk.admin)
    assert by_hq.status_code == 200 and by_hq.data == content


def test_a_receipt_is_judged_by_its_content_not_its_name(desk):
    response = tell_with_file(desk, b"just some text, not a picture", "receipt.png")

    assert "receipt" in assert_problem(response, 422)["errors"]
    assert stored_files(desk) == []
    assert notice_count() == 0


def test_a_receipt_over_5_mb_is_refused_and_nothing_is_stored(desk):
    big = PNG + b"\x00" * (5 * 1024 * 1024)
    response = tell_with_file(desk, big, "big.png")

    assert response.status_code in (413, 422), response.status_code
    if response.status_code == 422:
        assert "receipt" in assert_problem(response, 422)["errors"]
    assert stored_files(desk) == []
    assert notice_count() == 0


@pytest.mark.parametrize(
    ("amount", "reference", "field"),
    [
        ("0.00", "R-1", "amount"),
        ("-1.00", "R-1", "amount"),
        ("1.00", "", "reference"),
        ("1.00", "R" * 65, "reference"),
        ("1.00", "R\x00", "reference"),
    ],
)
def test_an_invalid_notice_is_422(desk, amount, reference, field):
    assert field in assert_problem(tell(desk, amount, reference), 422)["errors"]
    assert notice_count() == 0


def test_an_invalid_field_with_a_valid_receipt_stores_no_file(desk):
    response = tell_with_file(desk, PNG, "r.png", amount="0.00")

    assert_problem(response, 422)
    assert stored_files(desk) == []


def test_a_reference_pending_or_confirmed_is_409_and_rejected_frees_it(desk):
    first = tell(desk, reference="ICBC-9").get_json()
    assert_problem(tell(desk, reference="ICBC-9"), 409, "duplicate_reference")
    # another dealer may use the same reference text
    assert tell(desk, reference="ICBC-9", headers=desk.rival).status_code == 201

    assert reject(desk, first["id"]).status_code == 200
    again = tell(desk, reference="ICBC-9")
    assert again.status_code == 201, again.get_json()

    assert confirm(desk, again.get_json()["id"]).status_code == 200
    assert_problem(tell(desk, reference="ICBC-9"), 409, "duplicate_reference")


def test_a_duplicate_with_a_receipt_stores_no_file(desk):
    tell(desk, reference="ICBC-F")
    assert_problem(tell_with_file(desk, PNG, "r.png", reference="ICBC-F"), 409)
    assert stored_files(desk) == []


# --- HQ decides -----------------------------------------------------------------------


def test_confirm_posts_the_deposit_once(desk):
    notice = tell(desk, "88.80", "ICBC-7").get_json()

    first = confirm(desk, notice["id"])
    assert first.status_code == 200, first.get_json()
    assert first.get_json()["status"] == "confirmed"
    assert wallet_balance(desk) == "88.80"
    again = confirm(desk, notice["id"])
    assert again.status_code == 200
    assert again.get_json() == first.get_json()
    assert wallet_balance(desk) == "88.80"
    [entry] = deposit_entries("ICBC-7")
    assert entry.amount == 8880 and entry.type == "deposit"


def test_a_notice_for_a_deposit_hq_already_recorded_credits_it_once(desk):
    posted = desk.client.post(
        "/api/v1/admin/dealers/SH001/wallet/deposits",
        json={"amount": "10.00", "reference": "ICBC-2"},
        headers=desk.admin,
    )
    assert posted.status_code == 201
    notice = tell(desk, "10.00", "ICBC-2").get_json()

    assert confirm(desk, notice["id"]).status_code == 200
    assert wallet_balance(desk) == "10.00"
    assert len(deposit_entries("ICBC-2")) == 1


def test_reject_needs_a_reason_and_keeps_it(desk):
    notice = tell(desk).get_json()

    assert "reason" in assert_problem(reject(desk, notice["id"], reason=None), 422)["errors"]
    assert "reason" in assert_problem(reject(desk, notice["id"], reason="  "), 422)["errors"]
    response = reject(desk, notice["id"], "金额不符")
    assert response.status_code == 200
    assert response.get_json()["status"] == "rejected"
    assert response.get_json()["reason"] == "金额不符"
    assert wallet_balance(desk) == "0.00"


def test_a_confirmed_notice_cannot_be_rejected(desk):
    notice = tell(desk).get_json()
    confirm(desk, notice["id"])

    assert_problem(reject(desk, notice["id"]), 409)
    assert wallet_balance(desk) == "100.00"


def test_a_rejected_notice_cannot_be_confirmed(desk):
    notice = tell(desk).get_json()
    reject(desk, notice["id"])

    assert_problem(confirm(desk, notice["id"]), 409)
    assert wallet_balance(desk) == "0.00"
    assert deposit_entries("ICBC-1") == []


def test_an_unknown_notice_is_404_for_hq(desk):
    assert_problem(confirm(desk, 999), 404)
    assert_problem(reject(desk, 999), 404)


# --- who sees what ----------------------------------------------------------------------


def test_dealers_list_only_their_own_notices_newest_first(desk):
    tell(desk, reference="A")
    tell(desk, reference="B")
    tell(desk, reference="X", headers=desk.rival)

    body = desk.client.get(URL, headers=desk.headers).get_json()
    assert [n["reference"] for n in body["items"]] == ["B", "A"]
    assert body["total"] == 2 and body["page"] == 1 and "per_page" in body
    assert all("dealer" not in n for n in body["items"])


def test_another_dealers_receipt_is_404(desk):
    notice = tell_with_file(desk, PNG, "r.png").get_json()
    plain = tell(desk, reference="NO-FILE").get_json()

    assert_problem(desk.client.get(f"{URL}/{notice['id']}/receipt", headers=desk.rival), 404)
    assert_problem(desk.client.get(f"{URL}/999/receipt", headers=desk.rival), 404)
    assert_problem(desk.client.get(f"{URL}/{plain['id']}/receipt", headers=desk.headers), 404)


def test_hq_lists_every_notice_oldest_first_with_the_dealer(desk):
    tell(desk, reference="A")
    tell(desk, reference="X", headers=desk.rival)
    rejected = tell(desk, reference="B").get_json()
    reject(desk, rejected["id"])

    body = desk.client.get(ADMIN_URL, headers=desk.admin).get_json()
    assert [(n["dealer"], n["reference"]) for n in body["items"]] == [
        ("SH001", "A"),
        ("BJ001", "X"),
        ("SH001", "B"),
    ]
    assert body["total"] == 3
    pending = desk.client.get(f"{ADMIN_URL}?status=pending", headers=desk.admin).get_json()
    assert [n["reference"] for n in pending["items"]] == ["A", "X"]
    assert_problem(desk.client.get(f"{ADMIN_URL}?status=nope", headers=desk.admin), 422)


def test_dealers_get_403_on_the_admin_paths_and_hq_on_the_dealer_paths(desk):
    notice = tell(desk).get_json()

    assert_problem(desk.client.get(ADMIN_URL, headers=desk.headers), 403)
    assert_problem(confirm_as(desk, notice["id"], desk.headers), 403)
    assert_problem(
        desk.client.get(f"{ADMIN_URL}/{notice['id']}/receipt", headers=desk.headers), 403
    )
    assert_problem(desk.client.get(URL, headers=desk.admin), 403)
    assert_problem(tell(desk, headers=desk.admin), 403)
    assert wallet_balance(desk) == "0.00"


def confirm_as(desk, notice_id, headers):
    return desk.client.post(f"{ADMIN_URL}/{notice_id}/confirm", headers=headers)


@pytest.mark.parametrize("notice_id", ["abc", "99999999999", "１"])
def test_a_malformed_notice_id_is_404(desk, notice_id):
    assert_problem(desk.client.post(f"{ADMIN_URL}/{notice_id}/confirm", headers=desk.admin), 404)
    assert_problem(desk.client.get(f"{URL}/{notice_id}/receipt", headers=desk.headers), 404)


@pytest.mark.parametrize("first", ["reject", "confirm"])
def test_two_racing_admins_cannot_both_decide(desk, monkeypatch, first):
    """The second admin read the notice as pending just before the first one decided it."""
    from app.services import notices

    notice = tell(desk, "30.00", "RACE-1").get_json()
    stale = SimpleNamespace(
        id=notice["id"],
        status="pending",
        dealer=SimpleNamespace(code="SH001"),
        amount=3000,
        reference="RACE-1",
    )
    decided = (reject if first == "reject" else confirm)(desk, notice["id"])
    assert decided.status_code == 200
    real = notices._notice
    calls = []

    def stale_first(notice_id):
        calls.append(notice_id)
        return stale if len(calls) == 1 else real(notice_id)

    monkeypatch.setattr(notices, "_notice", stale_first)
    second = confirm(desk, notice["id"]) if first == "reject" else reject(desk, notice["id"])

    assert_problem(second, 409)
    expected = "0.00" if first == "reject" else "30.00"
    assert wallet_balance(desk) == expected
    assert len(deposit_entries("RACE-1")) == (0 if first == "reject" else 1)


def test_a_failed_commit_leaves_no_receipt_file(desk, monkeypatch):
    def broken_commit():
        raise RuntimeError("database went away")

    monkeypatch.setattr(db.session, "commit", broken_commit)
    try:
        response = tell_with_file(desk, PNG, "r.png")
        assert response.status_code == 500
    except RuntimeError:
        pass
    monkeypatch.undo()

    assert stored_files(desk) == []
    assert notice_count() == 0
