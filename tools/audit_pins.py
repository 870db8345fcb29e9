"""Known vulnerabilities of the pinned requirements (CI; an equivalent of pip-audit).

pip-audit asks PyPI for each release (/pypi/NAME/VERSION/json) or OSV; from this project's
machines only PyPI's project pages (/pypi/NAME/json) answer. A project page lists the
advisories that affect its latest release, each with the versions that fix it. So a pin is:

- clean when it is the latest release and the page lists no advisory;
- vulnerable when an advisory's fix is newer than the pin (the latest release is affected, or
  the advisory's `fixed_in` is above the pin);
- unchecked when it is older than the latest release (its own advisories are not published
  to us): listed, with the latest version, so it can be moved up.

Run by the project's virtualenv, it also checks every package installed there (what the pins
pulled in).

    .venv/bin/python tools/audit_pins.py requirements.txt requirements-dev.txt
                                                           (exit 1: a vulnerable pin)
"""

from __future__ import annotations

import json
import re
import sys
import urllib.request
from importlib import metadata

from packaging.version import Version

PIN = re.compile(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==([^\s;#]+)")
INDEX = "https://pypi.org/pypi/{}/json"


def pins(paths: list[str]) -> dict[str, str]:
    found = {}
    for path in paths:
        with open(path, encoding="utf-8") as lines:
            text = lines.read()
        for line in text.splitlines():
            match = PIN.match(line.strip())
            if match:
                found[match[1].lower()] = match[2]
    return found


def installed() -> dict[str, str]:
    return {dist.metadata["Name"].lower(): dist.version for dist in metadata.distributions()}


def project(name: str) -> dict:
    with urllib.request.urlopen(INDEX.format(name), timeout=30) as answer:
        return json.load(answer)


def verdict(pinned: str, page: dict) -> tuple[str, list[str]]:
    latest = page["info"]["version"]
    advisories = page.get("vulnerabilities") or []
    found = []
    for advisory in advisories:
        fixes = [Version(v) for v in advisory.get("fixed_in") or []]
        if not fixes or any(fix > Version(pinned) for fix in fixes):
            found.append(f"{advisory.get('id')} (fixed in {', '.join(map(str, fixes)) or '—'})")
    if found:
        return "vulnerable", found
    if Version(pinned) < Version(latest):
        return "unchecked", [f"latest is {latest}"]
    return "clean", []


def main(paths: list[str]) -> int:
    counts = {"clean": 0, "unchecked": 0, "vulnerable": 0}
    for name, pinned in sorted({**installed(), **pins(paths)}.items()):
        try:
            state, notes = verdict(pinned, project(name))
        except OSError as err:
            state, notes = "unchecked", [f"index unreachable: {err}"]
        counts[state] += 1
        if state != "clean":
            print(f"{state:10} {name}=={pinned}: {'; '.join(notes)}")
    print(", ".join(f"{n} {state}" for state, n in counts.items()))
    return 1 if counts["vulnerable"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["requirements.txt", "requirements-dev.txt"]))
