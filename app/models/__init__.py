"""Every model, imported so Alembic and the app see the whole schema."""

from app.models.accounts import (
    ROLE_ADMIN,
    ROLE_DEALER,
    ROLE_FINANCE,
    ROLE_ORDER_DESK,
    ApiToken,
    Dealer,
    Tier,
    User,
)
from app.models.announcements import Announcement, AnnouncementRead, announcement_tiers
from app.models.audit import AuditEntry
from app.models.catalog import Category, Product, product_tier_limits
from app.models.catalog_admin import ProductImage, StockMovement
from app.models.imports import ImportUpload
from app.models.logistics import Carrier, CarrierEvent, Shipment, ShipmentLine, WebhookRefusal
from app.models.notices import DepositNotice
from app.models.orders import CartItem, IdempotencyKey, Order, OrderEvent, OrderLine
from app.models.pricing import DealerPrice, TierPrice
from app.models.settings import Setting
from app.models.settlements import RebateSettlement, RebateSettlementLine
from app.models.stock import StockLevel
from app.models.usual import PinnedProduct
from app.models.wallet import LedgerEntry, WalletAccount

__all__ = [
    "ROLE_ADMIN",
    "ROLE_DEALER",
    "ROLE_FINANCE",
    "ROLE_ORDER_DESK",
    "Announcement",
    "AnnouncementRead",
    "ApiToken",
    "AuditEntry",
    "CartItem",
    "Carrier",
    "CarrierEvent",
    "Shipment",
    "ShipmentLine",
    "WebhookRefusal",
    "IdempotencyKey",
    "ImportUpload",
    "LedgerEntry",
    "DepositNotice",
    "Order",
    "OrderEvent",
    "OrderLine",
    "PinnedProduct",
    "WalletAccount",
    "Category",
    "Dealer",
    "DealerPrice",
    "Product",
    "ProductImage",
    "RebateSettlement",
    "RebateSettlementLine",
    "Setting",
    "StockLevel",
    "StockMovement",
    "Tier",
    "TierPrice",
    "User",
    "announcement_tiers",
    "product_tier_limits",
]
