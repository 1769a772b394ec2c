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
    // Saving had said nothing when the name was empty, and replaced a view of the same name
    // silently (a "critical HIPAA" view gone under an OSHA one): both are said in the status line.
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var input = form.querySelector("input[name=view_name]");
      var status = box.querySelector("[data-views-status]");
      var name = input.value.trim();
      if (!name) {
        input.setAttribute("aria-invalid", "true");
        status.textContent = "Name the view to save it: the name is how the list of saved views shows it.";
        input.focus();
        return;
      }
      input.removeAttribute("aria-invalid");
      var views = load();
      var query = box.getAttribute("data-query");
      var had = Object.prototype.hasOwnProperty.call(views, name) ? views[name] : null;
      views[name] = query;
      store(views);
      input.value = "";
      renderViews(box);
      var quoted = "\u201c" + name + "\u201d";
      status.textContent = had === null ? "Saved view " + quoted + "." :
        had === query ? "View " + quoted + " was already saved with these filters." :
        "Saved view " + quoted + ", replacing the earlier view of that name (its filters are gone).";
    });
    renderViews(box);
  }

  // A refused form comes back to its page with the error shown (engine/web/errors.py), but as a
  // fresh page: what was typed was gone. Each form's fields are kept for the round trip in this
  // tab (sessionStorage) and put back only when the page shows an error: never passwords, files or
  // hidden fields (the CSRF token stays the server's).
  var FORM_KEY = "vigil.refusedForm";
  // A form sent after the session had ended (the idle timeout, signed out in another tab) is refused
  // before anything is done, and the person is sent to sign in (errors.py says what was not saved).
  // What they typed had been lost on the way: it is kept in this tab through the sign-in, for the
  // same user only (a shared front-desk browser: another person signing in never sees it) and for a
  // few hours, then put back in the form on the page they return to, with a word that it was not
  // saved. It is never sent by itself: sending it again is the person's own submit, with the new
  // session's CSRF token.
  var UNSENT_KEY = "vigil.unsentForm";
  var UNSENT_MS = 4 * 3600 * 1000;

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

  function here() {
    return window.location.pathname + window.location.search;
  }

  // who is signed in (base.html's data-user), "" on the sign-in page
  function signedInAs() {
    return document.body.getAttribute("data-user") || "";
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
            page: here(), action: formKey(form), index: sameKind(form).indexOf(form), values: values,
            user: signedInAs()
          }));
        } catch (e) { /* storage off: the form simply comes back empty */ }
      });
    });
  }

  function takeSaved(key) {
    try {
      var saved = JSON.parse(window.sessionStorage.getItem(key) || "null");
      window.sessionStorage.removeItem(key);
      return saved;
    } catch (e) { return null; }
  }

  function formOf(saved) {
    return Array.prototype.filter.call(document.querySelectorAll("form"), function (f) {
      return formKey(f) === saved.action;
    })[saved.index] || null;
  }

  function fill(form, values) {
    var filled = 0;
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!keepable(el)) { return; }
      if (el.type === "checkbox" || el.type === "radio") {
        var k = el.name + "=" + el.value;
        if (k in values) { el.checked = values[k]; }
      } else if (el.name in values) {
        el.value = values[el.name];
        filled += values[el.name] ? 1 : 0;
      }
    });
    for (var d = form.closest("details"); d; d = d.parentElement && d.parentElement.closest("details")) {
      d.open = true;  // a form folded away (a parameter's change form) opens again with its input
    }
    return filled;
  }

  function restoreRefusedForm() {
    var saved = takeSaved(FORM_KEY);
    var refused = document.getElementById("refusal");
    if (saved && refused && saved.user && !signedInAs() && saved.page !== here()) {
      // the sign-in page after a form sent by a signed-in person: their session had ended
      saved.kept = Date.now();
      try { window.sessionStorage.setItem(UNSENT_KEY, JSON.stringify(saved)); } catch (e) { /* lost */ }
      return null;
    }
    if (!saved || !document.querySelector(".flash-error")) { return null; }
    if (saved.page !== here()) { return null; }
    var form = formOf(saved);
    if (form) { fill(form, saved.values); }
    return form;
  }

  function firstField(form) {
    return Array.prototype.filter.call(form.elements, function (el) {
      return el.name && !el.disabled && ["hidden", "submit", "button", "reset"].indexOf(el.type) < 0;
    })[0] || null;
  }

  // Back from signing in: the form sent when the session had ended is filled in again and says it
  // was not saved (only on a signed-in page: the sign-in page keeps it through a mistyped password).
  function restoreUnsentForm() {
    if (!signedInAs()) { return; }
    var saved = takeSaved(UNSENT_KEY);
    if (!saved || saved.user !== signedInAs() || saved.page !== here() ||
        !(Date.now() - saved.kept < UNSENT_MS)) { return; }
    var form = formOf(saved);
    var upload = form && form.querySelector("input[type=file]");
    if (!form || !(fill(form, saved.values) || upload)) { return; }  // a tick: the sign-in page said it
    var field = firstField(form);
    if (!field) { return; }
    var notice = document.createElement("p");
    notice.id = "unsent";
    notice.className = "flash flash-info unsent";
    notice.setAttribute("role", "status");
    notice.textContent = "Not saved yet: your session had ended when you sent this. What you typed is back " +
      "in the form; check it and send it again." +
      (upload ? " Choose the file again too." : "");
    var label = field.labels && field.labels[0];
    var before = label && form.contains(label) ? label : fieldAnchor(field);
    before.parentNode.insertBefore(notice, before);
    describe(field, notice.id);
    field.focus({ preventScroll: true });
    bringIntoView(notice, field);
  }

  // The refusal is said at the top of the page (base.html's #refusal), far from the form: focus had
  // stayed on the page itself, and a keyboard user tabbed back through the page to the field. The
  // fields of the refused form that the message names are marked invalid, described by the message
  // and the first is focused, as the login page does; when it names none (or the form is not known),
  // the message itself takes focus. A field is named by its label ("Reason: required", "a waiver
  // needs a reason") or by the words in its data-refusal-name ("Approved by|approver"): never by its
  // `name`, whose short words ("on", "to") are in any sentence.
  // Focusing a field scrolls to it, and on a phone (where every form of a task page is below the
  // fold) the message at the top was then off the screen: the person saw their field as they had
  // left it and never the reason. So the message moves next to the field it names (after its
  // label, before the field), and both are brought into view together.
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

  // where a message about a field goes: before the field, or before the group a radio belongs to
  function fieldAnchor(el) {
    var group = el.closest("fieldset");
    if (group) { return group; }
    return ["checkbox", "radio"].indexOf(el.type) >= 0 && el.closest("label") || el;
  }

  function describe(el, id) {
    var ids = (el.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
    if (ids.indexOf(id) < 0) { ids.unshift(id); }
    el.setAttribute("aria-describedby", ids.join(" "));
  }

  // Scroll so that everything from `top` down to `bottom` is on the screen (centred when it fits,
  // else its top): focus() alone centres the field and leaves what is above it out of sight.
  function bringIntoView(top, bottom) {
    var a = top.getBoundingClientRect(), b = bottom.getBoundingClientRect(), room = window.innerHeight;
    var upper = Math.min(a.top, b.top), lower = Math.max(a.bottom, b.bottom), height = lower - upper;
    if (upper >= 0 && lower <= room) { return; }
    window.scrollBy(0, height <= room - 32 ? upper - (room - height) / 2 : upper - 16);
  }

  function pointAtRefusal(form) {
    var box = document.getElementById("refusal");
    if (!box) { return; }
    var named = (box.getAttribute("data-fields") || "").split(/\s+/).filter(Boolean);
    var fields = form ? refusedFields(form, box.textContent, named) : [];
    fields.forEach(function (el) {
      el.setAttribute("aria-invalid", "true");
      describe(el, box.id);
    });
    if (fields.length) {
      var anchor = fieldAnchor(fields[0]);
      anchor.parentNode.insertBefore(box, anchor);
      box.classList.add("refusal-at-field");
      var label = fields[0].labels && fields[0].labels[0];
      fields[0].focus({ preventScroll: true });
      bringIntoView(label && form.contains(label) && !label.contains(fields[0]) ? label : box, fields[0]);
    } else if (!document.querySelector("[autofocus]")) {  // the login page puts its own field first
      box.focus();
    }
  }

  // A change made in one section of a long page (a framework's parameters) reloads the page at that
  // section (#pp-hipaa), and the message saying what changed sat at the page's top, thousands of
  // pixels above the window the jump scrolled to: it moves under the section's heading. Run before
  // the browser's own jump to the fragment, so the section lands in view with the message in it.
  function flashAtSection() {
    var said = document.querySelector("main > .flash[role=status]");
    var id = window.location.hash.slice(1);
    var target = id && document.getElementById(id);
    if (!said || !target || target.tagName !== "SECTION") { return; }
    var heading = target.querySelector("h2, h3");
    if (heading && heading.parentNode === target) {
      target.insertBefore(said, heading.nextSibling);
    } else {
      target.insertBefore(said, target.firstChild);
    }
  }

  // Ticking a checklist step reloads the task at its step (#step-N) with focus on the page itself:
  // a keyboard user had to find their place again. The step's own button takes focus back, unless
  // a refusal has put it on the field it names. Run once the page has loaded: the browser's own jump
  // to the fragment, after DOMContentLoaded, clears the focus it finds (the step's <li> takes none).
  function focusStep() {
    var found = /^#step-(\d+)$/.exec(window.location.hash);
    if (!found || document.getElementById("refusal")) { return; }
    var step = document.getElementById("step-" + found[1]);
    var button = step && step.querySelector("button");
    if (button) { button.focus(); }
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
      sayHiddenColumns(box);
    });
  }

  // On a phone the findings list showed Severity, Finding and Subject, and nothing said that Status,
  // Due and State were off to the right: a line above a table wider than its box names the columns
  // out of sight and which way to scroll, and goes once every column has been in view.
  function sayHiddenColumns(box) {
    var hint = box.previousElementSibling;
    if (!hint || !hint.classList.contains("scroll-hint")) {
      hint = document.createElement("p");
      hint.className = "scroll-hint small muted";
      hint.setAttribute("aria-hidden", "true");  // the region is announced with its columns already
      box.parentNode.insertBefore(hint, box);
      box.addEventListener("scroll", function () { sayHiddenColumns(box); }, { passive: true });
    }
    var edge = box.getBoundingClientRect();
    var right = [], left = [];
    Array.prototype.forEach.call(box.querySelectorAll("thead th"), function (th) {
      var cell = th.getBoundingClientRect();
      var name = th.textContent.trim();
      if (!name) { return; }
      if (cell.left + cell.width / 2 > edge.right) { right.push(name); }
      else if (cell.left + cell.width / 2 < edge.left) { left.push(name); }
    });
    var said = [];
    if (right.length) { said.push("scroll right for " + right.join(", ")); }
    if (left.length) { said.push("left for " + left.join(", ")); }
    hint.textContent = said.length ? "More columns: " + said.join("; ") + "." : "";
    hint.hidden = !said.length;
  }

  // A finding's "« Findings" link goes back to the list as it was filtered, not to the plain list,
  // and a task's "« Tasks" link to the task list's view and site (an officer working through
  // /ui/tasks?view=overdue&establishment=EST-NYC had come back to "My tasks", empty): each list's
  // address is kept in this tab when it is shown, and a link marked data-back-to-list="<list path>"
  // takes it.
  var LIST_KEYS = { "/ui/findings": "vigil.findingsList", "/ui/tasks": "vigil.tasksList" };

  function backToList() {
    try {
      var shown = LIST_KEYS[window.location.pathname];
      if (shown) { window.sessionStorage.setItem(shown, here()); }
      Array.prototype.forEach.call(document.querySelectorAll("a[data-back-to-list]"), function (back) {
        var list = back.getAttribute("data-back-to-list") || back.getAttribute("href");
        var url = LIST_KEYS[list] && window.sessionStorage.getItem(LIST_KEYS[list]);
        if (url && (url === list || url.indexOf(list + "?") === 0)) { back.href = url; }
      });
    } catch (e) { /* storage off: the plain list */ }
  }

  document.addEventListener("DOMContentLoaded", function () {
    initViews();
    flashAtSection();
    pointAtRefusal(restoreRefusedForm());
    restoreUnsentForm();
    rememberForms();
    backToList();
    scrollBoxes();
    window.addEventListener("load", focusStep);
    var pending = null;
    window.addEventListener("resize", function () {
      window.clearTimeout(pending);
      pending = window.setTimeout(scrollBoxes, 150);
    });
  });
})();
