// Files page: uploads go straight from the browser to the object store with
// a presigned PUT (progress bar), then the API is told the upload is
// complete; scan results arrive over the member's realtime channel and the
// tenant's files channel, and turn "Pending scan" into "Clean" (download
// enabled) or "Blocked" without a reload. Listing and downloading work
// without this script.
(function () {
  "use strict";
  var table = document.getElementById("files");
  var form = document.getElementById("upload-form");
  if (!table || !form) { return; }
  var tbody = table.tBodies[0];
  var labels = { pending: "Pending scan", clean: "Clean", infected: "Blocked: malware found", error: "Blocked: could not be scanned" };
  // Results that arrive before their row exists (a fast scan) wait here.
  var early = {};

  function rowOf(id) { return tbody.querySelector('tr[data-file-id="' + id + '"]'); }

  function setStatus(id, status) {
    var row = rowOf(id);
    if (!row) { early[id] = status; return; }
    var badge = row.querySelector(".badge");
    badge.className = "badge scan-" + status;
    badge.setAttribute("data-status", status);
    badge.textContent = labels[status] || labels.pending;
    var dl = row.querySelector(".download");
    if (status === "clean" && dl.tagName !== "A") {
      var a = document.createElement("a");
      a.className = "download";
      a.href = "/files/" + id + "/download";
      a.textContent = "Download";
      dl.replaceWith(a);
    }
  }

  // humanSize says a byte count as core.HumanSize does on the server.
  function humanSize(n) {
    if (n < 1000) return n === 1 ? "1 byte" : n + " bytes";
    var units = ["kB", "MB", "GB", "TB", "PB"], v = n;
    for (var i = 0; i < units.length; i++) {
      v /= 1000;
      if (v < 999.95 || i === units.length - 1) return v.toFixed(1).replace(/\.0$/, "") + " " + units[i];
    }
  }

  function addRow(file) {
    var empty = tbody.querySelector("tr.empty");
    if (empty) { empty.remove(); }
    var tr = document.createElement("tr");
    tr.setAttribute("data-file-id", String(file.id));
    var name = document.createElement("td"); name.className = "name"; name.textContent = file.name;
    var size = document.createElement("td"); size.textContent = humanSize(file.size); size.title = Number(file.size).toLocaleString("en") + (file.size === 1 ? " byte" : " bytes");
    var st = document.createElement("td");
    var badge = document.createElement("span"); badge.className = "badge"; st.appendChild(badge);
    var act = document.createElement("td"); act.className = "actions";
    var dl = document.createElement("span"); dl.className = "download disabled"; dl.setAttribute("aria-disabled", "true"); dl.textContent = "Download";
    act.appendChild(dl);
    // The uploader may always delete their own file, as the server-rendered
    // rows allow.
    var del = document.createElement("form");
    del.className = "inline"; del.method = "post"; del.action = "/files/" + file.id + "/delete";
    var delBtn = document.createElement("button"); delBtn.className = "link"; delBtn.textContent = "Delete";
    del.appendChild(delBtn);
    act.append(" ", del);
    tr.append(name, size, st, act);
    tbody.insertBefore(tr, tbody.firstChild);
    setStatus(file.id, early[file.id] || file.status);
  }

  function api(method, path, body) {
    return fetch(path, {
      method: method, credentials: "same-origin",
      headers: body ? { "Content-Type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (!r.ok) {
          var e = new Error(j && j.error ? j.error.message : "request failed (" + r.status + ")");
          e.field = j && j.error ? j.error.field : "";
          throw e;
        }
        return j;
      });
    });
  }

  var stateBox = document.getElementById("upload-state");
  var bar = document.getElementById("upload-progress");
  var text = document.getElementById("upload-text");
  function say(msg) { stateBox.hidden = false; text.textContent = msg; }

  function put(upload, file) {
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      xhr.open("PUT", upload.url);
      Object.keys(upload.headers || {}).forEach(function (k) { xhr.setRequestHeader(k, upload.headers[k]); });
      xhr.upload.onprogress = function (e) { if (e.lengthComputable) { bar.value = Math.round(100 * e.loaded / e.total); } };
      xhr.onload = function () { if (xhr.status >= 200 && xhr.status < 300) { bar.value = 100; resolve(); } else { reject(new Error("storage refused the upload (" + xhr.status + ")")); } };
      xhr.onerror = function () { reject(new Error("the upload did not reach storage")); };
      xhr.send(file);
    });
  }

  // A refusal of the file itself (its type, size or name) is shown under
  // the file input, as the server-rendered forms show theirs (ui/form.go).
  var fileError = document.getElementById("file-input-error");
  function fileRefused(input, msg) {
    msg = msg.charAt(0).toUpperCase() + msg.slice(1);
    if (!/[.!?]$/.test(msg)) { msg += "."; }
    fileError.textContent = msg;
    fileError.hidden = false;
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", "file-input-error");
    stateBox.hidden = true;
    input.focus();
  }
  function fileAccepted(input) {
    fileError.hidden = true;
    fileError.textContent = "";
    input.removeAttribute("aria-invalid");
    input.removeAttribute("aria-describedby");
  }

  form.hidden = false;
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var input = document.getElementById("file-input");
    var file = input.files && input.files[0];
    if (!file) { return; }
    fileAccepted(input);
    var button = document.getElementById("upload-submit");
    button.disabled = true;
    bar.value = 0;
    say("Uploading " + file.name + "…");
    var created;
    api("POST", "/api/files/upload-url", { name: file.name, size: file.size, content_type: file.type || "application/octet-stream" })
      .then(function (res) { created = res.file; return put(res.upload, file); })
      .then(function () { return api("POST", "/api/files/" + created.id + "/complete"); })
      .then(function (res) { addRow(res.file); say("Uploaded " + file.name + "; scanning for malware."); form.reset(); })
      .catch(function (err) {
        if (!created && fileError && ["content_type", "size", "name"].indexOf(err.field) >= 0) { fileRefused(input, err.message); return; }
        say("Upload failed: " + err.message);
      })
      .then(function () { button.disabled = false; });
  });

  function listen(channel) {
    channel.listen(".file.scanned", function (e) { if (e && e.id) { setStatus(e.id, e.status); } });
  }
  function onRealtime(ev) {
    listen(ev.detail.channel);
    listen(ev.detail.echo.private(table.getAttribute("data-files-channel")));
  }
  // The server names the channels (data-user-channel, data-files-channel).
  if (window.palisadeEcho) {
    listen(window.palisadeEcho.private(table.getAttribute("data-user-channel")));
    listen(window.palisadeEcho.private(table.getAttribute("data-files-channel")));
  } else {
    document.addEventListener("palisade:realtime", onRealtime, { once: true });
  }
})();
