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
  document.addEventListener("visibilitychange", function () { if (!document.hidden) refresh(); });
  setInterval(refresh, REFRESH_MS);
})();
