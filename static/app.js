/*
 * app.js: the app's only script of its own. CSP-safe: no eval, no inline handlers. Every page
 * also works without it. Its five jobs, in static/README.md's order:
 *   1. the CSRF header of htmx requests;
 *   2. the action menu (a WAI-ARIA menu button);
 *   3. Escape in an inline edit form;
 *   4. focus after a swap;
 *   5. errors are never silent (a "try again in N seconds" leaves after N seconds).
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
      var parts = menuParts(menu);
      if (!parts) {
        return;
      }
      menu.setAttribute("data-menu-ready", "");
      parts.list.setAttribute("role", "menu");
      parts.list.setAttribute("aria-labelledby", parts.button.id);
      forEach(parts.list.children, function (item) {
        item.setAttribute("role", "none");
      });
      parts.items.forEach(function (item) {
        item.setAttribute("role", "menuitem");
        item.tabIndex = -1;
      });
      parts.list.hidden = true;
      parts.button.hidden = false;
    });
  }

  function closeMenu(menu, refocus) {
    var parts = menuParts(menu);
    if (parts.list.hidden) {
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
      if (parts.list.hidden) {
        openMenu(menu);
      } else {
        closeMenu(menu, true);
      }
    } else if (target.closest(".menu__item")) {
      closeMenu(menu, true);
    }
  });

  function onMenuButtonKey(event, menu, parts) {
    var key = event.key;
    if (key === "ArrowDown" || key === "ArrowUp") {
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

  document.addEventListener(HTMX_EVENTS.sendError, function () {
    var box = errorBox();
    if (box) {
      box.textContent = "The server could not be reached. Try again.";
    }
  });

  // --- Start: upgrade the menus now, and after every swap --------------------------------------

  document.addEventListener(HTMX_EVENTS.load, upgradeMenus);
  document.addEventListener(HTMX_EVENTS.afterSwap, upgradeMenus);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", upgradeMenus);
  } else {
    upgradeMenus();
  }
})();
