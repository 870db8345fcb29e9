"""Refresh translations: `python tools/i18n.py` extracts messages and updates the catalogs.

zh_CN is the default language; its translations live in ZH below so a missing one is
obvious in review. English needs no catalog (the source strings are English).
"""

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "app/translations/zh_Hans_CN/LC_MESSAGES/messages.po"
BIN = Path(sys.executable).parent

ZH = {
    "You do not have access to this page.": "您无权访问此页面。",
    "This page does not exist.": "页面不存在。",
    "Too many attempts. Please wait a minute and try again.": "尝试次数过多，请稍等一分钟再试。",
    "Something went wrong on our side. Please try again.": "系统开小差了，请稍后重试。",
    "Wrong username or password.": "用户名或密码错误。",
    "This account has been deactivated. Please contact HQ.": "该账号已停用，请联系总部。",
    "In stock": "有货",
    "Low stock": "库存紧张",
    "Out of stock": "缺货",
    "Your contract price": "您的专属协议价",
    "%(tier)s tier price": "%(tier)s经销商价",
    "Standard price": "统一零售指导价",
    "Dealer ordering": "经销商订货",
    "Dinghuo": "订货通",
    "Back to home": "返回首页",
    "Log in": "登录",
    "Order from your phone at your own price": "手机订货，专属价格一目了然",
    "Username": "用户名",
    "Password": "密码",
    "HQ dashboard": "总部工作台",
    "Log out": "退出登录",
    "Active dealers": "在用经销商",
    "Active products": "在售商品",
    "Low or out of stock": "库存紧张/缺货",
    "SKU": "商品编码",
    "Product": "商品",
    "Available": "可用库存",
    "Nothing is running low.": "暂无库存紧张的商品。",
    "Catalog, prices and stock": "商品、价格与库存",
    "Manage them through the HQ API; the full admin pages come next.": "目前通过总部 API 管理；完整的管理页面即将上线。",
    "API description (OpenAPI)": "API 文档（OpenAPI）",
    "MOQ %(n)s%(unit)s": "起订%(n)s%(unit)s",
    "in steps of %(n)s%(unit)s": "按%(n)s%(unit)s递增",
    "No products match.": "没有找到相关商品。",
    "Show all": "查看全部",
    "Load more": "加载更多",
    "Main": "主导航",
    "Products": "商品",
    "Cart": "购物车",
    "Orders": "订单",
    "Me": "我的",
    "Search by name or SKU": "搜索商品名称或编码",
    "Search": "搜索",
    "Categories": "分类",
    "All": "全部",
    "Dealer code": "经销商编码",
    "Tier": "等级",
    "Region": "区域",
    "Logged in as": "当前账号",
    "Back": "返回",
    "Price breaks": "阶梯价",
    "Quantity": "数量",
    "Unit price": "单价",
    "Order %(n)s%(unit)s or more for %(price)s each": "订满%(n)s%(unit)s，单价降至%(price)s",
    "Category": "分类",
    "Unit": "单位",
    "Minimum order": "起订量",
    "Pack multiple": "订购倍数",
    "Ordering opens soon. Browse the catalog to see your prices and stock.": "在线下单即将开放，先看看您的专属价格和库存吧。",
    "Browse products": "去看商品",
    "Approved": "已审核通过",
    "Rejected": "已驳回",
    "Added to cart (%(n)s in cart)": "已加入购物车（共%(n)s）",
    "Order %(number)s submitted": "订单 %(number)s 已提交",
    "To review": "待审核",
    "To ship": "待发货",
    "Partly shipped": "部分发货",
    "Shipped": "已发货",
    "Delivered": "已签收",
    "Cancelled": "已取消",
    "Completed": "已完成",
    "Order cancelled; stock and funds were returned.": "订单已取消，库存和货款已退回。",
    "This order can no longer be cancelled.": "该订单已无法取消。",
    "The order's lines are in your cart.": "已将该订单的商品加入购物车。",
    "%(name)s is no longer available; left out.": "%(name)s 已下架，未加入。",
    "%(name)s is out of stock; left out.": "%(name)s 缺货，未加入。",
    "%(name)s: only %(added)s in stock, reduced from %(wanted)s.": "%(name)s：库存仅 %(added)s，已由 %(wanted)s 调整。",
    "%(name)s: changed from %(wanted)s to %(added)s to fit the pack rules.": "%(name)s：按起订量和倍数由 %(wanted)s 调整为 %(added)s。",
    "HQ": "总部",
    "Dashboard": "工作台",
    "Order desk": "订单审核",
    "orders waiting for review": "笔订单待审核",
    "oldest %(age)s": "最早已等 %(age)s",
    "waiting %(age)s": "已等 %(age)s",
    "Goods amount": "商品金额",
    "Rebate used": "使用返利",
    "Debited": "实扣货款",
    "Note": "备注",
    "Progress": "订单进度",
    "Reason": "原因",
    "Approve": "审核通过",
    "Reason for rejecting": "驳回原因",
    "Reject": "驳回",
    "Submitted orders, oldest first.": "待审核订单，最早的排在前面。",
    "Nothing waiting. Well done.": "没有待审核的订单，干得好！",
    "Order %(name)s": "订购 %(name)s",
    "No longer available, removed from your cart: %(names)s": "以下商品已下架，已从购物车移除：%(names)s",
    "Your cart is empty.": "购物车还是空的。",
    "Remove %(name)s": "删除 %(name)s",
    "Remove": "删除",
    "Less": "减少",
    "More": "增加",
    "Update": "更新",
    "Add %(n)s%(unit)s more for %(price)s each": "再加%(n)s%(unit)s享 %(price)s",
    "Only %(n)s%(unit)s in stock": "库存仅剩%(n)s%(unit)s",
    "Total": "合计",
    "Check out": "去结算",
    "available %(n)s": "可用 %(n)s",
    "Amount": "金额",
    "Add %(n)s more for %(price)s each": "再加%(n)s享 %(price)s",
    "Add to cart": "加入购物车",
    "Order now": "立即下单",
    "Close": "关闭",
    "requested %(r)s, available %(a)s": "需要 %(r)s，可用 %(a)s",
    "Adjust quantities in the cart": "去购物车调整数量",
    "Rebate to use": "使用返利",
    "Up to %(max)s": "最多可用 %(max)s",
    "Use all": "全部使用",
    "To be debited": "将扣货款",
    "Funds available": "可用资金",
    "Available after this order": "下单后可用",
    "Note for HQ": "备注（给总部）",
    "To pay": "应付",
    "Submit order": "提交订单",
    "Wallet": "我的资金",
    "Funds balance": "货款余额",
    "Credit limit": "信用额度",
    "Available to spend": "可用额度",
    "Rebate balance": "返利余额",
    "Rebate pending": "待入账返利",
    "Order %(number)s": "订单 %(number)s",
    "Order details": "订单详情",
    "Cancel this order?": "确定取消这个订单吗？",
    "Cancel order": "取消订单",
    "Order again": "再来一单",
    "Order status": "订单状态",
    "%(n)s items": "共%(n)s种商品",
    "No orders here yet.": "这里还没有订单。",
    "Order": "下单",
    "Check the quantity: at least the minimum order, in whole packs.": "请检查数量：不少于起订量，并按订购倍数递增。",
    "Check the rebate: an amount such as 12.50, within what you may use.": "请检查返利金额：如 12.50，且不超过可用额度。",
    "Please give a reason.": "请填写原因。",
    "A product is no longer available.": "有商品已下架或不可订购。",
    "%(name)s: requested %(r)s, available %(a)s": "%(name)s：需要 %(r)s，可用 %(a)s",
    "Not enough stock. %(lines)s": "库存不足。%(lines)s",
    "Not enough funds: %(available)s available, this needs %(required)s.": "可用资金不足：可用 %(available)s，本单需 %(required)s。",
    "That is more rebate than this order may use.": "超出本单可使用的返利额度。",
    "That is more than your rebate balance.": "超出您的返利余额。",
    "This order is still being submitted; please wait.": "订单正在提交，请稍候。",
    "This order changed meanwhile; please refresh the page.": "订单状态已变化，请刷新页面。",
    "Refunded": "已退回货款",
    "Confirm order": "确认订单",
    "Someone changed this at the same moment. Please try again.": "数据刚被同时修改，请重试。",
    "Change to %(n)s%(unit)s": "改为%(n)s%(unit)s",
}


def main() -> int:
    pot = ROOT / "instance/messages.pot"
    pot.parent.mkdir(exist_ok=True)
    subprocess.run(
        [
            BIN / "pybabel",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "--ignore-dirs=.venv bench tests instance",
            "--no-location",
            "-o",
            pot,
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as f:
        catalog = read_po(f, locale="zh_Hans_CN")
    catalog.fuzzy = False  # pybabel compile skips a fuzzy catalog
    catalog.project, catalog.version = "dinghuo", "1"
    missing = []
    for message in catalog:
        if message.id:
            message.string = ZH.get(message.id, "")
            if not message.string:
                missing.append(message.id)
    PO.parent.mkdir(parents=True, exist_ok=True)
    with PO.open("wb") as f:
        write_po(f, catalog, width=100, omit_header=False)
    subprocess.run(
        [BIN / "pybabel", "compile", "-d", ROOT / "app/translations"],
        check=True,
        capture_output=True,
    )
    for msgid in missing:
        print(f"missing zh_CN translation: {msgid!r}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
