"""Demo data that looks like a real brand; loading it twice changes nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    ROLE_ADMIN,
    ROLE_DEALER,
    ROLE_FINANCE,
    ROLE_ORDER_DESK,
    Category,
    Dealer,
    DealerPrice,
    Order,
    Product,
    StockLevel,
    Tier,
    TierPrice,
    User,
)
from app.services import logistics, orders, wallet
from app.services.accounts import hash_password
from app.services.orders import LineRequest

ADMIN_LOGIN = ("admin", "admin1234")
# (username, password, role, name, who): HQ staff with the narrower roles of CONTRACT §3a.
STAFF_LOGINS = (
    ("desk", "desk1234", ROLE_ORDER_DESK, "王审单", "Order desk / 订单审核"),
    ("finance", "finance1234", ROLE_FINANCE, "李财务", "Finance / 财务"),
)
DEALER_PASSWORD = "demo1234"

TIERS = [("GOLD", "金牌"), ("SILVER", "银牌"), ("STANDARD", "普通")]

# code, name, region, tier, credit limit (yuan)
DEALERS = [
    ("SH001", "上海浦东鑫源商贸有限公司", "华东·上海", "GOLD", 50000),
    ("GZ001", "广州天河粤丰食品批发部", "华南·广州", "GOLD", 40000),
    ("BJ001", "北京朝阳京联商贸有限公司", "华北·北京", "SILVER", 30000),
    ("CD001", "成都锦江蜀通贸易有限公司", "西南·成都", "SILVER", 20000),
    ("WH001", "武汉江汉楚天商行", "华中·武汉", "SILVER", 20000),
    ("XA001", "西安雁塔秦川商贸", "西北·西安", "STANDARD", 10000),
    ("SY001", "沈阳和平北方商贸有限公司", "东北·沈阳", "STANDARD", 10000),
    ("JN001", "济南历下齐鲁便利供应链", "华东·济南", "STANDARD", 0),
]

# Where each demo dealer's goods go: address, contact name, phone (the delivery note prints them).
CONTACTS = {
    "SH001": ("上海市浦东新区张江路 188 号 3 号仓", "王建国", "13816880001"),
    "GZ001": ("广州市天河区黄埔大道西 76 号 B 栋 1 楼", "陈丽华", "13926880002"),
    "BJ001": ("北京市朝阳区东四环中路 39 号院 2 号库", "李强", "13601880003"),
    "CD001": ("成都市锦江区东大街 99 号", "张敏", "13881880004"),
    "WH001": ("武汉市江汉区解放大道 688 号", "刘洋", "13971880005"),
    "XA001": ("西安市雁塔区科技路 37 号", "赵磊", "13891880006"),
    "SY001": ("沈阳市和平区南京北街 206 号", "孙婷", "13940880007"),
    "JN001": ("济南市历下区泉城路 180 号", "周涛", "13953880008"),
}
DEMO_CARRIER = ("sf", "顺丰速运")

# category code, category name, [(name, unit, spec, list price in yuan, moq, multiple)]
CATALOG = [
    (
        "DRK",
        "饮料",
        [
            ("冰爽柠檬茶 500ml", "箱", "500ml×15瓶", 45, 1, 1),
            ("无糖乌龙茶 500ml", "箱", "500ml×15瓶", 52, 1, 1),
            ("天然矿泉水 550ml", "箱", "550ml×24瓶", 28, 2, 2),
            ("橙味汽水 330ml", "箱", "330ml×24罐", 48, 1, 1),
            ("椰子汁 1L", "箱", "1L×12盒", 96, 1, 1),
            ("运动电解质饮料 600ml", "箱", "600ml×15瓶", 60, 1, 1),
            ("冷萃咖啡 270ml", "箱", "270ml×15瓶", 105, 1, 1),
            ("山楂果汁 300ml", "箱", "300ml×20瓶", 72, 1, 1),
            ("苏打水 410ml", "箱", "410ml×24瓶", 66, 1, 1),
            ("蜂蜜柚子茶 480ml", "箱", "480ml×15瓶", 58, 1, 1),
        ],
    ),
    (
        "ALC",
        "酒水",
        [
            ("精酿小麦啤酒 500ml", "箱", "500ml×12罐", 88, 1, 1),
            ("纯生啤酒 330ml", "箱", "330ml×24罐", 76, 2, 2),
            ("浓香型白酒 52度 500ml", "瓶", "500ml", 168, 6, 6),
            ("清香型白酒 42度 475ml", "瓶", "475ml", 89, 6, 6),
            ("干红葡萄酒 750ml", "瓶", "750ml", 128, 6, 6),
            ("黄酒 五年陈 500ml", "瓶", "500ml", 32, 12, 12),
            ("梅子酒 330ml", "瓶", "330ml", 45, 6, 6),
            ("米酒 甜酒酿 1L", "瓶", "1L", 22, 12, 12),
            ("酱香型白酒 53度 500ml", "瓶", "500ml 礼盒装", 598, 1, 1),
            ("果味气泡酒 275ml", "箱", "275ml×24瓶", 168, 1, 1),
        ],
    ),
    (
        "DAI",
        "乳品",
        [
            ("纯牛奶 250ml", "箱", "250ml×24盒", 65, 1, 1),
            ("高钙低脂牛奶 250ml", "箱", "250ml×24盒", 70, 1, 1),
            ("原味酸奶 200g", "箱", "200g×12杯", 54, 1, 1),
            ("儿童成长奶 190ml", "箱", "190ml×15盒", 58, 1, 1),
            ("草莓味乳饮料 250ml", "箱", "250ml×24盒", 55, 1, 1),
            ("全脂奶粉 900g", "罐", "900g", 138, 6, 6),
            ("中老年奶粉 800g", "罐", "800g", 118, 6, 6),
            ("马苏里拉奶酪 250g", "袋", "250g", 26, 10, 10),
            ("淡奶油 1L", "盒", "1L", 48, 12, 12),
            ("核桃乳 240ml", "箱", "240ml×20罐", 62, 1, 1),
        ],
    ),
    (
        "SNK",
        "休闲零食",
        [
            ("原味薯片 70g", "箱", "70g×22袋", 99, 1, 1),
            ("麻辣牛肉干 100g", "箱", "100g×20袋", 240, 1, 1),
            ("每日坚果 25g×30", "盒", "750g", 129, 4, 2),
            ("夹心饼干 400g", "箱", "400g×12袋", 108, 1, 1),
            ("海苔脆 40g", "箱", "40g×30袋", 135, 1, 1),
            ("芝士威化 200g", "箱", "200g×24袋", 156, 1, 1),
            ("蛋黄酥 6枚装", "箱", "330g×12盒", 180, 1, 1),
            ("话梅 150g", "箱", "150g×30袋", 165, 1, 1),
            ("鸭脖 卤味 180g", "箱", "180g×20袋", 190, 1, 1),
            ("手撕面包 1kg", "箱", "1kg×4箱", 76, 1, 1),
            ("辣条 大包 260g", "箱", "260g×30袋", 150, 1, 1),
        ],
    ),
    (
        "GRN",
        "粮油",
        [
            ("东北大米 10kg", "袋", "10kg", 69, 5, 5),
            ("泰国香米 5kg", "袋", "5kg", 59, 5, 5),
            ("花生油 5L", "桶", "5L", 139, 4, 2),
            ("菜籽油 5L", "桶", "5L", 96, 4, 2),
            ("玉米油 4L", "桶", "4L", 89, 4, 2),
            ("高筋面粉 5kg", "袋", "5kg", 36, 10, 5),
            ("挂面 1kg", "箱", "1kg×10包", 72, 1, 1),
            ("小米 2.5kg", "袋", "2.5kg", 42, 4, 2),
            ("芝麻香油 400ml", "瓶", "400ml", 28, 12, 12),
            ("杂粮组合 2kg", "袋", "2kg", 45, 4, 2),
        ],
    ),
    (
        "SEA",
        "调味品",
        [
            ("特级生抽 500ml", "箱", "500ml×12瓶", 110, 1, 1),
            ("老抽 500ml", "箱", "500ml×12瓶", 98, 1, 1),
            ("陈醋 420ml", "箱", "420ml×12瓶", 84, 1, 1),
            ("蚝油 700g", "箱", "700g×12瓶", 132, 1, 1),
            ("郫县豆瓣酱 500g", "箱", "500g×12袋", 90, 1, 1),
            ("火锅底料 牛油 400g", "箱", "400g×20袋", 320, 1, 1),
            ("鸡精 1kg", "袋", "1kg", 32, 10, 10),
            ("精制食盐 400g", "箱", "400g×40袋", 60, 1, 1),
            ("白砂糖 1kg", "袋", "1kg", 9, 20, 10),
            ("花椒粉 50g", "箱", "50g×50袋", 125, 1, 1),
        ],
    ),
    (
        "INS",
        "方便速食",
        [
            ("红烧牛肉面 五连包", "箱", "5包×6提", 78, 1, 1),
            ("酸辣粉 130g", "箱", "130g×24桶", 168, 1, 1),
            ("自热火锅 麻辣", "箱", "400g×12盒", 240, 1, 1),
            ("速冻水饺 猪肉白菜 1kg", "箱", "1kg×10袋", 180, 1, 1),
            ("螺蛳粉 330g", "箱", "330g×20袋", 210, 1, 1),
            ("火腿肠 40g×10", "箱", "400g×15包", 135, 1, 1),
            ("午餐肉罐头 340g", "箱", "340g×24罐", 336, 1, 1),
            ("八宝粥 360g", "箱", "360g×12罐", 54, 1, 1),
            ("即食燕麦片 1kg", "箱", "1kg×6袋", 102, 1, 1),
            ("速冻汤圆 黑芝麻 500g", "箱", "500g×20袋", 200, 1, 1),
        ],
    ),
    (
        "HOM",
        "日化清洁",
        [
            ("洗洁精 1.5kg", "箱", "1.5kg×8瓶", 96, 1, 1),
            ("洗衣液 薰衣草 3kg", "箱", "3kg×4瓶", 156, 1, 1),
            ("洗衣粉 2kg", "箱", "2kg×6袋", 108, 1, 1),
            ("84消毒液 1L", "箱", "1L×12瓶", 84, 1, 1),
            ("洗手液 500ml", "箱", "500ml×12瓶", 120, 1, 1),
            ("洗发水 去屑 750ml", "瓶", "750ml", 49, 6, 6),
            ("沐浴露 1L", "瓶", "1L", 42, 6, 6),
            ("牙膏 美白 120g", "箱", "120g×48支", 384, 1, 1),
            ("垃圾袋 加厚 50只", "箱", "50只×40卷", 160, 1, 1),
            ("厨房湿巾 80抽", "箱", "80抽×24包", 132, 1, 1),
        ],
    ),
    (
        "PAP",
        "纸品",
        [
            ("抽纸 三层 120抽", "提", "120抽×6包", 16, 10, 5),
            ("卷纸 四层 140g", "提", "140g×10卷", 22, 10, 5),
            ("手帕纸 便携", "箱", "10包×30条", 135, 1, 1),
            ("厨房用纸 75节", "提", "75节×4卷", 19, 10, 5),
            ("婴儿湿巾 80抽", "箱", "80抽×20包", 180, 1, 1),
            ("擦手纸 商用", "箱", "200抽×20包", 96, 1, 1),
            ("大盘纸 商用", "箱", "700g×12卷", 138, 1, 1),
            ("餐巾纸 方巾", "箱", "100张×60包", 120, 1, 1),
        ],
    ),
]

# Products only the GOLD tier may see (an HQ-limited allocation).
GOLD_ONLY = {"ALC-009", "DRK-007"}
# Contract prices: (dealer, sku) -> table of (min_qty, yuan).
DEALER_TABLES = {
    ("SH001", "DRK-001"): [(1, 36), (20, 34)],
    ("SH001", "DAI-001"): [(1, 52), (30, 50)],
    ("SH001", "GRN-003"): [(1, 112), (40, 106)],
    ("GZ001", "DRK-001"): [(1, 37.5)],
    ("GZ001", "SNK-002"): [(1, 198), (10, 188)],
    ("BJ001", "ALC-003"): [(1, 145), (24, 138)],
}

TIER_DISCOUNTS = {
    # tier: (base %, [(break as multiple of MOQ-step, %)])
    "GOLD": (88, [(10, 85), (50, 82)]),
    "SILVER": (93, [(10, 90)]),
    "STANDARD": (100, [(20, 97)]),
}


def _fen(yuan: float | int) -> int:
    return int(round(yuan * 100))


def _stock_for(index: int, moq: int) -> int:
    if index % 9 == 4:
        return 0
    if index % 7 == 3:
        return moq * 2
    return 60 + (index * 37) % 540


def _tier_table(list_price: int, moq: int, multiple: int, tier: str) -> list[tuple[int, int]]:
    base, breaks = TIER_DISCOUNTS[tier]
    rows = [(1, list_price * base // 100)]
    for steps, pct in breaks:
        rows.append((max(moq, 1) * steps, list_price * pct // 100))
    return rows


def is_empty() -> bool:
    """True when no user exists yet."""
    return not db.session.scalar(select(func.count(User.id)))


def load_demo_data() -> dict[str, int]:
    """Create whatever part of the demo brand is missing; returns how many rows were added."""
    added = {"tiers": 0, "dealers": 0, "users": 0, "products": 0, "carriers": 0}
    tiers = {t.code: t for t in db.session.scalars(select(Tier))}
    for code, name in TIERS:
        if code not in tiers:
            tiers[code] = Tier(code=code, name=name)
            db.session.add(tiers[code])
            added["tiers"] += 1
    dealers = {d.code: d for d in db.session.scalars(select(Dealer))}
    for code, name, region, tier, credit in DEALERS:
        if code not in dealers:
            dealers[code] = Dealer(
                code=code, name=name, region=region, tier=tiers[tier], credit_limit=_fen(credit)
            )
            db.session.add(dealers[code])
            added["dealers"] += 1
    _fill_contacts(dealers)
    added["users"] = _add_users(dealers)
    db.session.flush()
    for dealer in dealers.values():
        wallet.ensure_accounts(dealer.id)
    added["products"] = _add_products(tiers, dealers)
    db.session.commit()
    if logistics.find_carrier(DEMO_CARRIER[0]) is None:  # a random secret; HQ rotates it
        logistics.create_carrier(*DEMO_CARRIER)
        added["carriers"] = 1
    return added


def _fill_contacts(dealers: dict[str, Dealer]) -> None:
    """Give a demo dealer its address and contact where none is set (HQ's edits stay)."""
    for code, (address, name, phone) in CONTACTS.items():
        dealer = dealers.get(code)
        if dealer is None:
            continue
        dealer.address = dealer.address or address
        dealer.contact_name = dealer.contact_name or name
        dealer.contact_phone = dealer.contact_phone or phone


def _add_users(dealers: dict[str, Dealer]) -> int:
    existing = set(db.session.scalars(select(User.username)))
    count = 0
    if ADMIN_LOGIN[0] not in existing:
        db.session.add(
            User(
                username=ADMIN_LOGIN[0],
                name="总部管理员",
                role=ROLE_ADMIN,
                password_hash=hash_password(ADMIN_LOGIN[1]),
            )
        )
        count += 1
    for username, password, role, name, _who in STAFF_LOGINS:
        if username not in existing:
            db.session.add(
                User(username=username, name=name, role=role, password_hash=hash_password(password))
            )
            count += 1
    dealer_hash = None
    for code, dealer in dealers.items():
        username = code.lower()
        if username in existing or code not in {d[0] for d in DEALERS}:
            continue
        dealer_hash = dealer_hash or hash_password(DEALER_PASSWORD)
        db.session.add(
            User(
                username=username,
                name=f"{dealer.name[:4]}订货员",
                role=ROLE_DEALER,
                dealer=dealer,
                password_hash=dealer_hash,
            )
        )
        count += 1
    return count


def _add_products(tiers: dict[str, Tier], dealers: dict[str, Dealer]) -> int:
    existing = set(db.session.scalars(select(Product.sku)))
    categories = {c.name: c for c in db.session.scalars(select(Category))}
    count = 0
    index = 0
    for position, (prefix, cat_name, items) in enumerate(CATALOG):
        category = categories.get(cat_name)
        if category is None:
            category = categories[cat_name] = Category(name=cat_name, position=position)
            db.session.add(category)
        for n, (name, unit, spec, price, moq, multiple) in enumerate(items, start=1):
            index += 1
            sku = f"{prefix}-{n:03d}"
            if sku in existing:
                continue
            _add_product(sku, name, unit, spec, _fen(price), moq, multiple, category, index, tiers)
            count += 1
    db.session.flush()
    _add_dealer_tables(dealers)
    return count


def _add_product(sku, name, unit, spec, list_price, moq, multiple, category, index, tiers):
    product = Product(
        sku=sku,
        name=name,
        unit=unit,
        spec=spec,
        list_price=list_price,
        category=category,
        min_order_qty=moq,
        order_multiple=multiple,
        low_stock_threshold=max(10, moq * 3),
    )
    if sku in GOLD_ONLY:
        product.limited_to = [tiers["GOLD"]]
        product.tier_restricted = True
    db.session.add(product)
    db.session.flush()
    db.session.add(StockLevel(product_id=product.id, on_hand=_stock_for(index, moq), reserved=0))
    if index % 10 == 0:
        return  # some products are sold at list price to everyone
    for code, tier in tiers.items():
        if code in TIER_DISCOUNTS:
            for min_qty, price in _tier_table(list_price, moq, multiple, code):
                db.session.add(
                    TierPrice(product_id=product.id, tier_id=tier.id, min_qty=min_qty, price=price)
                )


def _add_dealer_tables(dealers: dict[str, Dealer]) -> None:
    products = dict(db.session.execute(select(Product.sku, Product.id)).all())
    have = set(db.session.execute(select(DealerPrice.dealer_id, DealerPrice.product_id)).all())
    for (dealer_code, sku), rows in DEALER_TABLES.items():
        dealer, product_id = dealers.get(dealer_code), products.get(sku)
        if dealer is None or product_id is None or (dealer.id, product_id) in have:
            continue
        for min_qty, yuan in rows:
            db.session.add(
                DealerPrice(
                    product_id=product_id, dealer_id=dealer.id, min_qty=min_qty, price=_fen(yuan)
                )
            )


# A few orders for the first demo dealers, so `make run` opens on a 常购清单 (usual list) and an
# order list that are not empty: dealer -> (deposit in yuan, orders as [(sku, qty)], and which
# of them HQ approved and which the dealer cancelled, by position).
HISTORY = {
    "SH001": (
        20000,
        [
            [("DRK-001", 10), ("DAI-001", 10), ("GRN-003", 4)],
            [("DRK-001", 10), ("DRK-002", 10), ("SNK-002", 5)],
            [("DRK-001", 12), ("DAI-001", 12), ("SEA-002", 3)],
            [("DAI-001", 10), ("GRN-003", 6), ("ALC-004", 12)],
            [("DRK-002", 10), ("SNK-002", 5), ("PAP-001", 20)],
        ],
        {"approved": (0, 1), "cancelled": (3,)},
    ),
    "GZ001": (
        10000,
        [[("DRK-001", 6), ("SNK-002", 10)], [("DRK-001", 8), ("INS-001", 8)]],
        {"approved": (0,), "cancelled": ()},
    ),
}


def load_demo_history() -> int:
    """Place HISTORY's orders through the ordering services (stock reserved, funds debited)
    for each demo dealer that has no order yet; returns how many orders were placed."""
    placed = 0
    admin = db.session.scalar(select(User).where(User.username == ADMIN_LOGIN[0]))
    for code, (deposit, baskets, outcome) in HISTORY.items():
        buyer = db.session.scalar(select(User).where(User.username == code.lower()))
        if buyer is None or db.session.scalar(
            select(func.count(Order.id)).where(Order.dealer_id == buyer.dealer_id)
        ):
            continue
        wallet.record_deposit(code, _fen(deposit), f"DEMO-{code}-OPENING", None)
        for position, basket in enumerate(baskets):
            order = orders.place_order(buyer, [LineRequest(sku, qty) for sku, qty in basket])
            placed += 1
            if position in outcome["approved"] and admin is not None:
                orders.approve_order(admin, order.number)
            elif position in outcome["cancelled"]:
                orders.cancel_order(buyer, order.number)
    return placed


def demo_logins() -> list[tuple[str, str, str]]:
    """(who, username, password) for the README and `make run`."""
    logins = [("HQ admin / 总部管理员", *ADMIN_LOGIN)]
    logins += [(who, username, password) for username, password, _, _, who in STAFF_LOGINS]
    logins += [
        (f"{name} ({tier})", code.lower(), DEALER_PASSWORD) for code, name, _, tier, _ in DEALERS
    ]
    return logins
