// Vigil web UI: progressive enhancement only; every page works without this file.
(function () {
  "use strict";

  // Saved views of the findings list: a name -> query string map kept in this browser (localStorage).
  var KEY = "vigil.savedViews";

  function load() {
    try { return JSON.parse(window.localStorage.getItem(KEY) || "{}") || {}; } catch (e) { return {}; }
  }

  function store(views) {
    window.localStorage.setItem(KEY, JSON.stringify(views));
  }

  function renderViews(box) {
    var list = box.querySelector("[data-views-list]");
    var views = load();
    var names = Object.keys(views).sort();
    list.textContent = "";
    if (!names.length) {
      var empty = document.createElement("li");
      empty.className = "muted";
      empty.textContent = "No saved views yet.";
      list.appendChild(empty);
      return;
    }
    names.forEach(function (name) {
      var li = document.createElement("li");
      li.className = "row";
      var a = document.createElement("a");
      a.href = box.getAttribute("data-base") + (views[name] ? "?" + views[name] : "");
      a.textContent = name;
      var del = document.createElement("button");
      del.type = "button";
      del.className = "link small";
      del.textContent = "remove";
      del.setAttribute("aria-label", "Remove saved view " + name);
      del.addEventListener("click", function () {
        var v = load();
        delete v[name];
        store(v);
        renderViews(box);
      });
      li.appendChild(a);
      li.appendChild(del);
      list.appendChild(li);
    });
  }

  function initViews() {
    var box = document.querySelector("[data-saved-views]");
    if (!box) { return; }
    box.hidden = false;
    var form = box.querySelector("form");
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var input = form.querySelector("input[name=view_name]");
      var name = input.value.trim();
      if (!name) { input.focus(); return; }
      var views = load();
      views[name] = box.getAttribute("data-query");
      store(views);
      input.value = "";
      renderViews(box);
      var status = box.querySelector("[data-views-status]");
      status.textContent = "Saved view \u201c" + name + "\u201d.";
    });
    renderViews(box);
  }

  document.addEventListener("DOMContentLoaded", function () {
    initViews();
  });
})();
