/* app.js: the only first-party script. No framework, no eval, no inline handlers (CSP script-src 'self').
 * 1. CSRF header on htmx requests   2. action menus (WAI-ARIA menu button)
 * 3. Escape cancels inline edits    4. focus after a swap ([data-autofocus])
 * 5. boosted/partial request errors are shown, never silent.
 * Everything works without this file: menus are then plain lists of forms. */
(function () {
  "use strict";

  /* htmx 2.0.x event names: the ONLY place they are spelled (htmx 4 renames several). */
  var EV = {
    load: "htmx:load",               // new content settled (and once for <body> at start-up)
    afterSwap: "htmx:afterSwap",     // content swapped in, before settle: upgrade menus before paint
    afterSettle: "htmx:afterSettle", // swap settled: move focus
    configRequest: "htmx:configRequest",
    beforeSwap: "htmx:beforeSwap",
    sendError: "htmx:sendError"
  };

  var doc = document;

  function meta(name, root) {
    return (root || doc).querySelector('meta[name="' + name + '"]');
  }

  /* ---- 1. CSRF ---------------------------------------------------------------- */
  doc.addEventListener(EV.configRequest, function (e) {
    var m = meta("csrf-token"), box = doc.getElementById("request-error");
    if (m && e.detail.verb !== "get") e.detail.headers["X-CSRFToken"] = m.content;
    if (box) box.textContent = ""; // a new request clears the previous failure message
  });

  /* ---- 5. errors: a boosted request behaves like a normal navigation (the server's error page is
   * shown); a partial request's error fragment goes into the page's #request-error alert region. */
  doc.addEventListener(EV.beforeSwap, function (e) {
    var d = e.detail, status = d.xhr.status;
    if (d.boosted && typeof d.serverResponse === "string" && d.serverResponse.indexOf("csrf-token") > -1) {
      // Full page: keep the head's CSRF token in step with the server (login rotates it).
      var fresh = meta("csrf-token", new DOMParser().parseFromString(d.serverResponse, "text/html"));
      var cur = meta("csrf-token");
      if (fresh && cur) cur.content = fresh.content;
    }
    if (d.shouldSwap || status < 400) return;
    if (d.boosted) { d.shouldSwap = true; return; }
    var box = doc.getElementById("request-error");
    if (!box) return;
    d.shouldSwap = true;
    d.target = box;
    d.swapOverride = "innerHTML";
    if (!/\S/.test(d.serverResponse || "")) d.serverResponse = "<p>The request failed (HTTP " + status + "). Reload the page and try again.</p>";
  });
  doc.addEventListener(EV.sendError, function () {
    var box = doc.getElementById("request-error");
    if (box) box.textContent = "The server could not be reached. Check your connection and try again.";
  });

  /* ---- 2. action menu ------------------------------------------------------------
   * Server markup (see templates/_macros/menu.html):
   *   <div class="menu" data-menu>
   *     <button class="menu__button" hidden aria-haspopup="menu" aria-expanded="false" aria-controls="ID">…</button>
   *     <ul class="menu__list" id="ID"> <li><form method="post">…<button class="menu__item">…</button></form></li> … </ul>
   *   </div>
   * Without JS the button stays hidden and the list is a visible row of forms. upgrade() adds the ARIA menu roles. */
  function items(list) {
    return Array.prototype.slice.call(list.querySelectorAll(".menu__item"));
  }

  function upgrade(root) {
    var menus = (root || doc).querySelectorAll("[data-menu]:not([data-menu-ready])");
    Array.prototype.forEach.call(menus, function (menu) {
      var btn = menu.querySelector(".menu__button");
      var list = btn && doc.getElementById(btn.getAttribute("aria-controls"));
      if (!list) return;
      menu.setAttribute("data-menu-ready", "");
      list.setAttribute("role", "menu");
      list.setAttribute("aria-labelledby", btn.id);
      Array.prototype.forEach.call(list.children, function (li) { li.setAttribute("role", "none"); });
      items(list).forEach(function (it) {
        it.setAttribute("role", "menuitem");
        it.setAttribute("tabindex", "-1");
      });
      list.hidden = true;
      btn.hidden = false;
    });
  }

  function parts(menu) {
    var btn = menu.querySelector(".menu__button");
    return { btn: btn, list: doc.getElementById(btn.getAttribute("aria-controls")) };
  }

  function openMenu(menu, focusLast) {
    closeAll(menu);
    var p = parts(menu), its = items(p.list);
    p.list.hidden = false;
    p.btn.setAttribute("aria-expanded", "true");
    p.list.classList.remove("menu__list--up");
    var r = p.list.getBoundingClientRect();
    if (r.bottom > window.innerHeight && r.height < p.btn.getBoundingClientRect().top) p.list.classList.add("menu__list--up");
    if (its.length) its[focusLast ? its.length - 1 : 0].focus();
  }

  function closeMenu(menu, refocus) {
    var p = parts(menu);
    if (p.list.hidden) return;
    p.list.hidden = true;
    p.btn.setAttribute("aria-expanded", "false");
    if (refocus) p.btn.focus();
  }

  function closeAll(except) {
    Array.prototype.forEach.call(doc.querySelectorAll("[data-menu-ready]"), function (m) {
      if (m !== except) closeMenu(m, false);
    });
  }

  doc.addEventListener("click", function (e) {
    var t = e.target, menu = t.closest && t.closest("[data-menu-ready]");
    if (!menu) { closeAll(null); return; }
    var p = parts(menu);
    if (p.btn.contains(t)) {
      if (p.list.hidden) openMenu(menu, false); else closeMenu(menu, true);
    } else if (t.closest(".menu__item")) {
      // Let the form submit / htmx request proceed; hide the menu and give focus back to its button.
      closeMenu(menu, true);
    }
  });

  doc.addEventListener("keydown", function (e) {
    var t = e.target;
    var menu = t.closest && t.closest("[data-menu-ready]");
    if (menu) {
      var p = parts(menu), its = items(p.list), i = its.indexOf(t), k = e.key;
      if (t === p.btn) {
        if (k === "ArrowDown" || k === "ArrowUp") { e.preventDefault(); openMenu(menu, k === "ArrowUp"); }
        else if (k === "Escape" && !p.list.hidden) { e.preventDefault(); closeMenu(menu, true); }
        return;
      }
      if (i < 0) return;
      var n = its.length, next = null;
      if (k === "ArrowDown") next = (i + 1) % n;
      else if (k === "ArrowUp") next = (i - 1 + n) % n;
      else if (k === "Home") next = 0;
      else if (k === "End") next = n - 1;
      else if (k === "Escape") { e.preventDefault(); e.stopPropagation(); closeMenu(menu, true); return; }
      else if (k === "Tab") { closeMenu(menu, true); return; } // default Tab then moves on from the button
      if (next !== null) { e.preventDefault(); its[next].focus(); }
      return;
    }
    /* ---- 3. inline edit: Escape = the fragment's own cancel link/button; Enter submits the form natively. */
    if (e.key === "Escape" && !e.isComposing) {
      var box = t.closest && t.closest("[data-inline-edit]");
      var cancel = box && box.querySelector("[data-cancel]");
      if (cancel) { e.preventDefault(); cancel.click(); }
    }
  });

  /* ---- 4. focus after a swap: [data-autofocus], else the first invalid field (a 422 re-render). A boosted
   * navigation replaces <body>'s content, so focus then falls back to <main>, as on a fresh page load. */
  doc.addEventListener(EV.afterSettle, function (e) {
    var d = e.detail, root = e.target;
    if (d.boosted && root !== doc.body) return;
    var f = root.querySelector && (root.querySelector("[data-autofocus]") || root.querySelector('[aria-invalid="true"]'));
    if (!f && root.matches && root.matches("[data-autofocus]")) f = root;
    if (!f && d.boosted) f = doc.getElementById("main");
    if (f) f.focus({ preventScroll: f.id === "main" });
  });
  doc.addEventListener(EV.load, function () { upgrade(doc); });
  doc.addEventListener(EV.afterSwap, function () { upgrade(doc); });
  if (doc.readyState === "loading") doc.addEventListener("DOMContentLoaded", function () { upgrade(doc); });
  else upgrade(doc);
})();
