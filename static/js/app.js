/* Our only script: CSRF on htmx requests, and a light live refresh of stock badges. */
(function () {
  "use strict";
  var csrf = document.querySelector('meta[name="csrf-token"]');

  document.addEventListener("htmx:configRequest", function (event) {
    if (csrf) event.detail.headers["X-CSRFToken"] = csrf.content;
  });

  var REFRESH_MS = 20000;
  var etag = null;

  function visibleSkus(list) {
    var skus = [];
    list.querySelectorAll("[data-sku]").forEach(function (card) {
      if (skus.length < 100) skus.push(card.getAttribute("data-sku"));
    });
    return skus;
  }

  function paint(list, items) {
    items.forEach(function (row) {
      var card = list.querySelector('[data-sku="' + CSS.escape(row.sku) + '"]');
      var badge = card && card.querySelector("[data-stock-badge]");
      if (!badge) return;
      badge.className = "badge badge-" + row.status;
      badge.textContent = row.label + (row.available === null ? "" : " ");
      if (row.available !== null) {
        var n = document.createElement("b");
        n.textContent = row.available;
        badge.appendChild(n);
      }
    });
  }

  function refresh() {
    var list = document.querySelector("[data-stock-url]");
    if (!list || document.hidden) return;
    var skus = visibleSkus(list);
    if (!skus.length) return;
    var url = list.getAttribute("data-stock-url") + "?skus=" + encodeURIComponent(skus.join(","));
    var headers = etag ? { "If-None-Match": etag } : {};
    fetch(url, { headers: headers, credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (response.status !== 200) return null;
        etag = response.headers.get("ETag");
        return response.json();
      })
      .then(function (body) { if (body) paint(list, body.items); })
      .catch(function () { /* a weak network: try again next time */ });
  }

  document.addEventListener("htmx:afterSwap", function () { etag = null; });

  /* Money and the order sheet's stepper: the same rules the server applies. */
  function yuan(fen) {
    var sign = fen < 0 ? "-" : "";
    fen = Math.abs(fen);
    var whole = Math.floor(fen / 100).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return sign + "¥" + whole + "." + String(fen % 100).padStart(2, "0");
  }

  function priceFor(breaks, qty) {
    var price = breaks[0][1];
    breaks.forEach(function (row) { if (row[0] <= qty) price = row[1]; });
    return price;
  }

  /* Pack rules, as app/services/quantities.py has them: from `first`, in steps of `step`,
     up to `max` (the most today's stock can fill; absent when not even `first` fits). */
  function rulesOf(form) {
    var num = function (name) { return parseInt(form.getAttribute(name), 10); };
    var step = num("data-step") || 1;
    var max = num("data-max");
    return { first: num("data-moq") || step, step: step, max: isNaN(max) ? null : max };
  }
  function isValid(r, qty) { return qty >= r.first && qty % r.step === 0; }
  function above(r, qty) { return Math.max(r.first, (Math.floor(qty / r.step) + 1) * r.step); }
  function below(r, qty) {
    var q = Math.floor((qty - 1) / r.step) * r.step;
    return q >= r.first ? q : null;
  }
  function typedQty(input) {
    var text = input.value.replace(/[\uff10-\uff19]/g, function (c) {
      return String.fromCharCode(c.charCodeAt(0) - 0xfee0);
    }).trim();
    return /^\d{1,12}$/.test(text) ? parseInt(text, 10) : null;
  }

  function repaint(form) {
    var input = form.querySelector('input[name="qty"]');
    var r = rulesOf(form);
    var typed = typedQty(input);
    var qty = typed === null ? 0 : typed;
    var less = form.querySelector('[data-step-by="-1"]');
    var more = form.querySelector('[data-step-by="1"]');
    if (less) less.disabled = qty <= r.first;
    if (more) more.disabled = r.max === null || qty >= r.max;
    var maxNote = form.querySelector("[data-max-note]");
    if (maxNote) maxNote.hidden = r.max === null || qty < r.max;
    var hint = form.querySelector("[data-qty-hint]");
    if (hint) {
      var text = "";
      if (typed !== null && typed > 0 && r.max !== null && typed > r.max) {
        text = hint.getAttribute("data-over").replace("{max}", r.max);
      } else if (typed !== null && typed > 0 && !isValid(r, typed)) {
        var low = below(r, typed), high = above(r, typed);
        text = low === null ? hint.getAttribute("data-from").replace("{high}", high)
          : hint.getAttribute("data-between").replace("{low}", low).replace("{high}", high);
      }
      hint.textContent = text;
      hint.hidden = !text;
      if (maxNote && text) maxNote.hidden = true;
    }
    var raw = form.getAttribute("data-breaks");
    if (!raw) return;
    /* Only an orderable quantity is priced: anything else shows "—" and no break hint. */
    var priced = isValid(r, qty) && (r.max === null || qty <= r.max);
    var breaks = JSON.parse(raw);
    var rows = JSON.parse(form.getAttribute("data-rows") || "[]");
    var price = priceFor(breaks, priced ? qty : r.first);
    var unit = form.querySelector("[data-unit-price]");
    var amount = form.querySelector("[data-amount]");
    if (unit) unit.textContent = yuan(price);
    if (amount) amount.textContent = priced ? yuan(price * qty) : "—";
    var next = form.querySelector("[data-next-break]");
    var row = priced && rows.filter(function (x) { return x[0] > qty && x[2] && x[1] < price; })[0];
    if (next) {
      next.hidden = !row;
      if (row) next.textContent = next.getAttribute("data-template")
        .replace("{n}", row[0] - qty).replace("{price}", yuan(row[1]));
    }
    var table = document.querySelector("[data-breaks-table]");
    if (table && rows.length) {
      var active = rows[0][0];
      rows.forEach(function (x) { if (x[0] <= qty) active = x[0]; });
      table.querySelectorAll("tr[data-min]").forEach(function (tr) {
        tr.classList.toggle("is-active", parseInt(tr.getAttribute("data-min"), 10) === active);
      });
    }
  }

  /* − and + move between orderable quantities from the one nearest what is in the box. */
  function stepped(r, typed, by) {
    var qty = typed === null ? r.first : typed;
    var to = by > 0 ? (isValid(r, qty) ? qty + r.step : above(r, qty)) : below(r, qty);
    if (to === null) to = r.first;
    if (r.max !== null && to > r.max) to = r.max;
    return to;
  }

  function closeSheet() {
    var sheet = document.getElementById("sheet");
    if (!sheet || !sheet.innerHTML) return;
    sheet.innerHTML = "";
    if (sheetOpener && document.contains(sheetOpener)) sheetOpener.focus();
  }
  var sheetOpener = null;

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-step-by]");
    if (button) {
      event.preventDefault();
      var form = button.closest("[data-stepper]");
      var input = form.querySelector('input[name="qty"]');
      var to = stepped(rulesOf(form), typedQty(input), parseInt(button.getAttribute("data-step-by"), 10));
      if (String(to) === input.value) return;
      input.value = to;
      repaint(form);
      input.dispatchEvent(new Event("change", { bubbles: true }));
      return;
    }
    if (event.target.closest("[data-close-sheet]")) closeSheet();
    var opener = event.target.closest('[hx-target="#sheet"]');
    if (opener && !opener.closest("#sheet")) sheetOpener = opener;
    /* ‹ goes back to the list the dealer came from (its search, category, tab and scroll)
       when the page before was one of the lists the link names; else it follows its href. */
    var back = event.target.closest("a[data-back]");
    if (back && history.length > 1 && document.referrer) {
      var from = new URL(document.referrer);
      var lists = back.getAttribute("data-back").split(" ");
      if (from.origin === location.origin && lists.indexOf(from.pathname) >= 0) {
        event.preventDefault();
        history.back();
      }
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") closeSheet();
  });

  document.addEventListener("input", function (event) {
    var form = event.target.closest("[data-stepper]");
    if (form && event.target.name === "qty") repaint(form);
  });

  /* A new sheet: its quantity box gets the focus, so a keyboard user is inside the dialog. */
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "sheet") {
      var input = event.detail.target.querySelector('input[name="qty"]');
      if (input) input.focus({ preventScroll: true });
    }
  });

  /* The active chip (category or order status) is scrolled into sight in its row. */
  function showActiveChips() {
    document.querySelectorAll(".chips .is-active").forEach(function (chip) {
      var row = chip.parentNode;
      var left = chip.offsetLeft - (row.clientWidth - chip.offsetWidth) / 2;
      row.scrollLeft = Math.max(0, left);
    });
  }
  showActiveChips();

  /* Behaviour the pages ask for with data- attributes (the Content-Security-Policy allows
     no inline handlers): confirm before a form goes, submit a field's form when it changes,
     and an upload's progress. */
  document.addEventListener("submit", function (event) {
    var question = event.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  }, true);
  document.addEventListener("change", function (event) {
    var field = event.target.closest && event.target.closest("[data-submit-on-change]");
    if (field && field.form) field.form.requestSubmit();
  });
  document.addEventListener("htmx:xhr:progress", function (event) {
    var form = event.target.closest && event.target.closest("[data-upload-progress]");
    var bar = form && form.querySelector("progress");
    if (!bar || !event.detail.total || bar.value >= 100) return;
    bar.value = Math.round(event.detail.loaded * 100 / event.detail.total);
    var state = form.querySelector("[data-checking]");
    if (bar.value >= 100 && state) state.textContent = state.getAttribute("data-checking");
  });

  /* A plain form submits once; the server's idempotency key covers the rest. */
  document.addEventListener("submit", function (event) {
    if (event.defaultPrevented) return;
    var button = event.target.querySelector("[data-once]");
    if (!button) return;
    if (button.disabled) { event.preventDefault(); return; }
    setTimeout(function () { button.disabled = true; }, 0);
  });

  var toastTimer;
  function toast(message) {
    var box = document.getElementById("toast");
    if (!box || !message) return;
    box.textContent = message;
    box.classList.add("is-shown");
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { box.classList.remove("is-shown"); }, 2500);
  }
  document.body.addEventListener("toast", function (event) { toast(event.detail.value); });
  document.addEventListener("visibilitychange", function () { if (!document.hidden) refresh(); });
  setInterval(refresh, REFRESH_MS);

  /* Checkout: the rebate field held to 0…most as it is typed, the payable and the funds after
     that follow from it, and why 提交订单 is disabled when the server would refuse the order.
     The same rules as app/web/checkout.py; money stays in integer fen. */
  (function () {
    var box = document.querySelector("[data-checkout]");
    if (!box) return;
    var input = box.querySelector("#use_rebate");
    var note = box.querySelector("[data-rebate-note]");
    var submit = box.querySelector("#submit-order");
    var attr = function (name) { return parseInt(box.getAttribute(name), 10) || 0; };
    var goods = attr("data-goods"), available = attr("data-available");
    var most = attr("data-rebate-max"), shortLines = attr("data-short-lines");
    var sent = false;

    function money(fen) {
      var whole = Math.floor(Math.abs(fen) / 100).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
      return (fen < 0 ? "-" : "") + "¥" + whole + "." + String(Math.abs(fen) % 100).padStart(2, "0");
    }
    function plain(fen) { return Math.floor(fen / 100) + "." + String(fen % 100).padStart(2, "0"); }
    function say(name, typed, fen) {
      return (input.getAttribute("data-msg-" + name) || "")
        .replace("{typed}", typed.slice(0, 20)).replace("{value}", money(fen));
    }

    /* What the typed text means: {fen, text, message}; text is null when it may stay as typed. */
    function read(raw) {
      var text = raw.replace(/[\uff10-\uff19\uff0e]/g, function (c) {
        return String.fromCharCode(c.charCodeAt(0) - 0xfee0);
      }).replace(/[¥,\s]/g, "");
      if (text === "" || text === ".") return { fen: 0, text: null, message: "" };
      if (text.charAt(0) === "-") return { fen: 0, text: "0", message: say("negative", raw, 0) };
      var match = /^(\d*)(?:\.(\d*))?$/.exec(text);
      if (!match) return { fen: 0, text: "", message: say("nan", raw, 0) };
      var whole = match[1] || "0", frac = match[2] || "";
      var fen = whole.length > 12 ? Infinity : parseInt(whole, 10) * 100 + parseInt((frac.slice(0, 2) + "00").slice(0, 2), 10);
      var cut = /[1-9]/.test(frac.slice(2));
      if (fen > most || (cut && fen === most)) return { fen: most, text: plain(most), message: say("over", raw, most) };
      if (cut) return { fen: fen, text: plain(fen), message: say("cut", raw, fen) };
      return { fen: fen, text: null, message: "" };
    }

    function paint(rebate) {
      var payable = Math.max(goods - rebate, 0);
      var after = available - payable;
      var missing = payable > 0 ? Math.max(payable - available, 0) : 0;
      box.querySelectorAll("[data-payable]").forEach(function (el) { el.textContent = money(payable); });
      var afterBox = box.querySelector("[data-after]");
      afterBox.textContent = money(after);
      afterBox.classList.toggle("is-negative", after < 0);
      var funds = box.querySelector("[data-why-funds]");
      funds.hidden = !missing;
      if (missing) funds.textContent = funds.getAttribute("data-template").replace("{amount}", money(missing));
      box.querySelector("#submit-why").hidden = !missing && !shortLines;
      if (!sent) submit.disabled = Boolean(missing || shortLines);
    }

    /* After the field was held (to the cap, to 0, to two decimals), keys that only add to
       the held text are what the dealer meant to type on: the field stays held and the
       message quotes all they typed ("99999", not "3.609"; "−50" stays 0, never the cap). */
    var held = null;
    function fit() {
      if (input.disabled) return paint(0);
      var value = input.value, seen;
      if (held && value.length > held.text.length && value.indexOf(held.text) === 0) {
        held.raw += value.slice(held.text.length);
        seen = read(held.raw);
        seen.text = held.text;
      } else {
        seen = read(value);
        held = seen.text ? { text: seen.text, raw: value } : null;
      }
      if (seen.text !== null) input.value = seen.text;
      if (seen.message || !note.hasAttribute("data-server")) {
        note.textContent = seen.message;
        note.hidden = !seen.message;
        input.setAttribute("aria-invalid", seen.message ? "true" : "false");
      }
      note.removeAttribute("data-server");
      paint(seen.fen);
    }

    var useAll = box.querySelector("[data-use-all-rebate]");
    if (useAll) useAll.addEventListener("click", function (event) {
      event.preventDefault();
      input.value = plain(most);
      fit();
    });
    var recalc = box.querySelector("[data-recalc]");
    if (recalc) recalc.hidden = true;  /* the figures follow the typing */
    input.addEventListener("input", fit);
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter") { event.preventDefault(); fit(); }
    });
    box.addEventListener("submit", function () { sent = true; });
    if (note.textContent.trim()) note.setAttribute("data-server", "");
    fit();
  })();
})();

/* Copy buttons: [data-copy="#id"] copies that element's text (navigator.clipboard, else a
   selected textarea and execCommand); without the script the buttons stay hidden and the
   text stays selectable. The delivery note's [data-print] button prints the page. */
(function () {
  "use strict";
  function fallbackCopy(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    var done = false;
    try { done = document.execCommand("copy"); } catch (err) { done = false; }
    document.body.removeChild(area);
    return done ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }
  function copy(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(function () { return fallbackCopy(text); });
    }
    return fallbackCopy(text);
  }
  function say(message) {
    document.body.dispatchEvent(new CustomEvent("toast", { detail: { value: message } }));
  }
  document.querySelectorAll("[data-copy], [data-print]").forEach(function (button) {
    button.hidden = false;
  });
  document.addEventListener("click", function (event) {
    var printer = event.target.closest("[data-print]");
    if (printer) { window.print(); return; }
    var button = event.target.closest("[data-copy]");
    var source = button && document.querySelector(button.getAttribute("data-copy"));
    if (!source) return;
    var text = source.textContent.trim();
    copy(text).then(function () {
      button.classList.add("is-copied");
      say((button.getAttribute("data-copied") || "✓") + " " + (text.length > 40 ? "" : text));
      setTimeout(function () { button.classList.remove("is-copied"); }, 1500);
    }, function () {
      var range = document.createRange();
      range.selectNodeContents(source);
      var selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
    });
  });
})();

/* The installable app: the service worker (templates/sw.js), and a page read offline. A page
   the worker served from its copy has <html data-offline-at="ms">: it says so with the time it
   was kept, and ordering stays off on it even once the signal is back (its forms may be stale;
   the bar offers a reload). A live page that loses the signal turns ordering off until the
   signal returns. Every write is refused here while offline; the worker never answers one. */
(function () {
  "use strict";
  var root = document.documentElement;
  var bar = document.getElementById("offline-bar");
  var keptAt = root.getAttribute("data-offline-at");
  var isCopy = keptAt !== null;

  if ("serviceWorker" in navigator && !isCopy) {
    // A page that came before the worker took charge asks it to keep the page too, once the
    // worker controls it (a page loaded while the worker was starting never is: the next is).
    var keep = function () {
      var worker = navigator.serviceWorker.controller;
      if (worker) worker.postMessage({ type: "keep", url: location.href });
    };
    var loaded = performance.getEntriesByType("navigation")[0];
    if (!loaded || !loaded.workerStart) {  // the worker did not answer this page's request
      if (navigator.serviceWorker.controller) keep();
      else navigator.serviceWorker.addEventListener("controllerchange", keep, { once: true });
    }
    navigator.serviceWorker.register("/sw.js")
      .catch(function () { /* no worker: the site works as a plain web site */ });
  }

  /* Logging out drops the user's kept pages before the request leaves. */
  document.addEventListener("submit", function (event) {
    if (!event.target.hasAttribute("data-logout")) return;
    var worker = navigator.serviceWorker && navigator.serviceWorker.controller;
    if (worker) worker.postMessage({ type: "forget" });
  }, true);

  function hhmm(ms) {
    var at = new Date(parseInt(ms, 10) || Date.now());
    return String(at.getHours()).padStart(2, "0") + ":" + String(at.getMinutes()).padStart(2, "0");
  }

  function offline() { return isCopy || navigator.onLine === false; }

  function paint() {
    var off = offline();
    root.classList.toggle("is-offline", off);
    document.querySelectorAll("form[method=post] button, form[method=post] input[type=submit]")
      .forEach(function (button) {
        if (button.closest("[data-logout]")) return;
        if (off) {
          if (!button.disabled) button.setAttribute("data-offline-disabled", "");
          button.disabled = true;
        } else if (button.hasAttribute("data-offline-disabled")) {
          button.removeAttribute("data-offline-disabled");
          button.disabled = false;
        }
      });
    if (!bar) return;
    bar.hidden = !off;
    var text = bar.querySelector("[data-offline-text]");
    if (isCopy) {
      text.textContent = bar.getAttribute("data-kept").replace("%(time)s", hhmm(keptAt));
    } else {
      text.textContent = bar.getAttribute("data-live");
    }
    var reload = bar.querySelector("[data-reload]");
    if (reload) reload.hidden = !(isCopy && navigator.onLine !== false);
  }

  function refuse(event) {
    if (!offline()) return;
    event.preventDefault();
    if (event.stopImmediatePropagation) event.stopImmediatePropagation();
    var elt = event.detail && event.detail.elt;
    if (elt && /revealed|every|load/.test(elt.getAttribute("hx-trigger") || "")) return;
    var toast = bar && bar.getAttribute("data-refused");
    if (toast) document.body.dispatchEvent(new CustomEvent("toast", { detail: { value: toast } }));
  }
  document.addEventListener("submit", function (event) {
    if (!event.target.hasAttribute("data-logout")) refuse(event);
  }, true);
  document.addEventListener("htmx:confirm", refuse);

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-reload]")) location.reload();
  });
  window.addEventListener("online", paint);
  window.addEventListener("offline", paint);
  document.addEventListener("htmx:afterSwap", function () { if (offline()) paint(); });
  paint();
})();
