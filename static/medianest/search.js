/* MediaNest's only script, loaded with `defer` from 'self' (CSP: script-src 'self').
 *
 * 1. Live search in the header: results as you type, from the JSON API, in a listbox under
 *    the search box (ARIA combobox pattern). Arrow keys move, Enter opens, Escape closes.
 *    If anything fails the dropdown stays shut and the form still submits to /search/.
 * 2. Sort menus marked data-autosubmit submit their form on change (the button remains for
 *    anyone without this script).
 */
(function () {
  "use strict";

  var DEBOUNCE_MS = 250;
  var MIN_LENGTH = 2;
  var LIMIT = 12;
  var TYPE_LABELS = {
    movie: "Movie", show: "Show", season: "Season", episode: "Episode",
    artist: "Artist", album: "Album", track: "Track", collection: "Collection"
  };

  // Page URLs come from the form's data attributes (reversed by Django, with "0" for the key),
  // so a site served under a path prefix still links correctly.
  var pageUrls = { item: "/item/0/", collection: "/collection/0/" };

  function itemUrl(result) {
    var key = String(result.ratingKey || "");
    if (!/^\d+$/.test(key)) return null;
    var pattern = result.type === "collection" ? pageUrls.collection : pageUrls.item;
    return pattern.replace(/\/0\/$/, "/" + key + "/");
  }

  // Only same-site paths become image sources: the API already gives MediaNest URLs.
  function localImage(url) {
    return typeof url === "string" && url.charAt(0) === "/" && url.charAt(1) !== "/" ? url : null;
  }

  function describe(result) {
    var parts = [TYPE_LABELS[result.type] || result.type || ""];
    if (result.type === "episode" && result.grandparentTitle) parts.push(result.grandparentTitle);
    if (result.year) parts.push(String(result.year));
    return parts.filter(Boolean).join(" · ");
  }

  function setUpLiveSearch(form) {
    var input = form.querySelector('input[name="q"]');
    if (!input || !window.fetch) return;
    var endpoint = form.getAttribute("data-live-url") || "/api/v1/plex/search";
    pageUrls.item = form.getAttribute("data-item-url") || pageUrls.item;
    pageUrls.collection = form.getAttribute("data-collection-url") || pageUrls.collection;

    var list = document.createElement("ul");
    list.id = "live-search-results";
    list.className = "live-results";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "Search suggestions");
    list.hidden = true;
    form.appendChild(list);

    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-controls", list.id);
    input.setAttribute("aria-expanded", "false");

    var timer = null;
    var controller = null;
    var active = -1;
    var lastQuery = "";

    function options() {
      return list.querySelectorAll('[role="option"]');
    }

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(index) {
      var all = options();
      if (!all.length) return;
      active = (index + all.length) % all.length;
      for (var i = 0; i < all.length; i++) {
        all[i].setAttribute("aria-selected", i === active ? "true" : "false");
      }
      input.setAttribute("aria-activedescendant", all[active].id);
      all[active].scrollIntoView({ block: "nearest" });
    }

    function render(results) {
      while (list.firstChild) list.removeChild(list.firstChild);
      var shown = 0;
      results.forEach(function (result, index) {
        var href = itemUrl(result);
        if (!href) return;
        var li = document.createElement("li");
        li.id = "live-search-option-" + index;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", "false");
        var link = document.createElement("a");
        link.href = href;
        link.tabIndex = -1; // the input keeps focus; arrows move the highlight
        var src = localImage(result.thumb);
        var picture;
        if (src) {
          picture = document.createElement("img");
          picture.src = src.replace(/width=\d+&height=\d+/, "width=80&height=120");
          picture.width = 40;
          picture.height = 60;
          picture.alt = "";
          picture.loading = "lazy";
        } else {
          picture = document.createElement("span");
          picture.className = "live-placeholder";
        }
        var title = document.createElement("span");
        title.className = "live-title";
        title.textContent = result.title || "";
        var meta = document.createElement("span");
        meta.className = "live-meta";
        meta.textContent = describe(result);
        link.appendChild(picture);
        link.appendChild(title);
        link.appendChild(meta);
        li.appendChild(link);
        list.appendChild(li);
        shown++;
      });
      active = -1;
      input.removeAttribute("aria-activedescendant");
      if (shown) {
        list.hidden = false;
        input.setAttribute("aria-expanded", "true");
      } else {
        close();
      }
    }

    function lookUp(query) {
      if (controller) controller.abort();
      controller = window.AbortController ? new AbortController() : null;
      var url = endpoint + "?q=" + encodeURIComponent(query) + "&limit=" + LIMIT;
      fetch(url, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
        signal: controller ? controller.signal : undefined
      })
        .then(function (response) {
          if (!response.ok) throw new Error("search failed: " + response.status);
          return response.json();
        })
        .then(function (results) {
          // A slower answer to an older query must not replace the current one.
          if (query !== lastQuery || !Array.isArray(results)) return;
          render(results);
        })
        .catch(function () {
          // Offline, signed out, Plex down: no suggestions; the form still works.
          if (query === lastQuery) close();
        });
    }

    input.addEventListener("input", function () {
      var query = input.value.trim();
      lastQuery = query;
      clearTimeout(timer);
      if (query.length < MIN_LENGTH) {
        if (controller) controller.abort();
        close();
        return;
      }
      timer = setTimeout(function () { lookUp(query); }, DEBOUNCE_MS);
    });

    input.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        if (list.hidden) return;
        event.preventDefault();
        highlight(active + (event.key === "ArrowDown" ? 1 : -1));
      } else if (event.key === "Escape") {
        if (!list.hidden) {
          event.preventDefault();
          close();
        }
      } else if (event.key === "Enter" && !list.hidden && active >= 0) {
        var link = options()[active].querySelector("a");
        if (link) {
          event.preventDefault();
          window.location.assign(link.href);
        }
      }
    });

    // Closing when focus leaves the search (Tab away, click elsewhere).
    form.addEventListener("focusout", function (event) {
      if (!form.contains(event.relatedTarget)) close();
    });
    list.addEventListener("mousedown", function (event) {
      event.preventDefault(); // keep focus in the input so focusout does not close first
    });
  }

  function setUpAutoSubmit() {
    var selects = document.querySelectorAll("select[data-autosubmit]");
    Array.prototype.forEach.call(selects, function (select) {
      select.addEventListener("change", function () {
        var form = select.form;
        if (!form) return;
        if (form.requestSubmit) form.requestSubmit();
        else form.submit();
      });
    });
  }

  function start() {
    var form = document.getElementById("site-search");
    if (form) setUpLiveSearch(form);
    setUpAutoSubmit();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
