"""Shared page checks for the browser tests."""

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
