/*
 * app.js: the app's only script of its own. CSP-safe: no eval, no inline handlers. Every page
 * also works without it. Its five jobs, in static/README.md's order:
 *   1. the CSRF header of htmx requests;
 *   2. the action menu (a WAI-ARIA menu button);
 *   3. Escape in an inline edit form;
 *   4. focus after a swap;
 *   5. errors are never silent (a "try again in N seconds" leaves after N seconds);
 *   6. copy buttons.
 */
(function () {
  "use strict";

  // htmx 2.0.x event names, spelled only here (htmx 4 renames them).
  var HTMX_EVENTS = {
    load: "htmx:load",
    afterSwap: "htmx:afterSwap", // menus are upgraded before the swapped content is painted
    afterSettle: "htmx:afterSettle",
    configRequest: "htmx:configRequest",
    beforeSwap: "htmx:beforeSwap",
    sendError: "htmx:sendError"
  };

  var READY_MENU = "[data-menu-ready]";

  function forEach(list, callback) {
    Array.prototype.forEach.call(list, callback);
  }

  function csrfMeta(root) {
    return root.querySelector('meta[name="csrf-token"]');
  }

  function errorBox() {
    return document.getElementById("request-error");
  }

  // --- 1. The CSRF header ---------------------------------------------------------------------
  // Flask-WTF reads X-CSRFToken. A new request also clears the last request's error.

  document.addEventListener(HTMX_EVENTS.configRequest, function (event) {
    var meta = csrfMeta(document);
    if (meta && event.detail.verb !== "get") {
      event.detail.headers["X-CSRFToken"] = meta.content;
    }
    var box = errorBox();
    if (box) {
      box.textContent = "";
    }
  });

  // --- 2. The action menu ---------------------------------------------------------------------
  // upgradeMenus() is idempotent: it adds the ARIA roles, hides the list, shows the button.

  function menuParts(menu) {
    var button = menu.querySelector(".menu__button");
    var list = button && document.getElementById(button.getAttribute("aria-controls"));
    if (!list) {
      return null;
    }
    return {
      button: button,
      list: list,
      items: Array.prototype.slice.call(list.querySelectorAll(".menu__item"))
    };
  }

  function upgradeMenus() {
    forEach(document.querySelectorAll("[data-menu]:not(" + READY_MENU + ")"), function (menu) {
      if (menu.hasAttribute("data-row")) {
        upgradeRowMenu(menu);
        return;
      }
      var parts = menuParts(menu);
      if (!parts) {
        return;
      }
      menu.setAttribute("data-menu-ready", "");
      parts.list.setAttribute("role", "menu");
      parts.list.setAttribute("aria-labelledby", parts.button.id);
      markItems(parts.list, parts.items);
      parts.list.hidden = true;
      parts.button.hidden = false;
    });
  }

  function markItems(list, items) {
    forEach(list.children, function (item) {
      item.setAttribute("role", "none");
    });
    items.forEach(function (item) {
      item.setAttribute("role", "menuitem");
      item.tabIndex = -1;
    });
  }

  // Row menus: one shared list (#row-menu, [data-row-menu]) for every row of a table. A row's
  // button is a link to the row's detail page (what works without JavaScript); here it becomes
  // a menu button whose list is the shared one, moved beside it and filled with the row's links
  // when it opens, and moved back home when it closes or before its row is swapped away.

  var rowMenuHome = null;

  function sharedRowMenu() {
    var list = document.querySelector("[data-row-menu]");
    if (list && !rowMenuHome) {
      rowMenuHome = { parent: list.parentNode, next: list.nextSibling };
      list.setAttribute("role", "menu");
      markItems(list, Array.prototype.slice.call(list.querySelectorAll(".menu__item")));
    }
    return list;
  }

  function upgradeRowMenu(menu) {
    var list = sharedRowMenu();
    var button = menu.querySelector(".menu__button");
    if (!list || !button) {
      return;
    }
    menu.setAttribute("data-menu-ready", "");
    button.setAttribute("role", "button");
    button.setAttribute("aria-haspopup", "menu");
    button.setAttribute("aria-expanded", "false");
    button.setAttribute("aria-controls", list.id);
  }

  function fillRowMenu(menu, list, button) {
    var tr = menu.closest("tr");
    var prefix = list.getAttribute("data-row-prefix") || "";
    var url = list.getAttribute("data-base") + tr.id.slice(prefix.length);
    forEach(list.querySelectorAll(".menu__item"), function (item) {
      var verb = item.getAttribute("data-swap");
      var path = item.getAttribute("data-path") || "";
      item.href = url + (verb === "post" ? "#actions" : path);
      item.setAttribute("data-url", url + path);
      item.setAttribute("data-target", tr.id);
    });
    list.setAttribute("aria-label", button.textContent.replace(/\s+/g, " ").trim());
    if (list.parentNode !== menu) {
      menu.appendChild(list);
    }
  }

  function sendRowMenuHome() {
    var list = document.querySelector("[data-row-menu]");
    if (!list || !rowMenuHome || list.parentNode === rowMenuHome.parent) {
      return;
    }
    list.hidden = true;
    var button = list.parentNode && list.parentNode.querySelector(".menu__button");
    if (button) {
      button.setAttribute("aria-expanded", "false");
    }
    rowMenuHome.parent.insertBefore(list, rowMenuHome.next);
  }

  function runRowMenuItem(item) {
    var verb = item.getAttribute("data-swap");
    if (!verb || !window.htmx) {
      return false; // a plain link: the browser follows it
    }
    var target = document.getElementById(item.getAttribute("data-target"));
    sendRowMenuHome();
    window.htmx.ajax(verb.toUpperCase(), item.getAttribute("data-url"),
      { source: target, target: target, swap: "outerHTML" });
    return true;
  }

  function closeMenu(menu, refocus) {
    var parts = menuParts(menu);
    if (parts.list.hidden || parts.list.parentNode !== menu && menu.hasAttribute("data-row")) {
      return;
    }
    parts.list.hidden = true;
    parts.button.setAttribute("aria-expanded", "false");
    if (refocus) {
      parts.button.focus();
    }
  }

  function closeMenusBut(keep) {
    forEach(document.querySelectorAll(READY_MENU), function (menu) {
      if (menu !== keep) {
        closeMenu(menu);
      }
    });
  }

  function openMenu(menu, focusLast) {
    closeMenusBut(menu);
    var parts = menuParts(menu);
    if (menu.hasAttribute("data-row")) {
      fillRowMenu(menu, parts.list, parts.button);
    }
    parts.list.hidden = false;
    parts.button.setAttribute("aria-expanded", "true");
    if (parts.items.length) {
      parts.items[focusLast ? parts.items.length - 1 : 0].focus();
    }
  }

  function readyMenuAround(element) {
    return element.closest ? element.closest(READY_MENU) : null;
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    var menu = readyMenuAround(target);
    if (!menu) {
      closeMenusBut(null); // a click outside closes every menu
      return;
    }
    var parts = menuParts(menu);
    if (parts.button.contains(target)) {
      event.preventDefault(); // a row menu's button is a link to the detail page
      if (parts.list.hidden || parts.list.parentNode !== menu) {
        openMenu(menu);
      } else {
        closeMenu(menu, true);
      }
    } else if (target.closest(".menu__item")) {
      var item = target.closest(".menu__item");
      closeMenu(menu, true);
      if (menu.hasAttribute("data-row") && runRowMenuItem(item)) {
        event.preventDefault();
      }
    }
  });

  function onMenuButtonKey(event, menu, parts) {
    var key = event.key;
    if (key === " " && parts.button.tagName === "A") {
      event.preventDefault(); // a link playing a button opens on Space too
      parts.button.click();
    } else if (key === "ArrowDown" || key === "ArrowUp") {
      event.preventDefault();
      openMenu(menu, key === "ArrowUp");
    } else if (key === "Escape" && !parts.list.hidden) {
      event.preventDefault();
      closeMenu(menu, true);
    }
  }

  function onMenuItemKey(event, menu, parts, index) {
    var count = parts.items.length;
    var next = null;
    switch (event.key) {
      case "ArrowDown":
        next = (index + 1) % count;
        break;
      case "ArrowUp":
        next = (index - 1 + count) % count;
        break;
      case "Home":
        next = 0;
        break;
      case "End":
        next = count - 1;
        break;
      case "Escape":
        event.preventDefault();
        closeMenu(menu, true);
        break;
      case "Tab":
        closeMenu(menu, true); // and the default Tab moves on
        break;
    }
    if (next !== null) {
      event.preventDefault();
      parts.items[next].focus();
    }
  }

  document.addEventListener("keydown", function (event) {
    var menu = readyMenuAround(event.target);
    if (!menu) {
      return;
    }
    var parts = menuParts(menu);
    var index = parts.items.indexOf(event.target);
    if (event.target === parts.button) {
      onMenuButtonKey(event, menu, parts);
    } else if (index > -1) {
      onMenuItemKey(event, menu, parts, index);
    }
  });

  // --- 3. Inline edit -------------------------------------------------------------------------
  // Escape inside [data-inline-edit] clicks its [data-cancel] (menus handle their own Escape).

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.key !== "Escape" || event.isComposing || !target.closest) {
      return;
    }
    if (readyMenuAround(target)) {
      return;
    }
    var edit = target.closest("[data-inline-edit]");
    var cancel = edit && edit.querySelector("[data-cancel]");
    if (cancel) {
      event.preventDefault();
      cancel.click();
    }
  });

  // --- 4. Focus after a swap ------------------------------------------------------------------
  // [data-autofocus], else the first invalid field; after a boosted navigation, <main>.

  document.addEventListener(HTMX_EVENTS.afterSettle, function (event) {
    var detail = event.detail;
    var root = event.target;
    var target = null;
    if (detail.boosted && root !== document.body) {
      return;
    }
    if (root.querySelector) {
      target = root.querySelector("[data-autofocus]") ||
        root.querySelector('[aria-invalid="true"]');
    }
    if (!target && root.matches && root.matches("[data-autofocus]")) {
      target = root;
    }
    if (!target && detail.boosted) {
      target = document.getElementById("main");
    }
    if (target) {
      target.focus({ preventScroll: target.id === "main" });
    }
  });

  // --- 5. Errors are never silent -------------------------------------------------------------
  // A failed boosted request shows the server's error page, as without JavaScript; a failed
  // partial request shows its answer (or a message) in #request-error. A boosted page also
  // refreshes the CSRF meta tag: htmx keeps the old <head>, and signing in rotates the token.

  function refreshCsrfMeta(html) {
    var fresh = csrfMeta(new DOMParser().parseFromString(html, "text/html"));
    var current = csrfMeta(document);
    if (fresh && current) {
      current.content = fresh.content;
    }
  }

  document.addEventListener(HTMX_EVENTS.beforeSwap, function (event) {
    var detail = event.detail;
    var html = detail.serverResponse;
    var status = detail.xhr.status;
    if (detail.boosted && typeof html === "string" && html.indexOf("csrf-token") > -1) {
      refreshCsrfMeta(html);
    }
    if (detail.shouldSwap || status < 400) {
      return;
    }
    if (detail.boosted) {
      detail.shouldSwap = true;
      return;
    }
    var box = errorBox();
    if (!box) {
      return;
    }
    detail.shouldSwap = true;
    detail.target = box;
    detail.swapOverride = "innerHTML";
    if (!/\S/.test(html || "")) {
      detail.serverResponse =
        "<p>That did not work (HTTP " + status + "). Reload the page and try again.</p>";
    }
  });

  // A rate-limit answer says when to try again ([data-expires-in], seconds): it leaves then.
  document.addEventListener(HTMX_EVENTS.afterSwap, function () {
    var box = errorBox();
    var panel = box && box.querySelector("[data-expires-in]");
    if (!panel) {
      return;
    }
    var seconds = parseInt(panel.getAttribute("data-expires-in"), 10) || 1;
    window.setTimeout(function () {
      if (panel.isConnected) {
        box.textContent = "";
      }
    }, seconds * 1000);
  });

  // The shared row menu must outlive the row it sits in: home before any swap that holds it.
  document.addEventListener(HTMX_EVENTS.beforeSwap, function (event) {
    var list = document.querySelector("[data-row-menu]");
    var target = event.detail.target;
    if (list && target && target !== list && target.contains && target.contains(list)) {
      sendRowMenuHome();
    }
  });

  document.addEventListener(HTMX_EVENTS.sendError, function () {
    var box = errorBox();
    if (box) {
      box.textContent = "The server could not be reached. Try again.";
    }
  });

  // --- 6. Copy buttons -----------------------------------------------------------------------
  // <button data-copy="<id>" hidden> copies the text of element <id>. Hidden without JavaScript
  // (the text is selectable anyway); shown where the clipboard API exists. Says what it did.

  function upgradeCopyButtons() {
    if (!navigator.clipboard) {
      return;
    }
    forEach(document.querySelectorAll("button[data-copy][hidden]"), function (button) {
      button.hidden = false;
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-copy]");
    var source = button && document.getElementById(button.getAttribute("data-copy"));
    if (!source || !navigator.clipboard) {
      return;
    }
    // A field copies its value, anything else its text; a status span beside it says what
    // happened (read out by screen readers), else the button's own label does for 2 s.
    var text = "value" in source ? source.value : source.textContent;
    var status = button.parentElement.querySelector("[data-copy-status]");
    var label = button.getAttribute("data-label") || button.textContent;
    button.setAttribute("data-label", label);
    function say(message) {
      if (status) {
        status.textContent = message;
        return;
      }
      button.textContent = message;
      window.setTimeout(function () {
        button.textContent = label;
      }, 2000);
    }
    navigator.clipboard.writeText(text).then(function () {
      say("Copied");
    }, function () {
      if (source.select) {
        source.select();
      }
      say("Copy failed: select the text instead");
    });
  });

  // --- Start: upgrade the menus now, and after every swap --------------------------------------

  function upgrade() {
    upgradeMenus();
    upgradeCopyButtons();
  }

  document.addEventListener(HTMX_EVENTS.load, upgrade);
  document.addEventListener(HTMX_EVENTS.afterSwap, upgrade);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", upgrade);
  } else {
    upgrade();
  }
})();
