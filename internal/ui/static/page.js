// Progressive enhancements every page gets; each page works without them.
// - The navigation marks the current section (aria-current="page").
// - Each table cell carries its column's name (data-label), which the phone
//   layout in app.css shows above the cell when rows become cards.
(function () {
  "use strict";
  var here = location.pathname;
  document.querySelectorAll("header nav a").forEach(function (a) {
    var p = a.getAttribute("href");
    if (here === p || here.indexOf(p + "/") === 0) { a.setAttribute("aria-current", "page"); }
  });
  // Sign-up: the site address follows what is typed into the name field.
  var slug = document.getElementById("slug"), preview = document.getElementById("slug-preview");
  if (slug && preview && preview.dataset.url) {
    var show = function () {
      var v = slug.value.trim().toLowerCase() || "your-name";
      preview.querySelector("strong").textContent = preview.dataset.url.replace("your-name", v);
    };
    slug.addEventListener("input", show);
    show();
  }
  // A form with data-confirm asks in a modal <dialog> before it is sent.
  // While it is open Tab and Shift+Tab cycle between its two buttons (the
  // page behind is inert), Escape or Cancel close it, and closing returns
  // the focus to the button that opened it. The server asks on a page of
  // its own when this script does not run.
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form.dataset || !form.dataset.confirm || form.querySelector('input[name="confirmed"]')) { return; }
    if (typeof HTMLDialogElement !== "function") { return; }
    e.preventDefault();
    var opener = e.submitter || document.activeElement;
    var dlg = document.createElement("dialog");
    dlg.id = "confirm-dialog";
    dlg.setAttribute("aria-labelledby", "confirm-dialog-text");
    var p = document.createElement("p"); p.id = "confirm-dialog-text"; p.textContent = form.dataset.confirm;
    var no = document.createElement("button"); no.type = "button"; no.className = "secondary"; no.id = "confirm-dialog-cancel"; no.textContent = "Cancel";
    var yes = document.createElement("button"); yes.type = "button"; yes.className = "danger"; yes.id = "confirm-dialog-yes"; yes.textContent = "Yes, go ahead";
    var row = document.createElement("div"); row.className = "dialog-actions"; row.append(no, " ", yes);
    dlg.append(p, row);
    document.body.appendChild(dlg);
    dlg.addEventListener("close", function () {
      dlg.remove();
      if (dlg.returnValue !== "yes" && opener && opener.focus) { opener.focus(); }
    });
    no.addEventListener("click", function () { dlg.close("no"); });
    dlg.addEventListener("keydown", function (k) {
      if (k.key === "Escape") { k.preventDefault(); dlg.close("no"); return; }
      if (k.key !== "Tab") { return; }
      var first = no, last = yes, at = document.activeElement;
      if (k.shiftKey && (at === first || !dlg.contains(at))) { k.preventDefault(); last.focus(); }
      else if (!k.shiftKey && (at === last || !dlg.contains(at))) { k.preventDefault(); first.focus(); }
    });
    yes.addEventListener("click", function () {
      var c = document.createElement("input"); c.type = "hidden"; c.name = "confirmed"; c.value = "yes";
      form.appendChild(c);
      dlg.close("yes");
      form.submit();
    });
    dlg.showModal();
    no.focus();
  });
  document.querySelectorAll("table").forEach(function (table) {
    // An actions column (th.actions) needs no label above its buttons.
    var heads = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) { return th.classList.contains("actions") ? "" : th.textContent.trim(); });
    if (!heads.length) { return; }
    table.querySelectorAll("tbody tr").forEach(function (tr) {
      Array.prototype.forEach.call(tr.children, function (td, i) {
        if (heads[i] && !td.hasAttribute("data-label")) { td.setAttribute("data-label", heads[i]); }
      });
    });
  });
})();
