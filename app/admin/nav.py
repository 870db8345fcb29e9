"""The HQ navigation: one entry per area, shown to the roles whose capability opens it.

Each area adds its own line here; the layout draws the list (a side bar on a laptop, a menu
on a phone) and hides entries the signed-in user's role cannot open (hq_can)."""

from flask_babel import lazy_gettext as _l

# (section, endpoint, label) in the order shown.
NAV = [
    ("dashboard", "admin.dashboard", _l("Dashboard")),
    ("orders", "admin.order_queue", _l("Order desk")),
    ("order_for", "admin.proxy_start", _l("Order for a dealer")),
    ("shipping", "admin.to_ship_queue", _l("To ship")),
    ("attention", "admin.shipments_attention", _l("Shipping issues")),
    ("products", "admin.products_list", _l("Products")),
    ("stock", "admin.stock", _l("Stock")),
    ("dealers", "admin.dealers_list", _l("Dealers")),
    ("imports", "admin.imports_page", _l("Spreadsheets")),
    ("finance", "admin.finance_notices", _l("Finance")),
    ("carriers", "admin.carriers", _l("Carriers")),
    ("announcements", "admin.announcements_list", _l("Announcements")),
    ("staff", "admin.staff_list", _l("Staff")),
    ("audit", "admin.audit_log", _l("Audit log")),
]
