/* The service worker (app/web/pwa.py serves it at /sw.js): the app's files from a cache, and
   the dealer pages last seen kept per user, shown marked offline when there is no signal.
   Writes (anything but GET), the API and HQ pages always go to the network, and are never kept.
   The server marks what may be kept (X-Offline-Copy) and whose it is (X-Offline-User). */
"use strict";

const SETTINGS = {{ settings|safe }};
const SHELL = "shell-" + SETTINGS.version;
const PAGES = "pages-";  // + the user's key: one cache per user
const PICTURES = "pictures-";  // + the user's key: product pictures, apart so they never push out pages
const META = "meta";     // whose pages are kept: the last user the server named
const CURRENT_USER = "/__offline_user";
const KEPT_AT = "X-Kept-At";
const STALE_HASH = /\.[0-9a-f]{10}(?=(\.[^./]+)?$)/;
const MAX_PAGES = 80;  // per user; the oldest seen goes first
const MAX_PICTURES = 300;
const HOME = "/catalog";  // what the home-screen icon (start_url "/") opens offline

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(SHELL)
      .then((cache) => Promise.all(SETTINGS.shell.map((url) => keepShellFile(cache, url))))
      .then(() => self.skipWaiting())
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names
        .filter((name) => name.startsWith("shell-") && name !== SHELL)
        .map((name) => caches.delete(name))))
      .then(() => self.clients.claim())
  );
});

/* A file under its URL and under its plain name, so a page kept before a deploy (naming the
   old hash) still finds today's file offline. */
function keepShellFile(cache, url) {
  return fetch(url, { credentials: "same-origin" }).then((response) => {
    if (!response.ok) return;
    const plain = url.replace(STALE_HASH, "").split("?")[0];
    return Promise.all([cache.put(url, response.clone()), cache.put(plain, response)]);
  });
}

function isNever(url) {
  return SETTINGS.never.some((prefix) => url.pathname.startsWith(prefix));
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;  // a write always reaches the server, or fails
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || isNever(url)) return;
  if (request.headers.get("HX-Request")) return;  // fragments: live or nothing
  if (url.pathname.startsWith("/static/") || url.pathname.startsWith("/vendor/")) {
    event.respondWith(shellFile(request, url));
  } else if (request.mode === "navigate") {
    event.respondWith(fromNetwork(event, PAGES).catch(() => offlineCopy(request)));
  } else if (url.pathname.startsWith("/media/")) {
    event.respondWith(fromNetwork(event, PICTURES).catch(() => keptPicture(request)));
  }
});

function shellFile(request, url) {
  return caches.open(SHELL).then((cache) =>
    cache.match(request).then((hit) => hit || fetch(request).catch(() =>
      cache.match(url.pathname.replace(STALE_HASH, "")).then((old) => old || Response.error())
    ))
  );
}

/* Pages and pictures: the network first, always; a kept copy only when the network fails.
   The answer goes to the page at once; keeping a copy of it happens beside, and a copy that
   cannot be kept (storage full) never turns a live answer into an offline one. */
function fromNetwork(event, kind) {
  return fetch(event.request).then((response) => {
    event.waitUntil(remember(event.request, response.clone(), kind).catch(() => {}));
    return response;
  });
}

function keptPicture(request) {
  return currentUser()
    .then((user) => (user === SETTINGS.anonymous ? null : caches.open(PICTURES + user)))
    .then((cache) => cache && cache.match(request))
    .then((hit) => hit || Response.error());
}

function currentUser() {
  return caches.open(META)
    .then((cache) => cache.match(CURRENT_USER))
    .then((hit) => (hit ? hit.text() : SETTINGS.anonymous));
}

function currentPages() {
  return currentUser().then((user) =>
    user === SETTINGS.anonymous ? null : caches.open(PAGES + user));
}

/* Note whose answers these are, and drop every other user's pages: on every answer, not
   only when the user changes, so a copy that was still being kept when its user logged out
   goes with the next answer. */
function setUser(user) {
  return forgetPagesBut(user).then(currentUser).then((known) => {
    if (known === user) return;
    return caches.open(META).then((cache) => cache.put(CURRENT_USER, new Response(user)));
  });
}

/* Every user's pages and pictures but `user`'s (null: everyone's). */
function forgetPagesBut(user) {
  const mine = [PAGES + user, PICTURES + user];
  return caches.keys().then((names) => Promise.all(names
    .filter((name) => (name.startsWith(PAGES) || name.startsWith(PICTURES)))
    .filter((name) => user === null || !mine.includes(name))
    .map((name) => caches.delete(name))));
}

function remember(request, response, kind) {
  const user = response.headers.get(SETTINGS.userHeader);
  if (!user) return Promise.resolve();  // not one of our pages (an error page, say)
  return setUser(user).then(() => {
    if (user === SETTINGS.anonymous || response.headers.get(SETTINGS.copyHeader) !== "1") return;
    if (response.redirected || !response.ok) return;
    return response.blob().then((body) => {
      const headers = new Headers(response.headers);
      headers.set(KEPT_AT, String(Date.now()));
      const copy = new Response(body, { status: 200, headers: headers });
      const most = kind === PICTURES ? MAX_PICTURES : MAX_PAGES;
      return caches.open(kind + user).then((cache) => cache.put(request.url, copy)
        .then(() => cache.keys())
        .then((kept) => Promise.all(kept.slice(0, Math.max(0, kept.length - most))
          .map((old) => cache.delete(old)))));
    });
  });
}

/* The kept page, marked: <html data-offline-at="…"> tells app.js to say so and to turn
   ordering off. No copy: the offline page, which holds nothing of anyone's. */
function offlineCopy(request) {
  const url = new URL(request.url);
  return currentPages()
    .then((cache) => cache && cache.match(request.url, { ignoreVary: true })
      .then((hit) => hit || (url.pathname === "/" && cache.match(url.origin + HOME))))
    .then((hit) => {
      if (!hit) return caches.match(SETTINGS.offlinePage).then((page) => page || Response.error());
      const keptAt = hit.headers.get(KEPT_AT) || "";
      return hit.text().then((html) => {
        const marked = html.replace(/<html\b/i, '<html data-offline-at="' + keptAt + '"');
        const headers = new Headers(hit.headers);
        headers.delete("Content-Length");
        headers.delete("Content-Encoding");
        return new Response(marked, { status: 200, headers: headers });
      });
    });
}

/* From the pages: "forget" at logout (before the request leaves), and "keep" for the page a
   visitor saw before this worker was in charge of it. */
self.addEventListener("message", (event) => {
  const data = event.data || {};
  if (data.type === "forget") {
    event.waitUntil(forgetPagesBut(null).then(() => caches.open(META))
      .then((cache) => cache.put(CURRENT_USER, new Response(SETTINGS.anonymous))));
  } else if (data.type === "keep" && typeof data.url === "string") {
    const url = new URL(data.url, self.location.origin);
    if (url.origin !== self.location.origin || isNever(url)) return;
    const request = new Request(url.href, { credentials: "same-origin" });
    event.waitUntil(fetch(request).then((response) => remember(request, response, PAGES))
      .catch(() => {}));
  }
});
