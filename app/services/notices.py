"""Deposit notices (CONTRACT §3, §4): a dealer tells HQ about a transfer, HQ decides once."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from app.errors import Conflict, Invalid, NotFound
from app.extensions import db
from app.models import DepositNotice, User
from app.models.notices import CONFIRMED, NOTICE_STATUSES, PENDING, REJECTED
from app.models.types import utcnow
from app.services import audit, permissions, wallet

MAX_RECEIPT_BYTES = 5 * 1024 * 1024
REFERENCE_MAX = 64
NOTE_MAX = 500
REASON_MAX = 500
# (leading bytes, MIME type, file extension); the content decides, never the file name.
SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"%PDF-", "application/pdf", ".pdf"),
)


def receipts_dir() -> Path:
    """Where receipts are kept: RECEIPTS_DIR, else <instance>/receipts (outside static/)."""
    configured = current_app.config.get("RECEIPTS_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "receipts"


def detect_type(content: bytes) -> tuple[str, str] | None:
    """(MIME type, extension) from the file's magic bytes, or None."""
    for magic, mimetype, extension in SIGNATURES:
        if content.startswith(magic):
            return mimetype, extension
    return None


def _check_receipt(content: bytes) -> tuple[str, str]:
    if len(content) > MAX_RECEIPT_BYTES:
        raise Invalid(
            "The receipt is larger than 5 MB.",
            code="receipt_too_large",
            errors={"receipt": ["The receipt must be at most 5 MB."]},
        )
    found = detect_type(content)
    if found is None:
        raise Invalid(
            "The receipt is not a JPEG, PNG or PDF file.",
            code="receipt_type",
            errors={"receipt": ["The receipt must be a JPEG, PNG or PDF file."]},
        )
    return found


def _check_fields(amount_fen: int, reference: str, note: str) -> None:
    errors = {}
    if not isinstance(amount_fen, int) or amount_fen <= 0:
        errors["amount"] = ["The amount must be more than zero."]
    if not reference or not reference.strip():
        errors["reference"] = ["The reference must not be empty."]
    elif len(reference) > REFERENCE_MAX:
        errors["reference"] = [f"The reference must be at most {REFERENCE_MAX} characters."]
    if len(note) > NOTE_MAX:
        errors["note"] = [f"The note must be at most {NOTE_MAX} characters."]
    if errors:
        raise Invalid(errors=errors)


def _duplicate(reference: str) -> Conflict:
    return Conflict(
        f"Reference {reference!r} is already pending or confirmed for this dealer.",
        code="duplicate_reference",
    )


def _live_exists(dealer_id: int, reference: str) -> bool:
    return bool(
        db.session.scalar(
            select(func.count(DepositNotice.id)).where(
                DepositNotice.dealer_id == dealer_id,
                DepositNotice.reference == reference,
                DepositNotice.status != REJECTED,
            )
        )
    )


def submit_notice(
    user: User,
    amount_fen: int,
    reference: str,
    note: str = "",
    receipt: tuple[bytes, str] | None = None,
) -> DepositNotice:
    """Record a pending notice; the receipt is checked by content and stored under a random
    name only once everything else is valid. Raises Invalid or Conflict (duplicate_reference).
    """
    reference = (reference or "").strip()
    note = note or ""
    _check_fields(amount_fen, reference, note)
    detected = _check_receipt(receipt[0]) if receipt is not None else None
    dealer_id = user.dealer_id
    if _live_exists(dealer_id, reference):
        raise _duplicate(reference)
    notice = DepositNotice(
        dealer_id=dealer_id,
        user_id=user.id,
        amount=amount_fen,
        reference=reference,
        note=note,
        status=PENDING,
        reason="",
    )
    path = None
    if detected is not None:
        mimetype, extension = detected
        folder = receipts_dir()
        folder.mkdir(parents=True, exist_ok=True)
        name = secrets.token_hex(16) + extension
        path = folder / name
        # O_EXCL: a (vanishingly unlikely) clash never overwrites another receipt.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(receipt[0])
        notice.receipt_path, notice.receipt_type = name, mimetype
    try:
        db.session.add(notice)
        db.session.commit()
    except IntegrityError as err:  # the same reference told concurrently
        db.session.rollback()
        _remove(path)
        raise _duplicate(reference) from err
    except Exception:
        db.session.rollback()
        _remove(path)
        raise
    return notice


def _remove(path: Path | None) -> None:
    if path is not None:
        path.unlink(missing_ok=True)


def dealer_notices(dealer, page: int = 1, per_page: int = 50):
    """The dealer's notices, newest first, with the total count."""
    condition = DepositNotice.dealer_id == dealer.id
    rows = db.session.scalars(
        select(DepositNotice)
        .where(condition)
        .order_by(DepositNotice.created_at.desc(), DepositNotice.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    total = db.session.scalar(select(func.count(DepositNotice.id)).where(condition))
    return rows, total


def pending_for(dealer, newest: int = 3) -> tuple[int, int, list[DepositNotice]]:
    """The dealer's notices still waiting for HQ: how many, their sum (fen), the newest few."""
    mine = (DepositNotice.dealer_id == dealer.id, DepositNotice.status == PENDING)
    count, total = db.session.execute(
        select(
            func.count(DepositNotice.id), func.coalesce(func.sum(DepositNotice.amount), 0)
        ).where(*mine)
    ).one()
    rows = db.session.scalars(
        select(DepositNotice)
        .where(*mine)
        .order_by(DepositNotice.created_at.desc(), DepositNotice.id.desc())
        .limit(newest)
    ).all()
    return int(count), int(total), list(rows)


def admin_notices(status: str | None = None, page: int = 1, per_page: int = 50):
    """Every dealer's notices (optionally of one status), oldest first, with their dealer."""
    conditions = []
    if status:
        if status not in NOTICE_STATUSES:
            raise Invalid(errors={"status": ["Must be pending, confirmed or rejected."]})
        conditions.append(DepositNotice.status == status)
    rows = db.session.scalars(
        select(DepositNotice)
        .options(joinedload(DepositNotice.dealer))
        .where(*conditions)
        .order_by(DepositNotice.created_at, DepositNotice.id)
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    total = db.session.scalar(select(func.count(DepositNotice.id)).where(*conditions))
    return rows, total


def _notice(notice_id: int) -> DepositNotice:
    notice = db.session.get(DepositNotice, notice_id, populate_existing=True)
    if notice is None:
        raise NotFound(f"No deposit notice {notice_id}.", code="notice_not_found")
    return notice


def _decide(notice_id: int, admin: User, status: str, reason: str = "") -> bool:
    """Move a pending notice to `status`; False when it was no longer pending (the guard
    makes two racing admins queue on the row, and only the first one decides)."""
    result = db.session.execute(
        update(DepositNotice)
        .where(DepositNotice.id == notice_id, DepositNotice.status == PENDING)
        .values(status=status, reason=reason, decided_at=utcnow(), decided_by_id=admin.id)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def confirm_notice(admin: User, notice_id: int) -> DepositNotice:
    """Confirm and credit the deposit exactly as HQ's deposit call would (once per reference).

    Already confirmed → unchanged; rejected → Conflict; NotFound for an unknown id.
    """
    permissions.require(admin, permissions.WALLET)
    notice = _notice(notice_id)
    if notice.status == REJECTED:
        raise Conflict("This notice was rejected.", code="notice_rejected")
    if notice.status == CONFIRMED:
        return notice
    dealer_code, amount, reference = notice.dealer.code, notice.amount, notice.reference
    if not _decide(notice_id, admin, CONFIRMED):
        db.session.rollback()
        return _settled(notice_id, CONFIRMED)
    audit.record(
        admin,
        "notice.confirm",
        "deposit_notice",
        str(notice_id),
        {"status": PENDING},
        {"status": CONFIRMED, "amount": amount, "reference": reference, "dealer": dealer_code},
    )
    try:
        # Commits the claim together with the ledger entry.
        wallet.record_deposit(dealer_code, amount, reference, admin)
    except Exception:
        db.session.rollback()
        raise
    # record_deposit commits when it posts; when the reference was already credited it may
    # have rolled back (a concurrent posting) or not committed: claim again (a no-op once
    # the claim is committed) and commit.
    _decide(notice_id, admin, CONFIRMED)
    db.session.commit()
    return _notice(notice_id)


def _settled(notice_id: int, wanted: str) -> DepositNotice:
    """The notice another admin decided a moment ago: fine if as wanted, else Conflict."""
    notice = _notice(notice_id)
    if notice.status != wanted:
        raise Conflict(f"This notice was {notice.status}.", code=f"notice_{notice.status}")
    return notice


def reject_notice(admin: User, notice_id: int, reason: str) -> DepositNotice:
    """Reject a pending notice with a reason. Confirmed → Conflict; rejected → unchanged."""
    permissions.require(admin, permissions.WALLET)
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(errors={"reason": ["A reason is required."]})
    if len(reason) > REASON_MAX:
        raise Invalid(errors={"reason": [f"The reason must be at most {REASON_MAX} characters."]})
    notice = _notice(notice_id)
    if notice.status == CONFIRMED:
        raise Conflict("This notice was confirmed.", code="notice_confirmed")
    if notice.status == REJECTED:
        return notice
    if not _decide(notice_id, admin, REJECTED, reason):
        db.session.rollback()
        return _settled(notice_id, REJECTED)
    audit.record(
        admin,
        "notice.reject",
        "deposit_notice",
        str(notice_id),
        {"status": PENDING},
        {"status": REJECTED, "reason": reason},
    )
    db.session.commit()
    return _notice(notice_id)


def receipt_for(user: User, notice_id: int) -> tuple[Path, str]:
    """(file path, MIME type) of a notice's receipt, for that dealer's users or HQ (admin,
    finance).

    NotFound otherwise, and for a notice without a receipt: a dealer never learns that
    another dealer's notice exists.
    """
    notice = db.session.get(DepositNotice, notice_id)
    allowed = notice is not None and (
        permissions.allowed(user, permissions.WALLET)
        or (user.is_dealer and user.dealer_id == notice.dealer_id)
    )
    if not allowed or notice.receipt_path is None:
        raise NotFound("No such receipt.", code="receipt_not_found")
    path = receipts_dir() / Path(notice.receipt_path).name
    if not path.is_file():
        raise NotFound("No such receipt.", code="receipt_not_found")
    return path, notice.receipt_type
