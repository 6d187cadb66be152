// Copy buttons: <button class="copy-button" data-copy="ID" hidden> copies
// the text of the element with that id (a list: one item a line) and says
// "Copied". The buttons stay hidden without this script, or where the
// browser has no clipboard API (e.g. plain http): the text can be selected
// and copied by hand.
(function () {
  "use strict";
  if (!navigator.clipboard || !navigator.clipboard.writeText) { return; }
  function textOf(el) {
    var items = el.querySelectorAll("li");
    if (items.length) {
      return Array.prototype.map.call(items, function (li) { return li.textContent.trim(); }).join("\n") + "\n";
    }
    return el.textContent.trim();
  }
  document.querySelectorAll("button.copy-button[data-copy]").forEach(function (btn) {
    var target = document.getElementById(btn.dataset.copy);
    if (!target) { return; }
    var label = btn.textContent;
    var status = document.createElement("span");
    status.className = "visually-hidden";
    status.setAttribute("role", "status");
    btn.after(status);
    btn.hidden = false;
    btn.addEventListener("click", function () {
      navigator.clipboard.writeText(textOf(target)).then(function () {
        btn.textContent = "Copied";
        status.textContent = "Copied to the clipboard.";
        setTimeout(function () { btn.textContent = label; status.textContent = ""; }, 4000);
      }, function () {
        btn.textContent = "Copy failed; select the text and copy it";
      });
    });
  });
})();
