"""The committed zh-CN catalog is complete and its compiled .mo is up to date."""

from pathlib import Path

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

LC = Path(__file__).resolve().parents[2] / "app/translations/zh_Hans_CN/LC_MESSAGES"


def _messages(catalog) -> dict[str, str]:
    return {m.id: m.string for m in catalog if m.id}


def test_every_message_has_a_chinese_translation():
    with (LC / "messages.po").open("rb") as f:
        po = _messages(read_po(f))
    assert po and all(po.values()), [k for k, v in po.items() if not v]


def test_compiled_catalog_matches_the_po_file():
    with (LC / "messages.po").open("rb") as f:
        po = _messages(read_po(f))
    with (LC / "messages.mo").open("rb") as f:
        mo = _messages(read_mo(f))
    assert mo == po, "run: .venv/bin/python tools/i18n.py"
