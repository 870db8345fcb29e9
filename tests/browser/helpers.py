"""Shared page checks for the browser tests."""

import re

# Mobile Chromium zooms out to fit content wider than the screen, so `innerWidth` grows with
# the overflow: compare with the layout viewport (`clientWidth`, the phone's width) as well.
# Then list any element sticking out sideways unless an ancestor clips or scrolls it (the
# category chips scroll on purpose): `body { overflow-x: hidden }` hides such an element from
# the scrollWidth check, but it is still cut off for the user.
OVERFLOW_JS = """
() => {
  const vw = document.documentElement.clientWidth;
  const clipped = (el) => {
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      if (getComputedStyle(a).overflowX !== "visible") return true;
    }
    return false;
  };
  const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
    (el.classList.length ? "." + [...el.classList].join(".") : "");
  const offenders = [];
  for (const el of document.body.querySelectorAll("*")) {
    const r = el.getBoundingClientRect();
    if (!r.width || !r.height) continue;
    if ((r.right > vw + 1 || r.left < -1) && !clipped(el)) {
      offenders.push(`${name(el)} [${Math.round(r.left)}..${Math.round(r.right)}]`);
    }
  }
  return {
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
    clientWidth: vw,
    offenders: offenders.slice(0, 10),
  };
}
"""


class JsErrors:
    """Script errors and console errors of the pages it watches (expected HTTP errors aside)."""

    def __init__(self):
        self.seen: list[str] = []

    def watch(self, page, allow_status: tuple[int, ...] = ()):
        allowed = re.compile(
            r"Failed to load resource: the server responded with a status of "
            rf"({'|'.join(map(str, allow_status)) or 'none'})\b"
        )

        def note(problem: str) -> None:
            print(problem)  # shown with a failing test, whatever step it failed at
            self.seen.append(problem)

        def on_console(msg):
            if msg.type == "error" and not allowed.search(msg.text):
                note(f"console error on {page.url}: {msg.text}")

        def on_response(response):
            if response.status >= 500:
                note(f"{response.status} for {response.request.method} {response.url}")

        page.on("pageerror", lambda err: note(f"page error on {page.url}: {err}"))
        page.on("console", on_console)
        page.on("response", on_response)

        def on_failed(request):
            if request.failure != "net::ERR_ABORTED":  # a navigation cut a request short
                note(f"request failed: {request.method} {request.url} ({request.failure})")

        page.on("requestfailed", on_failed)
        return page

    def check(self):
        assert not self.seen, "\n".join(self.seen)
