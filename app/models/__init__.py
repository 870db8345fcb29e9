"""Every model, imported so Alembic and the app see the whole schema."""

from app.models.accounts import ROLE_ADMIN, ROLE_DEALER, ApiToken, Dealer, Tier, User
from app.models.catalog import Category, Product, product_tier_limits
from app.models.pricing import DealerPrice, TierPrice
from app.models.settings import Setting
from app.models.stock import StockLevel

__all__ = [
    "ROLE_ADMIN",
    "ROLE_DEALER",
    "ApiToken",
    "Category",
    "Dealer",
    "DealerPrice",
    "Product",
    "Setting",
    "StockLevel",
    "Tier",
    "TierPrice",
    "User",
    "product_tier_limits",
]
