"""A fresh bench database: drop, create, migrate, then bulk-load a brand-sized catalog.

5,000 products in 10 categories, 2–3 price breaks per tier for 3 tiers, some dealer
contract prices, one stock row per product, a few tier-limited (1.5%) and inactive products,
and 200 dealers with one login each. The catalog can be built at other sizes (bench/scale.py
loads 1,000 and 100,000 products, same shape, same dealers). Everything goes in with COPY
(100,000 products and their 700,000 price rows in a few seconds).
"""

from __future__ import annotations

import functools
import os
import random
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import OperationalError

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/dinghuo_bench"

N_PRODUCTS = 5000
N_DEALERS = 200
PASSWORD = "bench-pass-1234"
BENCH_DEALER = "D0001"  # a SILVER dealer: GOLD-only products are hidden from it
BENCH_USERNAME = BENCH_DEALER.lower()

# Catalog searches a dealer would type, answered by many products at every size (about 2%
# of names hold 牛奶: 纯牛奶, 低脂牛奶; DRK-01 starts 100 SKUs of 5,000, 1,000 of 100,000).
SEARCH_NAME = "牛奶"
SEARCH_SKU = "DRK-01"

TIERS = [(1, "GOLD", "金牌"), (2, "SILVER", "银牌"), (3, "STANDARD", "普通")]
GOLD, SILVER, STANDARD = 1, 2, 3

# prefix, category, base names, (unit, pack) choices, list price range in yuan
CATEGORIES = [
    (
        "DRK",
        "饮料",
        "柠檬茶 乌龙茶 矿泉水 橙味汽水 椰子汁 电解质饮料 冷萃咖啡 山楂汁 苏打水 柚子茶",
        [("箱", "500ml×15瓶"), ("箱", "330ml×24罐"), ("箱", "1L×12盒")],
        (25, 120),
    ),
    (
        "ALC",
        "酒水",
        "小麦啤酒 纯生啤酒 浓香白酒 清香白酒 干红葡萄酒 黄酒 梅子酒 米酒 酱香白酒 气泡酒",
        [("瓶", "500ml"), ("箱", "330ml×24罐"), ("瓶", "750ml")],
        (20, 600),
    ),
    (
        "DAI",
        "乳品",
        "纯牛奶 低脂牛奶 原味酸奶 成长奶 乳饮料 全脂奶粉 奶酪 淡奶油 核桃乳 豆奶",
        [("箱", "250ml×24盒"), ("罐", "900g"), ("箱", "200g×12杯")],
        (25, 150),
    ),
    (
        "SNK",
        "休闲零食",
        "薯片 牛肉干 每日坚果 夹心饼干 海苔脆 威化饼 蛋黄酥 话梅 卤味鸭脖 辣条",
        [("箱", "70g×22袋"), ("盒", "750g"), ("箱", "150g×30袋")],
        (60, 260),
    ),
    (
        "GRN",
        "粮油",
        "东北大米 香米 花生油 菜籽油 玉米油 高筋面粉 挂面 小米 芝麻香油 杂粮",
        [("袋", "10kg"), ("桶", "5L"), ("袋", "5kg")],
        (20, 150),
    ),
    (
        "SEA",
        "调味品",
        "生抽 老抽 陈醋 蚝油 豆瓣酱 火锅底料 鸡精 食盐 白砂糖 花椒粉",
        [("箱", "500ml×12瓶"), ("袋", "1kg"), ("箱", "400g×20袋")],
        (9, 320),
    ),
    (
        "INS",
        "方便速食",
        "红烧牛肉面 酸辣粉 自热火锅 螺蛳粉 火腿肠 午餐肉 八宝粥 燕麦片 拌面 米线",
        [("箱", "5包×6提"), ("箱", "130g×24桶"), ("箱", "340g×24罐")],
        (50, 340),
    ),
    (
        "FRZ",
        "冷冻食品",
        "猪肉水饺 黑芝麻汤圆 手抓饼 鸡块 虾饺 烧麦 馄饨 包子 春卷 油条",
        [("箱", "1kg×10袋"), ("箱", "500g×20袋"), ("箱", "800g×12袋")],
        (80, 260),
    ),
    (
        "HOM",
        "日化清洁",
        "洗洁精 洗衣液 洗衣粉 消毒液 洗手液 洗发水 沐浴露 牙膏 垃圾袋 厨房湿巾",
        [("箱", "1.5kg×8瓶"), ("瓶", "750ml"), ("箱", "120g×48支")],
        (40, 390),
    ),
    (
        "PAP",
        "纸品",
        "抽纸 卷纸 手帕纸 厨房用纸 婴儿湿巾 擦手纸 大盘纸 餐巾纸 面巾纸 湿厕纸",
        [("提", "120抽×6包"), ("箱", "10包×30条"), ("提", "140g×10卷")],
        (15, 180),
    ),
]
BRANDS = [
    "康源",
    "金穗",
    "鲜每日",
    "农家乐",
    "禾丰",
    "福满多",
    "天府",
    "南国",
    "北纬",
    "蓝湾",
    "好时光",
    "味之源",
]
VARIANTS = [
    "原味",
    "低糖",
    "经典装",
    "家庭装",
    "升级版",
    "清爽型",
    "加量装",
    "礼盒装",
    "特惠装",
    "无添加",
]
CITIES = [
    ("华东", "上海"),
    ("华东", "杭州"),
    ("华东", "南京"),
    ("华东", "济南"),
    ("华南", "广州"),
    ("华南", "深圳"),
    ("华北", "北京"),
    ("华北", "天津"),
    ("华中", "武汉"),
    ("华中", "长沙"),
    ("西南", "成都"),
    ("西南", "重庆"),
    ("西北", "西安"),
    ("东北", "沈阳"),
    ("东北", "长春"),
]
SHOPS = [
    "鑫源",
    "粤丰",
    "京联",
    "蜀通",
    "楚天",
    "秦川",
    "北方",
    "齐鲁",
    "鸿运",
    "万家",
    "惠民",
    "汇通",
    "佳佳",
    "顺达",
]
SUFFIXES = ["商贸有限公司", "食品批发部", "贸易有限公司", "商行", "便利供应链"]
# tier: [(min_qty as a multiple of the MOQ, % of list price)]; the first row is min_qty 1
TIER_BREAKS = {
    GOLD: [(1, 88), (10, 85), (50, 82)],
    SILVER: [(1, 93), (10, 90), (30, 88)],
    STANDARD: [(1, 100), (20, 97)],
}


class BenchError(RuntimeError):
    """A failure the bench reports in one line and exits on."""


def database_url() -> str:
    """BENCH_DATABASE_URL (plain postgresql:// URLs get the psycopg 3 driver) or the default."""
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _checked_url(url: str) -> URL:
    parsed = make_url(url)
    if not parsed.get_backend_name().startswith("postgresql"):
        raise BenchError(f"The bench needs PostgreSQL, not {parsed.get_backend_name()!r}.")
    if "bench" not in (parsed.database or "") and os.environ.get("BENCH_ALLOW_DROP") != "1":
        raise BenchError(
            f"Refusing to drop database {parsed.database!r}: its name lacks 'bench' "
            "(set BENCH_ALLOW_DROP=1 to insist)."
        )
    return parsed


def recreate_database(url: str) -> None:
    """DROP (forcing out other sessions) and CREATE the bench database."""
    parsed = _checked_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    name = parsed.database.replace('"', '""')
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as err:
        where = parsed.render_as_string(hide_password=True)
        raise BenchError(
            f"PostgreSQL is not reachable at {where} ({str(err).splitlines()[0]}). "
            "Start it, or point BENCH_DATABASE_URL at a server you may create databases on."
        ) from err
    finally:
        admin.dispose()


def drop_database(url: str) -> None:
    """DROP the bench database (forcing out other sessions), if it exists."""
    parsed = _checked_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    name = parsed.database.replace('"', '""')
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def sibling_url(url: str, suffix: str) -> str:
    """The URL of another bench database: this one's name with the suffix added."""
    parsed = make_url(url)
    return parsed.set(database=f"{parsed.database}{suffix}").render_as_string(hide_password=False)


def migrate(url: str, env: dict[str, str]) -> None:
    """`flask --app wsgi db upgrade` against the bench database, in a child process."""
    cmd = [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"]
    done = subprocess.run(
        cmd, cwd=ROOT, env={**env, "DATABASE_URL": url}, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise BenchError(f"Migrations failed:\n{done.stdout}{done.stderr}")


# --- rows ---------------------------------------------------------------------


def _products(rng: random.Random, now: datetime, n_products: int) -> list[dict]:
    rows = []
    per_category = n_products // len(CATEGORIES)
    digits = max(4, len(str(per_category)))  # DRK-0001 … DRK-0500; DRK-00001 at 100,000
    for cat_id, (prefix, _, bases, packs, (low, high)) in enumerate(CATEGORIES, start=1):
        base_names = bases.split()
        for n in range(1, per_category + 1):
            unit, pack = rng.choice(packs)
            moq = rng.choice([1, 1, 1, 1, 2, 4, 6, 10, 12])
            rows.append(
                {
                    "id": len(rows) + 1,
                    "sku": f"{prefix}-{n:0{digits}d}",
                    "name": f"{rng.choice(BRANDS)}{rng.choice(VARIANTS)}{rng.choice(base_names)}"
                    f" {pack.split('×')[0]}",
                    "unit": unit,
                    "spec": pack,
                    "category_id": cat_id,
                    "list_price": rng.randint(low * 100, high * 100),
                    "min_order_qty": moq,
                    "order_multiple": rng.choice([1, moq]),
                    "low_stock_threshold": max(10, moq * 3),
                    "active": rng.random() > 0.02,
                    "tier_restricted": False,
                    "created_at": now,
                    "updated_at": now,
                }
            )
    return rows


def _tier_limits(rng: random.Random, products: list[dict]) -> list[dict]:
    """~1.5% of products limited to GOLD (or GOLD and SILVER), two of them on page one."""
    first_page = sorted(products, key=lambda p: p["sku"])[:20]
    chosen = {first_page[4]["id"]: [GOLD], first_page[9]["id"]: [GOLD, SILVER]}
    for p in rng.sample(products, round(len(products) * 0.015)):
        chosen.setdefault(p["id"], [GOLD] if rng.random() < 0.6 else [GOLD, SILVER])
    by_id = {p["id"]: p for p in products}
    rows = []
    for product_id, tiers in chosen.items():
        by_id[product_id]["tier_restricted"] = True
        rows += [{"product_id": product_id, "tier_id": tier} for tier in tiers]
    return rows


def _tier_prices(rng: random.Random, products: list[dict]) -> list[dict]:
    rows = []
    for p in products:
        if rng.random() < 0.1:
            continue  # sold at list price to every tier
        for tier_id, breaks in TIER_BREAKS.items():
            for steps, pct in breaks:
                min_qty = 1 if steps == 1 else steps * p["min_order_qty"]
                price = p["list_price"] * pct // 100
                rows.append(
                    {"product_id": p["id"], "tier_id": tier_id, "min_qty": min_qty, "price": price}
                )
    return rows


def _dealers(rng: random.Random, now: datetime) -> list[dict]:
    rows = []
    for n in range(1, N_DEALERS + 1):
        area, city = rng.choice(CITIES)
        tier = SILVER if n == 1 else rng.choices([GOLD, SILVER, STANDARD], [2, 3, 5])[0]
        rows.append(
            {
                "id": n,
                "code": f"D{n:04d}",
                "name": f"{city}{rng.choice(SHOPS)}{rng.choice(SUFFIXES)}",
                "region": f"{area}·{city}",
                "tier_id": tier,
                "credit_limit": rng.choice([0, 10_000, 20_000, 50_000]) * 100,
                "active": True,
                "created_at": now,
            }
        )
    return rows


def _dealer_prices(rng: random.Random, products: list[dict], dealers: list[dict]) -> list[dict]:
    """25 contract prices per dealer; the bench dealer also gets every 3rd product of page one."""
    by_sku = sorted(products, key=lambda p: p["sku"])
    rows = []
    for dealer in dealers:
        picks = {p["id"]: p for p in rng.sample(products, 25)}
        if dealer["code"] == BENCH_DEALER:
            picks.update({p["id"]: p for p in by_sku[:60:3]})
        for p in picks.values():
            first = p["list_price"] * rng.randint(75, 90) // 100
            table = [(1, first)]
            if rng.random() < 0.5:
                table.append((20 * p["min_order_qty"], first * 96 // 100))
            rows += [
                {"product_id": p["id"], "dealer_id": dealer["id"], "min_qty": q, "price": price}
                for q, price in table
            ]
    return rows


def _stock(rng: random.Random, products: list[dict], now: datetime) -> list[dict]:
    rows = []
    for p in products:
        roll = rng.random()
        if roll < 0.08:
            on_hand = 0
        elif roll < 0.2:
            on_hand = p["min_order_qty"] * 2
        else:
            on_hand = rng.randint(50, 2000)
        reserved = rng.randint(0, on_hand // 10)
        rows.append(
            {"product_id": p["id"], "on_hand": on_hand, "reserved": reserved, "updated_at": now}
        )
    return rows


def _users(dealers: list[dict], password_hash: str, now: datetime) -> list[dict]:
    return [
        {
            "id": d["id"],
            "username": d["code"].lower(),
            "password_hash": password_hash,
            "name": f"{d['name'][:4]}订货员",
            "role": "dealer",
            "dealer_id": d["id"],
            "active": True,
            "session_version": 1,
            "created_at": now,
        }
        for d in dealers
    ]


def build_rows(
    password_hash: str, seed: int = 20261122, n_products: int = N_PRODUCTS
) -> dict[str, list[dict]]:
    """Every table's rows, in insertion order, from a fixed seed."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    products = _products(rng, now, n_products)
    limits = _tier_limits(rng, products)
    dealers = _dealers(rng, now)
    return {
        "tiers": [{"id": i, "code": c, "name": n, "created_at": now} for i, c, n in TIERS],
        "categories": [
            {"id": i, "name": c[1], "position": i} for i, c in enumerate(CATEGORIES, start=1)
        ],
        "products": products,
        "product_tier_limits": limits,
        "stock_levels": _stock(rng, products, now),
        "tier_prices": _tier_prices(rng, products),
        "dealers": dealers,
        "dealer_prices": _dealer_prices(rng, products, dealers),
        "users": _users(dealers, password_hash, now),
    }


SERIAL_TABLES = ("tiers", "categories", "products", "dealers", "users")


def _fit(table, batch: list[dict]) -> list[dict]:
    """Rows limited to the table's columns, plus search grams where the schema has them."""
    columns = set(table.c.keys())
    if "search_grams" in columns and batch and "name" in batch[0]:
        from app.models import catalog

        grams = functools.lru_cache(maxsize=None)(catalog.name_grams)  # names repeat
        batch = [{**row, "search_grams": grams(row["name"])} for row in batch]
    return [{k: v for k, v in row.items() if k in columns} for row in batch]


def _array(values: list) -> str:
    """A PostgreSQL array literal: psycopg's per-row list adaptation is the slow part of COPY."""
    quoted = (str(v).replace("\\", "\\\\").replace('"', '\\"') for v in values)
    return "{" + ",".join(f'"{v}"' for v in quoted) + "}"


def _python_defaults(table, given: set[str]) -> dict[str, object]:
    """Values for the columns rows leave out that have only a Python-side default.

    COPY applies server defaults alone; Core inserts would have applied these too.
    """
    out = {}
    for col in table.c:
        default = col.default
        if col.name in given or col.server_default is not None or default is None:
            continue
        if default.is_scalar:
            out[col.name] = default.arg
        elif default.is_callable:
            out[col.name] = default.arg(None)
    return out


def copy_rows(conn, table, batch: list[dict]) -> None:
    """COPY the rows into the table, inside the connection's transaction."""
    rows = _fit(table, batch)
    if not rows:
        return
    extra = _python_defaults(table, set(rows[0]))
    columns = ", ".join(f'"{name}"' for name in [*rows[0], *extra])
    tail = list(extra.values())
    cursor = conn.connection.driver_connection.cursor()
    arrays = [i for i, value in enumerate(rows[0].values()) if isinstance(value, list)]
    with cursor.copy(f'COPY "{table.name}" ({columns}) FROM STDIN') as copy:
        for row in rows:
            values = [*row.values(), *tail]
            for i in arrays:
                values[i] = _array(values[i])
            copy.write_row(values)


def load(engine: Engine, password_hash: str, n_products: int = N_PRODUCTS) -> dict[str, int]:
    """Insert the dataset (explicit ids, then sequences moved past them); returns row counts."""
    import app.models  # noqa: F401  (registers every table on db.metadata)
    from app.extensions import db

    rows = build_rows(password_hash, n_products=n_products)
    tables = db.metadata.tables
    with engine.begin() as conn:
        if conn.scalar(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")):
            # Consistent by construction: skip the per-row foreign-key checks and the cache
            # triggers (no app process runs yet).
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        for name, batch in rows.items():
            copy_rows(conn, tables[name], batch)
        for name in SERIAL_TABLES:
            conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                    f"(SELECT max(id) FROM {name}))"
                )
            )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    return {name: len(batch) for name, batch in rows.items()}


def _password_hash() -> str:
    """The shared dealer password, hashed once the way the app does (inside its context)."""
    from app import create_app
    from app.services.accounts import hash_password

    with create_app().app_context():
        return hash_password(PASSWORD)


def prepare(url: str, env: dict[str, str], n_products: int = N_PRODUCTS) -> dict[str, object]:
    """Fresh database, migrated and loaded; returns counts and timings for the report."""
    started = time.perf_counter()
    # The app's config (and so hash_password's cost) is read from the environment.
    os.environ.update({"DATABASE_URL": url, "SECRET_KEY": env["SECRET_KEY"]})
    recreate_database(url)
    migrate(url, env)
    migrated = time.perf_counter()
    engine = create_engine(url)
    try:
        counts = load(engine, _password_hash(), n_products)
    finally:
        engine.dispose()
    loaded = time.perf_counter()
    return {
        "rows": counts,
        "migrate_s": round(migrated - started, 2),
        "load_s": round(loaded - migrated, 2),
    }
