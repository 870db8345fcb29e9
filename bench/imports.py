"""`make bench`, spreadsheet part: a 20,000-row products file previewed and applied (CSV and
.xlsx), prices and stock files of the same size, on PostgreSQL; one table and one JSON line.

BENCH_IMPORT_ROWS (default 20000); BENCH_DATABASE_URL as bench/run.py, with "_imports"
appended to the database name (dropped and re-created).
"""

from __future__ import annotations

import json
import logging
import os
import time
from decimal import Decimal

from bench import dataset

HEADER = ["sku", "name", "unit", "list_price", "category", "spec", "min_order_qty",
          "order_multiple", "low_stock_threshold", "active"]  # fmt: skip


def _yuan(fen: int) -> str:
    return str(Decimal(fen).scaleb(-2).quantize(Decimal("0.01")))


def _products(n: int, unit: str = "箱") -> list[list]:
    return [
        [f"SKU-{i:05d}", f"测试商品 {i} 号 500ml×12", unit, _yuan(1000 + i), f"类{i % 30}",
         "500ml×12", 1, 1, 10, True]
        for i in range(n)
    ]  # fmt: skip


def main() -> int:
    n = int(os.environ.get("BENCH_IMPORT_ROWS", "20000"))
    url = dataset.database_url()
    url = url.rsplit("/", 1)[0] + "/" + url.rsplit("/", 1)[1].split("?")[0] + "_imports"
    dataset.recreate_database(url)
    dataset.migrate(url, dict(os.environ))

    from app import create_app
    from app.config import Config
    from app.extensions import db
    from app.services import accounts, import_files, imports

    os.environ["DATABASE_URL"] = url
    app = create_app(Config())
    logging.disable(logging.INFO)
    rows: list[tuple[str, float]] = []

    def timed(label: str, call):
        start = time.perf_counter()
        outcome = call()
        rows.append((label, time.perf_counter() - start))
        return outcome

    with app.app_context():
        accounts.create_tier("GOLD", "金牌")
        accounts.create_dealer("G1", "经销商", "GOLD")
        products = import_files.to_csv(HEADER, _products(n))
        xlsx = import_files.to_xlsx(HEADER, _products(n), "products")
        changed = import_files.to_csv(HEADER, _products(n, unit="瓶"))
        run = imports.run
        assert (
            timed(
                "products preview, new (CSV)",
                lambda: run("products", products, by=None, dry_run=True),
            ).new
            == n
        )
        assert (
            timed(
                "products apply, new (CSV)",
                lambda: run("products", products, by=None, dry_run=False),
            ).new
            == n
        )
        assert (
            timed(
                "products preview, unchanged (.xlsx)",
                lambda: run("products", xlsx, by=None, dry_run=True),
            ).unchanged
            == n
        )
        assert (
            timed(
                "products preview, changed (CSV)",
                lambda: run("products", changed, by=None, dry_run=True),
            ).changed
            == n
        )
        assert (
            timed(
                "products apply, changed (CSV)",
                lambda: run("products", changed, by=None, dry_run=False),
            ).changed
            == n
        )
        timed("products export (CSV)", lambda: imports.export_file("products", "csv"))
        timed("products export (.xlsx)", lambda: imports.export_file("products", "xlsx"))
        breaks = ((1, "900.00"), (10, "800.00"))
        table = [[f"SKU-{i:05d}", "tier:GOLD", q, p] for i in range(n // 2) for q, p in breaks]
        prices = import_files.to_csv(["sku", "scope", "min_qty", "price"], table)
        timed("prices apply (CSV)", lambda: run("prices", prices, by=None, dry_run=False))
        stock = import_files.to_csv(
            ["sku", "on_hand"], [[f"SKU-{i:05d}", 100 + i] for i in range(n)]
        )
        timed(
            "stock apply with movements (CSV)", lambda: run("stock", stock, by=None, dry_run=False)
        )
        db.session.remove()
        db.engine.dispose()

    print(f"\nSpreadsheets: {n:,} rows, PostgreSQL (target: seconds)")
    print(f"| {'step':40} | seconds |\n|{'-' * 42}|---------|")
    for label, seconds in rows:
        print(f"| {label:40} | {seconds:7.2f} |")
    print(json.dumps({"bench": "imports", "rows": n, "seconds": {k: round(v, 3) for k, v in rows}},
                     ensure_ascii=False))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
