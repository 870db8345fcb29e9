"""The one table of `make bench`: every figure of issue 10's targets, and the JSON line.

Each row: requests/s, p50 and p95 where the figure is a rate, the value compared with the
target (a ratio, a count or kilobytes), PASS / MISS, and the CPU milliseconds per request
spent in the app (gunicorn workers) and in PostgreSQL (their backends). A figure that could
not be measured shows "-" and a note.
"""

from __future__ import annotations

import unicodedata
from dataclasses import asdict, dataclass, field

from bench.orders import MIXES


@dataclass
class Row:
    key: str
    label: str
    rps: float | None = None
    p50_ms: float | None = None
    p95_ms: float | None = None
    value: float | None = None  # what the target is about: a ratio, a count, or KB
    target: float | None = None
    op: str = ""  # "≥", "≤" or "=" (with target)
    unit: str = ""  # "", "KB"
    app_cpu_ms: float | None = None
    db_cpu_ms: float | None = None
    note: str = ""
    section: str = field(default="", repr=False)

    @property
    def passed(self) -> bool | None:
        if self.target is None or self.value is None:
            return None
        if self.op == "≥":
            return self.value >= self.target
        if self.op == "≤":
            return self.value <= self.target
        return self.value == self.target

    def as_json(self) -> dict:
        out = {k: v for k, v in asdict(self).items() if k not in ("key", "section")}
        out["pass"] = self.passed
        return {k: v for k, v in out.items() if v not in ("", None) or k in ("value", "pass")}


def _wrk_rows(rows: list[dict]) -> list[Row]:
    out = []
    for r in rows:
        out.append(
            Row(
                r["key"],
                r["label"],
                r["rps"],
                r["p50_ms"],
                r["p95_ms"],
                r["ratio"],
                r["target"],
                "≥" if r["target"] is not None else "",
                app_cpu_ms=r["app_cpu_ms_per_req"],
                db_cpu_ms=r["db_cpu_ms_per_req"],
                note=_failed(r["errors"]),
            )
        )
    return out


def _failed(errors: dict) -> str:
    n = sum(errors.values())
    return f"{n} failed requests" if n else ""


def order_rows(report: dict) -> list[Row]:
    out = []
    for r in report["results"]:
        mix, n = MIXES[r["mix"]], r["clients"]
        key = f"orders_{r['mix']}_c{n}"
        out += [
            Row(
                key,
                f"order placement, {mix}, {n} clients",
                r["app_orders_per_s"],
                r["app_p50_ms"],
                r["app_p95_ms"],
                r["ratio"],
                r["target"],
                "≥",
                app_cpu_ms=r["app_server_cpu_ms"],
                db_cpu_ms=r["app_db_cpu_ms"],
                note=f"{r['app_201']} × 201, {r['app_409']} × 409" if r["app_409"] else "",
            ),
            Row(
                f"{key}_floor",
                "  its database floor (same statements)",
                r["floor_orders_per_s"],
                r["floor_p50_ms"],
                r["floor_p95_ms"],
                1.0,
                app_cpu_ms=r["floor_client_cpu_ms"],
                db_cpu_ms=r["floor_db_cpu_ms"],
                note="app CPU = the psycopg client",
            ),
        ]
    rows = report["results"]
    out.append(
        Row(
            "oversold_units",
            "oversold units (every order run)",
            value=sum(r["oversold_units"] for r in rows),
            target=0,
            op="=",
        )
    )
    out.append(
        Row(
            "ledger_mismatches",
            "ledger mismatches (every order run)",
            value=sum(r["ledger_mismatches"] for r in rows),
            target=0,
            op="=",
            note="balances ≠ Σ entries, debits ≠ payable",
        )
    )
    return out


def scale_rows(report: dict) -> list[Row]:
    out = []
    first = min(report["sizes"])
    for r in report["results"]:
        is_base = r["products"] == first
        target = report["target"] if r["scenario"] == "catalog_api" and not is_base else None
        how = "one at a time, each after a product write" if r["cold"] else ""
        if not is_base:
            how = f"p50 ÷ p50 at {first:,}" + (", cold" if r["cold"] else "")
        out.append(
            Row(
                r["key"],
                f"{r['label']}, {r['products']:,} products" + (", cold" if r["cold"] else ""),
                r["rps"],
                r["p50_ms"],
                r["p95_ms"],
                None if is_base else r["p50_ratio"],
                target,
                "≤" if target is not None else "",
                app_cpu_ms=r["app_cpu_ms_per_req"],
                db_cpu_ms=r["db_cpu_ms_per_req"],
                note=report.get("error", "")[:80] or _failed(r["errors"]) or how,
            )
        )
    return out


def phone_rows(report: dict) -> list[Row]:
    first = report.get("first_load")
    moves = report.get("navigation")
    note = f"not measured: {report['error']}" if "error" in report else ""
    return [
        Row(
            "phone_first_load_kb",
            "catalog first load on a phone (390×844)",
            value=round(first["bytes"] / 1024, 1) if first else None,
            target=30,
            op="≤",
            unit="KB",
            note=note or f"{len(first['resources'])} responses, headers included",
        ),
        Row(
            "static_requests_between_pages",
            "static requests, catalog→orders→cart→catalog",
            value=moves["static_requests"] if moves else None,
            target=0,
            op="=",
            note=note or ", ".join(f"{p['path']} {p['static']}" for p in moves["pages"]),
        ),
    ]


def webhook_rows(report: dict) -> list[Row]:
    return [
        Row(
            r["key"],
            r["label"],
            r["rps"],
            r["p50_ms"],
            r["p95_ms"],
            r["ratio"],
            r["target"],
            "≥",
            app_cpu_ms=r.get("app_cpu_ms_per_req"),
            db_cpu_ms=r.get("db_cpu_ms_per_req"),
            note=_failed(r["errors"]),
        )
        for r in report["results"]
    ]


def build(wrk_rows: list[dict], orders: dict, phone: dict, scale: dict, hooks: dict) -> list:
    """The sections of the table, in the order of the issue's targets."""
    return [
        ("HTTP, wrk; value = req/s ÷ the bare Flask floor's", _wrk_rows(wrk_rows)),
        (
            "order placement; req/s = orders made per second; value = ÷ its database floor's",
            order_rows(orders),
        ),
        ("catalog size; value = p50 ÷ p50 at the smallest size", scale_rows(scale)),
        ("phone, Chromium; value = KB over the wire / requests", phone_rows(phone)),
        ("carrier webhooks (§5); value = req/s ÷ the bare Flask floor's", webhook_rows(hooks)),
    ]


def ljust(text: str, width: int) -> str:
    """Left-justified in terminal columns: CJK characters take two."""
    wide = sum(1 for ch in text if unicodedata.east_asian_width(ch) in "WF")
    return text + " " * max(0, width - len(text) - wide)


def _num(value: float | None, spec: str, width: int) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:>{width}{spec}}"


def _value(row: Row) -> str:
    if row.value is None:
        return "-"
    if row.unit == "KB":
        return f"{row.value:.1f} KB"
    if row.op == "=" or isinstance(row.value, int):
        return f"{row.value:,}"
    return f"{row.value:.2f}"


def _target(row: Row) -> str:
    if row.target is None:
        return ""
    number = f"{row.target:g}" if row.op == "=" or row.unit else f"{row.target:.2f}"
    return f"{row.op}{number}{' ' + row.unit if row.unit else ''}"


def table(sections: list) -> str:
    head = (
        f"{'measure':<46} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'value':>9} {'target':>8}"
        f"  {'result':<6} {'app CPU':>7} {'db CPU':>7}  note"
    )
    lines = [head, "=" * len(head)]
    for title, rows in sections:
        lines.append(f"-- {title}")
        for r in rows:
            verdict = {None: "-" if r.target is not None else "", True: "PASS", False: "MISS"}
            lines.append(
                f"{ljust(r.label, 46)} {_num(r.rps, ',.1f', 8)} {_num(r.p50_ms, '.2f', 8)} "
                f"{_num(r.p95_ms, '.2f', 8)} {_value(r):>9} {_target(r):>8}  "
                f"{verdict[r.passed]:<6} {_num(r.app_cpu_ms, '.2f', 7)} "
                f"{_num(r.db_cpu_ms, '.2f', 7)}  {r.note}".rstrip()
            )
    lines.append(
        "CPU: ms per request (per order attempt) in the gunicorn workers (app) and their "
        "PostgreSQL backends (db)."
    )
    return "\n".join(lines)


def results(sections: list) -> dict[str, dict]:
    """Every row by key, for the JSON line."""
    return {r.key: r.as_json() for _, rows in sections for r in rows}


def verdicts(sections: list) -> dict[str, int]:
    found = [r.passed for _, rows in sections for r in rows if r.target is not None]
    return {
        "pass": found.count(True),
        "miss": found.count(False),
        "not_measured": found.count(None),
    }
