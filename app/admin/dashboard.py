"""The HQ dashboard: the first screen, led by the review queue (UI.md), then today, how fast
orders are handled, sales by day, this month's best dealers and products, low stock and the
dealers to call. Read-only, for every HQ role; the figures come from app/services/dashboard.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from math import ceil, log10

from flask import current_app, render_template, url_for
from flask_babel import gettext as _
from werkzeug.routing import BuildError

from app.admin import bp, hq_can, requires
from app.services import dashboard as figures
from app.services import permissions
from app.web.helpers import is_chinese

TARGET_HOURS = 12  # the brand's goal for handling an order (it took 48 hours before)

# The sales chart, in SVG user units (it scales to the card's width).
WIDTH, HEIGHT = 340, 180
LEFT, RIGHT, TOP, BOTTOM = 46, 4, 8, 22
GRIDLINES = 4


@bp.get("/")
@requires(permissions.HQ)
def dashboard():
    found = figures.dashboard()
    return render_template(
        "admin/dashboard.html",
        d=found,
        chart=sales_chart(found.sales),
        target_s=TARGET_HOURS * 3600,
    )


@bp.app_template_global()
def dash_link(endpoint: str, **values) -> str | None:
    """The URL of another HQ page when it exists and the reader may open it, else None."""
    if endpoint not in current_app.view_functions or not hq_can(endpoint):
        return None
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


@bp.app_template_filter()
def handling_time(seconds: float | None) -> str:
    """A handling time as people say it: minutes under an hour, else hours to one decimal."""
    if seconds is None:
        return "—"
    if seconds < 3600:
        return _("%(n)s min", n=max(1, round(seconds / 60)))
    return _("%(n)s h", n=f"{seconds / 3600:.1f}")


@bp.app_template_filter()
def change_percent(now: int, before: int) -> str:
    """How much lower `now` is than `before`, as "−62%"."""
    return f"−{round(100 * (before - now) / before)}%" if before else ""


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    day: date
    amount: int
    today: bool


@dataclass(frozen=True, slots=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True, slots=True)
class DayLabel:
    x: float
    label: str
    anchor: str  # SVG text-anchor: today's label ends at the right edge


@dataclass(frozen=True, slots=True)
class Chart:
    width: int
    height: int
    left: int
    right: int
    baseline: float
    bars: list[Bar]
    ticks: list[Tick]
    days: list[DayLabel]
    best: figures.DaySales | None
    total: int


def sales_chart(sales: list[figures.DaySales]) -> Chart:
    """Bars for the days (today last), gridlines at round amounts, a date every 7 days."""
    step_fen = _nice_step(max((s.amount for s in sales), default=0))
    top_fen = step_fen * GRIDLINES
    plot_h = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT - RIGHT) / max(len(sales), 1)
    baseline = TOP + plot_h
    bars = []
    for i, s in enumerate(sales):
        h = plot_h * max(s.amount, 0) / top_fen
        x = LEFT + i * slot + slot * 0.15
        bars.append(
            Bar(
                round(x, 1),
                round(baseline - h, 1),
                round(slot * 0.7, 1),
                round(h, 1),
                s.day,
                s.amount,
                i == len(sales) - 1,
            )
        )
    ticks = [
        Tick(round(baseline - plot_h * n / GRIDLINES, 1), axis_amount(step_fen * n))
        for n in range(GRIDLINES + 1)
    ]
    last = len(sales) - 1
    days = [
        DayLabel(round(LEFT + i * slot + slot / 2, 1), _mmdd(s.day), "middle")
        for i, s in enumerate(sales[:-1])
        if (last - i) % 7 == 0
    ]
    if sales:
        days.append(DayLabel(WIDTH - RIGHT, _("Today"), "end"))
    best = max(sales, key=lambda s: s.amount, default=None)
    return Chart(
        WIDTH,
        HEIGHT,
        LEFT,
        RIGHT,
        baseline,
        bars,
        ticks,
        days,
        best if best and best.amount > 0 else None,
        sum(s.amount for s in sales),
    )


def _mmdd(day: date) -> str:
    return f"{day.month:02d}-{day.day:02d}"


def _nice_step(max_fen: int) -> int:
    """A round gridline step in fen (1, 2, 2.5 or 5 × 10ⁿ yuan) that fits the highest bar."""
    need = max(max_fen, 100 * GRIDLINES) / GRIDLINES  # at least ¥1 a line
    power = 10 ** int(log10(need))
    for factor in (1, 2, 2.5, 5, 10):
        if factor * power >= need:
            return ceil(factor * power)
    return 10 * power


def axis_amount(fen: int) -> str:
    """A gridline's amount, short: ¥2,000 · ¥1.5万 · ¥3亿 (¥15k · ¥3M in English)."""
    yuan = fen / 100
    if is_chinese():
        scales = ((1e8, "亿"), (1e4, "万"))
    else:
        scales = ((1e9, "B"), (1e6, "M"), (1e3, "k"))
    for size, suffix in scales:
        if yuan >= size:
            return f"¥{round(yuan / size, 2):,g}{suffix}"
    return f"¥{yuan:,.0f}"
