"""The catalog services HQ writes through (services + database): every on-hand change is kept
in the stock movement log (who, when, before → after, why, what kind) in the same transaction
as the count; products, prices and settings writes are audited and re-check the role; "why
this price" resolves exactly as the catalog does; product images are checked by content,
resized, and served only to those who may see the product."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select

from app.errors import Conflict, Forbidden, Invalid
from app.extensions import db
from app.models import AuditEntry, ProductImage, StockMovement
from app.services import (
    catalog,
    images,
    logistics,
    orders,
    products,
    settings,
    staff,
    stock_movements,
)
from app.services.logistics import ShipLine
from app.services.orders import LineRequest
from app.services.pricing import SOURCE_DEALER, SOURCE_LIST, SOURCE_TIER
from tests import factories as f
from tests.threads import run_together


@pytest.fixture
def hq():
    f.tier("GOLD", "金牌")
    f.tier("SILVER", "银牌")
    f.dealer("SH001", "GOLD", credit_limit=10_000_000)
    f.dealer("BJ001", "SILVER")
    f.product("TEA-1", name="绿茶", list_price=1000, on_hand=50, low_stock_threshold=5)
    return f.admin("boss")


def movements(sku: str) -> list[StockMovement]:
    db.session.rollback()
    product = products.product_by_sku(sku)
    return list(
        db.session.scalars(
            select(StockMovement)
            .where(StockMovement.product_id == product.id)
            .order_by(StockMovement.id)
        )
    )


def audit_entries(action: str) -> list[AuditEntry]:
    db.session.rollback()
    return list(
        db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        )
    )


def rows(model) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


# --- the stock movement log ------------------------------------------------------------------


def test_a_count_is_logged_with_who_before_after_why_and_kind(hq):
    started = datetime.now(UTC) - timedelta(seconds=5)
    products.set_on_hand("TEA-1", 42, reason="月末盘点", by=hq)
    last = movements("TEA-1")[-1]
    assert (last.before_on_hand, last.after_on_hand, last.change) == (50, 42, -8)
    assert (last.kind, last.reason, last.username, last.user_id) == (
        "manual",
        "月末盘点",
        "boss",
        hq.id,
    )
    assert last.at >= started
    entry = audit_entries("product.stock")[-1]
    assert (entry.username, entry.object_key) == ("boss", "TEA-1")
    assert json.loads(entry.before) == {"on_hand": 50}
    assert json.loads(entry.after) == {"on_hand": 42, "reason": "月末盘点"}


def test_the_same_count_again_logs_nothing(hq):
    before = len(movements("TEA-1"))
    products.set_on_hand("TEA-1", 50, reason="复盘", by=hq)
    assert len(movements("TEA-1")) == before


def test_a_count_below_what_orders_hold_is_refused_and_logs_nothing(hq):
    buyer = f.dealer_user("SH001")
    orders.place_order(buyer, [LineRequest("TEA-1", 30)])
    counted, audited = rows(StockMovement), rows(AuditEntry)
    with pytest.raises(Conflict) as refused:
        products.set_on_hand("TEA-1", 29, reason="盘点", by=hq)
    assert refused.value.code == "below_reserved"
    assert f.stock_of("TEA-1") == (50, 30)
    assert (rows(StockMovement), rows(AuditEntry)) == (counted, audited)


def test_other_roles_may_not_count_stock(hq):
    desk = staff.create_staff(hq, "desk", "pw-desk", "order_desk")
    counted = rows(StockMovement)
    with pytest.raises(Forbidden):
        products.set_on_hand("TEA-1", 1, reason="x", by=desk)
    assert f.stock_of("TEA-1") == (50, 0) and rows(StockMovement) == counted


def test_a_reason_longer_than_200_characters_is_refused(hq):
    with pytest.raises(Invalid) as refused:
        products.set_on_hand("TEA-1", 10, reason="长" * 201, by=hq)
    assert "reason" in refused.value.errors
    assert f.stock_of("TEA-1") == (50, 0)


def test_a_shipment_logs_what_left_the_warehouse_under_its_order(hq):
    buyer = f.dealer_user("SH001")
    logistics.create_carrier("sf", "顺丰速运")
    order = orders.place_order(buyer, [LineRequest("TEA-1", 12)])
    orders.approve_order(hq, order.number)
    logistics.create_shipment(hq, order.number, "sf", "SF100", [ShipLine("TEA-1", 5)])
    logistics.create_shipment(hq, order.number, "sf", "SF101", None)
    shipped = [m for m in movements("TEA-1") if m.kind == "shipment"]
    assert [(m.before_on_hand, m.after_on_hand, m.reference, m.username) for m in shipped] == [
        (50, 45, order.number, "boss"),
        (45, 38, order.number, "boss"),
    ]
    assert f.stock_of("TEA-1") == (38, 0)


def test_many_movements_are_written_in_one_statement_for_an_import(hq):
    f.product("TEA-2", on_hand=0)
    ids = {sku: products.product_by_sku(sku).id for sku in ("TEA-1", "TEA-2")}
    written = stock_movements.record_many(
        [
            stock_movements.Movement(ids["TEA-1"], 50, 60, stock_movements.IMPORT, "", "stock.csv"),
            stock_movements.Movement(ids["TEA-2"], 0, 0, stock_movements.IMPORT),  # unchanged
            stock_movements.Movement(ids["TEA-2"], 0, 7, stock_movements.IMPORT, "", "stock.csv"),
        ],
        hq,
    )
    db.session.commit()
    assert written == 2
    assert [(m.kind, m.after_on_hand, m.reference) for m in movements("TEA-2")[-1:]] == [
        ("import", 7, "stock.csv")
    ]


def test_an_unknown_movement_kind_is_a_programming_error(hq):
    product_id = products.product_by_sku("TEA-1").id
    with pytest.raises(ValueError):
        stock_movements.record(stock_movements.Movement(product_id, 1, 2, "gift"))


def test_the_log_pages_newest_first(hq):
    for n in range(1, 6):
        products.set_on_hand("TEA-1", 50 + n, reason=f"第{n}次", by=hq)
    product_id = products.product_by_sku("TEA-1").id
    page, total = stock_movements.for_product(product_id, page=1, per_page=2)
    assert total == 6  # the factory's first count too
    assert [m.reason for m in page] == ["第5次", "第4次"]
    recent = stock_movements.recent(3)
    assert [(mv.reason, sku) for mv, sku, _name in recent] == [
        ("第5次", "TEA-1"),
        ("第4次", "TEA-1"),
        ("第3次", "TEA-1"),
    ]


@pytest.mark.postgres
def test_concurrent_counts_and_orders_leave_an_unbroken_chain(app, hq):
    """Counts lock the stock row, so each movement starts where the previous one ended, and
    no order ever holds more than is on hand."""
    buyers = [f.api_headers(f.dealer_user("SH001")) for _ in range(6)]
    db.session.remove()

    def count(n: int):
        with app.app_context():
            try:
                products.set_on_hand("TEA-1", 40 + n, reason=f"count {n}", by=None)
            except Conflict:
                db.session.rollback()
            finally:
                db.session.remove()

    def buy(headers):
        client = app.test_client()
        return client.post(
            "/api/v1/orders", json={"lines": [{"sku": "TEA-1", "qty": 3}]}, headers=headers
        ).status_code

    calls = [lambda n=n: count(n) for n in range(8)] + [lambda h=h: buy(h) for h in buyers]
    results = run_together(calls)
    assert all(status in (201, 409) for status in results[8:] if status is not None)
    chain = movements("TEA-1")
    for earlier, later in zip(chain, chain[1:], strict=False):
        assert later.before_on_hand == earlier.after_on_hand
    on_hand, reserved = f.stock_of("TEA-1")
    assert chain[-1].after_on_hand == on_hand and reserved <= on_hand


# --- products, prices and settings are audited --------------------------------------------


def test_creating_editing_and_taking_off_sale_are_audited(hq):
    products.create_product(
        {"sku": "NEW-1", "name": "新品", "unit": "箱", "list_price": 990, "category": "饮料"},
        by=hq,
    )
    created = audit_entries("product.create")[-1]
    assert (created.username, created.object_key) == ("boss", "NEW-1")
    assert json.loads(created.after)["list_price"] == "9.90"

    products.update_product("NEW-1", {"min_order_qty": 6, "visible_tiers": ["GOLD"]}, by=hq)
    products.set_active("NEW-1", False, by=hq)
    updates = audit_entries("product.update")
    assert [json.loads(e.after) for e in updates[-2:]] == [
        {"min_order_qty": 6, "visible_tiers": ["GOLD"]},
        {"active": False},
    ]
    assert json.loads(updates[-1].before) == {"active": True}


def test_finance_may_not_change_products_prices_or_settings(hq):
    money = staff.create_staff(hq, "money", "pw-money", "finance")
    audited = rows(AuditEntry)
    for write in (
        lambda: products.update_product("TEA-1", {"name": "改"}, by=money),
        lambda: products.set_active("TEA-1", False, by=money),
        lambda: products.replace_prices("TEA-1", {}, {}, by=money),
        lambda: products.set_stock_display(False, by=money),
        lambda: images.set_image("TEA-1", jpeg(), by=money),
    ):
        with pytest.raises(Forbidden):
            write()
        db.session.rollback()
    assert rows(AuditEntry) == audited
    assert products.product_by_sku("TEA-1").name == "绿茶"
    assert settings.get_setting("show_exact_stock") is True


def test_a_price_change_is_audited_table_by_table(hq):
    products.replace_prices("TEA-1", {"GOLD": [{"min_qty": 1, "price": 900}]}, {}, by=hq)
    products.replace_prices(
        "TEA-1",
        {"GOLD": [{"min_qty": 1, "price": 900}, {"min_qty": 10, "price": 850}]},
        {"SH001": [{"min_qty": 1, "price": 800}]},
        by=hq,
    )
    entry = audit_entries("product.prices")[-1]
    assert json.loads(entry.before) == {"tiers": {"GOLD": [[1, "9.00"]]}, "dealers": {}}
    assert json.loads(entry.after) == {
        "tiers": {"GOLD": [[1, "9.00"], [10, "8.50"]]},
        "dealers": {"SH001": [[1, "8.00"]]},
    }


def test_switching_dealers_to_badges_only_is_audited_and_holds_at_once(hq):
    products.set_stock_display(False, by=hq)
    assert settings.get_setting("show_exact_stock") is False
    entry = audit_entries("settings.update")[-1]
    assert json.loads(entry.after) == {"show_exact_stock": False}
    dealer = f.dealer_user("SH001").dealer
    assert catalog.item(dealer, "TEA-1").shown_available is None


# --- why this price ---------------------------------------------------------------------------


def test_why_this_price_names_the_table_and_row_that_win(hq):
    f.prices(
        "TEA-1",
        tiers={"GOLD": [(1, 900), (10, 850), (50, 800)]},
        dealers={"SH001": [(1, 880), (20, 820)]},
    )
    f.dealer("SH002", "GOLD")
    own = products.explain_price("TEA-1", "SH001", 25)
    assert (own.table.source, own.row.min_qty, own.unit_price, own.amount) == (
        SOURCE_DEALER,
        20,
        820,
        20_500,
    )
    tier = products.explain_price("TEA-1", "SH002", 49)
    assert (tier.table.source, tier.row.min_qty, tier.unit_price) == (SOURCE_TIER, 10, 850)
    listed = products.explain_price("TEA-1", "BJ001", 1000)
    assert (listed.table.source, listed.unit_price) == (SOURCE_LIST, 1000)
    # The same figure the dealer's catalog shows for that quantity.
    dealer = f.dealer_user("SH002").dealer
    assert catalog.item(dealer, "TEA-1").table.unit_price(49) == tier.unit_price


def test_why_this_price_says_when_the_dealer_cannot_order_it(hq):
    f.product("GOLD-1", list_price=500, min_order_qty=6, order_multiple=6, visible_tiers=["GOLD"])
    hidden = products.explain_price("GOLD-1", "BJ001", 6)
    assert hidden.visible is False and hidden.orderable is True
    odd = products.explain_price("GOLD-1", "SH001", 7)
    assert odd.visible is True and odd.orderable is False
    with pytest.raises(Invalid):
        products.explain_price("GOLD-1", "SH001", 0)


# --- product images ------------------------------------------------------------------------


def picture(fmt: str, size=(1600, 1200), mode="RGB", color=(200, 40, 40, 255)) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, color[: len(mode)] if mode != "P" else 3).save(out, fmt)
    return out.getvalue()


def jpeg(size=(1600, 1200)) -> bytes:
    return picture("JPEG", size)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_an_upload_becomes_a_phone_image_and_a_thumbnail(fmt):
    resized = images.resize(picture(fmt, (1600, 1200)))
    assert resized.size == (800, 600) and resized.thumb_size == (160, 120)
    assert resized.source_format == fmt
    for data, size in ((resized.image, (800, 600)), (resized.thumb, (160, 120))):
        shown = Image.open(io.BytesIO(data))
        assert (shown.format, shown.size, shown.mode) == ("JPEG", size, "RGB")


def test_a_small_image_is_never_enlarged_and_a_tall_one_keeps_its_shape():
    assert images.resize(jpeg((300, 200))).size == (300, 200)
    tall = images.resize(jpeg((900, 3000)))
    assert tall.size == (240, 800) and tall.thumb_size == (48, 160)


def test_transparency_becomes_white_and_camera_rotation_is_applied():
    clear = images.resize(picture("PNG", (100, 100), "RGBA", (0, 0, 0, 0)))
    assert Image.open(io.BytesIO(clear.image)).getpixel((50, 50)) == (255, 255, 255)
    rotated = Image.new("RGB", (400, 200), (10, 10, 10))
    exif = rotated.getexif()
    exif[0x0112] = 6  # the camera was turned: show it rotated by 90°
    out = io.BytesIO()
    rotated.save(out, "JPEG", exif=exif)
    upright = images.resize(out.getvalue())
    assert upright.size == (200, 400)
    assert "exif" not in Image.open(io.BytesIO(upright.image)).info  # no GPS or camera data kept


@pytest.mark.parametrize(
    "content, code",
    [
        (b"GIF89a" + b"\x00" * 100, "image_type"),
        (picture("GIF", (20, 20), "P"), "image_type"),
        (picture("BMP", (20, 20)), "image_type"),
        (b"%PDF-1.4\n%fake", "image_type"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image_type"),
        (b"\xff\xd8\xff\xe0" + b"not really a jpeg" * 10, "image_unreadable"),
        (jpeg()[:400], "image_unreadable"),
        (b"", "image_missing"),
    ],
)
def test_anything_but_a_whole_jpeg_png_or_webp_is_refused(content, code):
    with pytest.raises(Invalid) as refused:
        images.resize(content)
    assert refused.value.code == code and "image" in refused.value.errors


def test_a_file_over_5_mb_is_refused_before_it_is_decoded():
    content = jpeg((64, 64)) + b"\x00" * (images.MAX_BYTES)
    with pytest.raises(Invalid) as refused:
        images.resize(content)
    assert refused.value.code == "image_too_large"


def test_a_picture_of_too_many_pixels_is_refused_before_it_is_decoded():
    out = io.BytesIO()
    Image.new("1", (8000, 7000)).save(out, "PNG")  # a small file, 56 million pixels
    assert len(out.getvalue()) < images.MAX_BYTES
    with pytest.raises(Invalid) as refused:
        images.resize(out.getvalue())
    assert refused.value.code == "image_too_many_pixels"


def test_a_refused_upload_stores_nothing_and_keeps_the_old_image(hq):
    images.set_image("TEA-1", jpeg(), by=hq)
    kept = images.digest_of(products.product_by_sku("TEA-1").id)
    with pytest.raises(Invalid):
        images.set_image("TEA-1", b"\x89PNG\r\n\x1a\nbroken", by=hq)
    db.session.rollback()
    assert images.digest_of(products.product_by_sku("TEA-1").id) == kept
    assert rows(ProductImage) == 1


def test_a_new_image_gets_a_new_digest_and_is_audited(hq):
    first = images.set_image("TEA-1", jpeg(), by=hq).digest
    second = images.set_image("TEA-1", picture("PNG", (500, 500)), by=hq).digest
    assert first != second and rows(ProductImage) == 1
    entry = audit_entries("product.image")[-1]
    assert json.loads(entry.before) == {"image": first}
    assert json.loads(entry.after) == {"image": second}
    assert images.remove_image("TEA-1", by=hq) is True
    assert images.remove_image("TEA-1", by=hq) is False
    assert rows(ProductImage) == 0


def test_images_are_served_to_hq_and_to_dealers_who_see_the_product(hq):
    f.product("GOLD-1", visible_tiers=["GOLD"])
    digest = images.set_image("GOLD-1", jpeg(), by=hq).digest
    gold = f.dealer_user("SH001")
    silver = f.dealer_user("BJ001")
    desk = staff.create_staff(hq, "desk", "pw-desk", "order_desk")
    assert images.fetch(hq, digest, images.THUMB).startswith(b"\xff\xd8")
    assert images.fetch(desk, digest, images.PHONE).startswith(b"\xff\xd8")
    assert images.fetch(gold, digest, images.THUMB).startswith(b"\xff\xd8")
    assert images.fetch(silver, digest, images.THUMB) is None  # limited to another tier
    products.set_active("GOLD-1", False, by=hq)
    assert images.fetch(gold, digest, images.THUMB) is None  # off sale
    assert images.fetch(hq, digest, "original") is None
    assert images.fetch(hq, "0" * images.DIGEST_CHARS, images.THUMB) is None


def test_the_catalog_carries_the_image_digest_without_loading_the_pictures(hq):
    digest = images.set_image("TEA-1", jpeg(), by=hq).digest
    f.product("TEA-2")
    dealer = f.dealer_user("SH001").dealer
    page = catalog.browse(dealer)
    assert {item.product.sku: item.product.image for item in page.items} == {
        "TEA-1": digest,
        "TEA-2": None,
    }
    db.session.rollback()
    row = db.session.get(ProductImage, products.product_by_sku("TEA-1").id)
    assert "image" not in row.__dict__ and "thumb" not in row.__dict__  # deferred columns
