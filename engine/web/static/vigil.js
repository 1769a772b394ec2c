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

  // A refused form comes back to its page with the error shown (engine/web/errors.py), but as a
  // fresh page: what was typed was gone. Each form's fields are kept for the round trip in this
  // tab (sessionStorage) and put back only when the page shows an error: never passwords, files or
  // hidden fields (the CSRF token stays the server's).
  var FORM_KEY = "vigil.refusedForm";

  function formKey(form) {
    return form.getAttribute("action") || window.location.pathname;
  }

  function sameKind(form) {
    var key = formKey(form);
    return Array.prototype.filter.call(document.querySelectorAll("form"), function (f) { return formKey(f) === key; });
  }

  function keepable(el) {
    return el.name && ["password", "hidden", "file", "submit", "button", "reset"].indexOf(el.type) < 0;
  }

  function rememberForms() {
    Array.prototype.forEach.call(document.querySelectorAll("form"), function (form) {
      if ((form.getAttribute("method") || "").toLowerCase() !== "post") { return; }
      form.addEventListener("submit", function () {
        var values = {};
        Array.prototype.forEach.call(form.elements, function (el) {
          if (!keepable(el)) { return; }
          if (el.type === "checkbox" || el.type === "radio") {
            values[el.name + "=" + el.value] = el.checked;
          } else {
            values[el.name] = el.value;
          }
        });
        try {
          window.sessionStorage.setItem(FORM_KEY, JSON.stringify({
            page: window.location.pathname + window.location.search, action: formKey(form),
            index: sameKind(form).indexOf(form), values: values
          }));
        } catch (e) { /* storage off: the form simply comes back empty */ }
      });
    });
  }

  function restoreRefusedForm() {
    var saved = null;
    try {
      saved = JSON.parse(window.sessionStorage.getItem(FORM_KEY) || "null");
      window.sessionStorage.removeItem(FORM_KEY);
    } catch (e) { return null; }
    if (!saved || !document.querySelector(".flash-error")) { return null; }
    if (saved.page !== window.location.pathname + window.location.search) { return null; }
    var form = Array.prototype.filter.call(document.querySelectorAll("form"), function (f) {
      return formKey(f) === saved.action;
    })[saved.index];
    if (!form) { return null; }
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!keepable(el)) { return; }
      if (el.type === "checkbox" || el.type === "radio") {
        var k = el.name + "=" + el.value;
        if (k in saved.values) { el.checked = saved.values[k]; }
      } else if (el.name in saved.values) {
        el.value = saved.values[el.name];
      }
    });
    for (var d = form.closest("details"); d; d = d.parentElement && d.parentElement.closest("details")) {
      d.open = true;  // a form folded away (a parameter's change form) opens again with its input
    }
    return form;
  }

  // The refusal is said at the top of the page (base.html's #refusal), far from the form: focus had
  // stayed on the page itself, and a keyboard user tabbed back through the page to the field. The
  // fields of the refused form that the message names are marked invalid, described by the message
  // and the first is focused, as the login page does; when it names none (or the form is not known),
  // the message itself takes focus. A field is named by its label ("Reason: required", "a waiver
  // needs a reason") or by the words in its data-refusal-name ("Approved by|approver"): never by its
  // `name`, whose short words ("on", "to") are in any sentence.
  function refusalNames(el) {
    var declared = el.getAttribute("data-refusal-name");
    if (declared) { return declared.split("|"); }
    var label = el.labels && el.labels[0];
    if (!label) { return []; }
    var own = Array.prototype.filter.call(label.childNodes, function (n) { return n.nodeType === 3; })
      .map(function (n) { return n.nodeValue; }).join(" ");
    own = own.split("(")[0].replace(/[:?]\s*$/, "").trim();
    return own ? [own] : [];
  }

  function namedIn(text, name) {
    var escaped = name.trim().replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/\s+/g, "\\s+");
    return new RegExp("(^|[^\\w])" + escaped + "($|[^\\w])", "i").test(text);
  }

  // The fields the server refused, by name (data-fields, from the error's own field), else those
  // the message's wording names.
  function refusedFields(form, text, named) {
    var fields = Array.prototype.filter.call(form.elements, function (el) {
      return el.name && !el.disabled && ["hidden", "submit", "button", "reset"].indexOf(el.type) < 0;
    });
    var byName = fields.filter(function (el) { return named.indexOf(el.name) >= 0; });
    if (byName.length) { return byName; }
    return fields.filter(function (el) {
      return ["checkbox", "radio"].indexOf(el.type) < 0 &&
        refusalNames(el).some(function (name) { return namedIn(text, name); });
    });
  }

  function pointAtRefusal(form) {
    var box = document.getElementById("refusal");
    if (!box) { return; }
    var named = (box.getAttribute("data-fields") || "").split(/\s+/).filter(Boolean);
    var fields = form ? refusedFields(form, box.textContent, named) : [];
    fields.forEach(function (el) {
      el.setAttribute("aria-invalid", "true");
      var ids = (el.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
      if (ids.indexOf(box.id) < 0) { ids.unshift(box.id); }
      el.setAttribute("aria-describedby", ids.join(" "));
    });
    if (fields.length) {
      fields[0].focus();
    } else if (!document.querySelector("[autofocus]")) {  // the login page puts its own field first
      box.focus();
    }
  }

  // A table's scroll box is a tab stop (so its hidden columns can be scrolled to from the keyboard)
  // only while it has something to scroll: a table that fits is no stop at all.
  function scrollBoxes() {
    Array.prototype.forEach.call(document.querySelectorAll(".table-wrap[role=region]"), function (box) {
      if (box.scrollWidth > box.clientWidth + 1) {
        box.setAttribute("tabindex", "0");
      } else if (box !== document.activeElement) {
        box.removeAttribute("tabindex");
      }
    });
  }

  // A finding's "« Findings" link goes back to the list as it was filtered, not to the plain list:
  // the list's address is kept in this tab when it is shown.
  var LIST_KEY = "vigil.findingsList";

  function backToList() {
    try {
      if (window.location.pathname === "/ui/findings") {
        window.sessionStorage.setItem(LIST_KEY, window.location.pathname + window.location.search);
      }
      var back = document.querySelector("a[data-back-to-list]");
      var url = window.sessionStorage.getItem(LIST_KEY);
      if (back && url && url.indexOf("/ui/findings") === 0) { back.href = url; }
    } catch (e) { /* storage off: the plain list */ }
  }

  document.addEventListener("DOMContentLoaded", function () {
    initViews();
    pointAtRefusal(restoreRefusedForm());
    rememberForms();
    backToList();
    scrollBoxes();
    var pending = null;
    window.addEventListener("resize", function () {
      window.clearTimeout(pending);
      pending = window.setTimeout(scrollBoxes, 150);
    });
  });
})();
