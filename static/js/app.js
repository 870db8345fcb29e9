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

  function repaint(form) {
    var input = form.querySelector('input[name="qty"]');
    var qty = parseInt(input.value, 10) || 0;
    var raw = form.getAttribute("data-breaks");
    if (!raw) return;
    var breaks = JSON.parse(raw);
    var price = priceFor(breaks, qty);
    var unit = form.querySelector("[data-unit-price]");
    var amount = form.querySelector("[data-amount]");
    if (unit) unit.textContent = yuan(price);
    if (amount) amount.textContent = yuan(price * qty);
    var hint = form.querySelector("[data-next-break]");
    var next = breaks.filter(function (row) { return row[0] > qty && row[1] < price; })[0];
    if (hint) {
      hint.hidden = !next;
      if (next) hint.textContent = hint.getAttribute("data-template") ?
        hint.getAttribute("data-template").replace("{n}", next[0] - qty).replace("{price}", yuan(next[1])) :
        "≥" + next[0] + " " + yuan(next[1]);
    }
    var table = form.parentNode.querySelector("[data-breaks-table]");
    if (table) {
      var active = 1;
      breaks.forEach(function (row) { if (row[0] <= qty) active = row[0]; });
      table.querySelectorAll("tr[data-min]").forEach(function (tr) {
        tr.classList.toggle("is-active", parseInt(tr.getAttribute("data-min"), 10) === active);
      });
    }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-step-by]");
    if (button) {
      var form = button.closest("[data-stepper]");
      var input = form.querySelector('input[name="qty"]');
      var moq = parseInt(form.getAttribute("data-moq"), 10) || 1;
      var step = parseInt(form.getAttribute("data-step"), 10) || 1;
      var qty = (parseInt(input.value, 10) || moq) + step * parseInt(button.getAttribute("data-step-by"), 10);
      input.value = Math.max(moq, Math.ceil(qty / step) * step);
      repaint(form);
      input.dispatchEvent(new Event("change", { bubbles: true }));
      return;
    }
    if (event.target.closest("[data-close-sheet]")) {
      document.getElementById("sheet").innerHTML = "";
    }
    var useAll = event.target.closest("[data-use-all-rebate]");
    if (useAll) {
      var box = useAll.closest("[data-checkout]");
      box.querySelector("#use_rebate").value = (parseInt(box.getAttribute("data-rebate-max"), 10) / 100).toFixed(2);
      checkout(box);
    }
  });

  document.addEventListener("input", function (event) {
    var form = event.target.closest("[data-stepper]");
    if (form && event.target.name === "qty") repaint(form);
    var box = event.target.closest("[data-checkout]");
    if (box) checkout(box);
  });

  function checkout(box) {
    var goods = parseInt(box.getAttribute("data-goods"), 10);
    var available = parseInt(box.getAttribute("data-available"), 10);
    var typed = parseFloat(box.querySelector("#use_rebate").value || "0");
    var rebate = isNaN(typed) ? 0 : Math.round(typed * 100);
    box.querySelectorAll("[data-payable]").forEach(function (el) { el.textContent = yuan(goods - rebate); });
    var after = box.querySelector("[data-after]");
    if (after) after.textContent = yuan(available - goods + rebate);
  }

  /* A plain form submits once; the server's idempotency key covers the rest. */
  document.addEventListener("submit", function (event) {
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
})();
