"""The rebate policy: a rate per tier, and how much of an order rebate may pay."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select

from app.errors import Invalid
from app.extensions import db
from app.models import Tier
from app.money import MoneyError, apply_rate, parse_rate
from app.services import cache
from app.services.cache import CATALOG
from app.services.settings import get_setting, update_settings


@dataclass(frozen=True, slots=True)
class RebatePolicy:
    rates: dict[str, Decimal]
    max_use_ratio: Decimal

    def rate_for(self, tier_code: str) -> Decimal:
        """A tier not listed earns nothing."""
        return self.rates.get(tier_code, Decimal("0"))

    def max_use(self, goods_amount: int) -> int:
        """The most rebate an order of this size may use, half-up to the fen."""
        return apply_rate(goods_amount, self.max_use_ratio)


def current_policy() -> RebatePolicy:
    """The policy in force when this request started (kept per process, topic catalog: a
    change is seen by every request that starts after it was committed)."""
    raw = cache.cached(CATALOG, ("setting", "rebate_policy"), lambda: get_setting("rebate_policy"))
    rates = {code: Decimal(rate) for code, rate in raw["rates"].items()}
    return RebatePolicy(rates, Decimal(raw["max_use_ratio"]))


def set_policy(rates: dict[str, str], max_use_ratio: str) -> RebatePolicy:
    """Replace the whole policy; raises Invalid for unknown tiers or malformed rates."""
    errors: dict[str, list[str]] = {}
    known = set(db.session.scalars(select(Tier.code)))
    clean: dict[str, str] = {}
    for code, rate in rates.items():
        if code not in known:
            errors[f"rates.{code}"] = ["Unknown tier."]
            continue
        try:
            clean[code] = str(parse_rate(rate))
        except MoneyError as err:
            errors[f"rates.{code}"] = [str(err)]
    try:
        ratio = str(parse_rate(max_use_ratio))
    except MoneyError as err:
        errors["max_use_ratio"] = [str(err)]
    if errors:
        raise Invalid("The rebate policy is invalid.", errors=errors)
    update_settings({"rebate_policy": {"rates": clean, "max_use_ratio": ratio}})
    return current_policy()
