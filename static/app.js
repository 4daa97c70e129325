/* app.js: CSP-safe (no eval, no inline handlers); pages also work without it. See static/README.md. */
(function () {
  "use strict";
  // htmx 2.0.x event names, spelled only here (htmx 4 renames them)
  var EV = {
    load: "htmx:load",
    afterSwap: "htmx:afterSwap", // upgrade menus before paint
    afterSettle: "htmx:afterSettle",
    configRequest: "htmx:configRequest",
    beforeSwap: "htmx:beforeSwap",
    sendError: "htmx:sendError"
  };
  var doc = document, READY = "[data-menu-ready]";
  function each(list, fn) { Array.prototype.forEach.call(list, fn); }
  function meta(root) { return root.querySelector('meta[name="csrf-token"]'); }
  function box() { return doc.getElementById("request-error"); }

  // 1. CSRF header (Flask-WTF); a new request clears the last error
  doc.addEventListener(EV.configRequest, function (e) {
    var m = meta(doc);
    if (m && e.detail.verb !== "get") e.detail.headers["X-CSRFToken"] = m.content;
    if (box()) box().textContent = "";
  });

  // 5. Errors: boosted -> the error page, as without JS; partial -> #request-error. Boosted pages also
  // refresh the CSRF meta (htmx keeps the old <head>; sign-in rotates the token).
  doc.addEventListener(EV.beforeSwap, function (e) {
    var d = e.detail, html = d.serverResponse, status = d.xhr.status, fresh;
    if (d.boosted && typeof html === "string" && html.indexOf("csrf-token") > -1) {
      fresh = meta(new DOMParser().parseFromString(html, "text/html"));
      if (fresh && meta(doc)) meta(doc).content = fresh.content;
    }
    if (d.shouldSwap || status < 400) return;
    if (d.boosted) { d.shouldSwap = true; return; }
    if (!box()) return;
    d.shouldSwap = true; d.target = box(); d.swapOverride = "innerHTML";
    if (!/\S/.test(html || "")) d.serverResponse = "<p>That did not work (HTTP " + status + "). Reload the page and try again.</p>";
  });

  doc.addEventListener(EV.sendError, function () { if (box()) box().textContent = "The server could not be reached. Try again."; });

  // 2. Action menu: upgrade() (idempotent) adds ARIA roles, hides the list, shows the button.
  function parts(menu) {
    var btn = menu.querySelector(".menu__button"), list = btn && doc.getElementById(btn.getAttribute("aria-controls"));
    return list && { btn: btn, list: list, items: Array.prototype.slice.call(list.querySelectorAll(".menu__item")) };
  }
  function upgrade() {
    each(doc.querySelectorAll("[data-menu]:not(" + READY + ")"), function (menu) {
      var p = parts(menu);
      if (!p) return;
      menu.setAttribute("data-menu-ready", "");
      p.list.setAttribute("role", "menu");
      p.list.setAttribute("aria-labelledby", p.btn.id);
      each(p.list.children, function (li) { li.setAttribute("role", "none"); });
      p.items.forEach(function (it) { it.setAttribute("role", "menuitem"); it.tabIndex = -1; });
      p.list.hidden = true;
      p.btn.hidden = false;
    });
  }
  function open(menu, last) {
    each(doc.querySelectorAll(READY), function (m) { if (m !== menu) close(m); });
    var p = parts(menu);
    p.list.hidden = false;
    p.btn.setAttribute("aria-expanded", "true");
    if (p.items.length) p.items[last ? p.items.length - 1 : 0].focus();
  }
  function close(menu, refocus) {
    var p = parts(menu);
    if (p.list.hidden) return;
    p.list.hidden = true;
    p.btn.setAttribute("aria-expanded", "false");
    if (refocus) p.btn.focus();
  }
  doc.addEventListener("click", function (e) {
    var t = e.target, menu = t.closest && t.closest(READY), p = menu && parts(menu);
    if (!menu) each(doc.querySelectorAll(READY), function (m) { close(m); });
    else if (p.btn.contains(t)) { if (p.list.hidden) open(menu); else close(menu, true); }
    else if (t.closest(".menu__item")) close(menu, true);
  });
  doc.addEventListener("keydown", function (e) {
    var t = e.target, k = e.key, menu = t.closest && t.closest(READY), p, i, n, next = null, edit, cancel;
    if (menu) {
      p = parts(menu); i = p.items.indexOf(t); n = p.items.length;
      if (t === p.btn) {
        if (k === "ArrowDown" || k === "ArrowUp") { e.preventDefault(); open(menu, k === "ArrowUp"); }
        else if (k === "Escape" && !p.list.hidden) { e.preventDefault(); close(menu, true); }
      } else if (i > -1) {
        if (k === "ArrowDown") next = (i + 1) % n;
        else if (k === "ArrowUp") next = (i - 1 + n) % n;
        else if (k === "Home") next = 0;
        else if (k === "End") next = n - 1;
        else if (k === "Escape") { e.preventDefault(); close(menu, true); }
        else if (k === "Tab") close(menu, true); // default Tab moves on
        if (next !== null) { e.preventDefault(); p.items[next].focus(); }
      }
      return;
    }
    // 3. Inline edit: Escape clicks [data-cancel]
    edit = k === "Escape" && !e.isComposing && t.closest && t.closest("[data-inline-edit]");
    cancel = edit && edit.querySelector("[data-cancel]");
    if (cancel) { e.preventDefault(); cancel.click(); }
  });

  // 4. Focus [data-autofocus], else the first invalid field; after a boosted page, <main>
  doc.addEventListener(EV.afterSettle, function (e) {
    var d = e.detail, root = e.target, f = null;
    if (d.boosted && root !== doc.body) return;
    if (root.querySelector) f = root.querySelector("[data-autofocus]") || root.querySelector('[aria-invalid="true"]');
    if (!f && root.matches && root.matches("[data-autofocus]")) f = root;
    if (!f && d.boosted) f = doc.getElementById("main");
    if (f) f.focus({ preventScroll: f.id === "main" });
  });
  doc.addEventListener(EV.load, upgrade);
  doc.addEventListener(EV.afterSwap, upgrade);
  if (doc.readyState === "loading") doc.addEventListener("DOMContentLoaded", upgrade); else upgrade();
})();
