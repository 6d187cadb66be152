// Login with a passkey: passwordless on the login page (#passkey-login),
// or as the second step after a password (#passkey-mfa). The server's JSON
// carries binary fields as base64url; WebAuthn wants ArrayBuffers.
(function () {
  "use strict";

  function fromB64url(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }
  function toB64url(buf) {
    var bytes = new Uint8Array(buf), bin = "";
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function post(path, body) {
    return fetch(path, {
      method: "POST", credentials: "same-origin",
      headers: body === undefined ? { "Accept": "application/json" } : { "Accept": "application/json", "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (res) {
      return res.text().then(function (t) {
        var j = null;
        try { j = t ? JSON.parse(t) : null; } catch (e) { j = null; }
        return { status: res.status, body: j };
      });
    });
  }
  function message(r, fallback) {
    return (r.body && r.body.error && r.body.error.message) || fallback;
  }

  var errBox = document.getElementById("passkey-error");
  function showError(text) {
    errBox.textContent = text;
    errBox.hidden = false;
  }

  // run performs one assertion ceremony against begin/finish and goes home.
  function run(button, begin, finish) {
    if (!window.PublicKeyCredential || !navigator.credentials) {
      showError("This browser cannot use passkeys.");
      return;
    }
    errBox.hidden = true;
    button.disabled = true;
    post(begin).then(function (r) {
      if (r.status !== 200) throw new Error(message(r, "Could not start the passkey login."));
      var pk = r.body.publicKey;
      pk.challenge = fromB64url(pk.challenge);
      pk.allowCredentials = (pk.allowCredentials || []).map(function (c) { return Object.assign({}, c, { id: fromB64url(c.id) }); });
      return navigator.credentials.get({ publicKey: pk }).then(function (cred) {
        var resp = cred.response;
        return post(finish, {
          id: cred.id, rawId: toB64url(cred.rawId), type: cred.type,
          clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
          response: {
            clientDataJSON: toB64url(resp.clientDataJSON),
            authenticatorData: toB64url(resp.authenticatorData),
            signature: toB64url(resp.signature),
            userHandle: resp.userHandle ? toB64url(resp.userHandle) : undefined
          }
        });
      }, function (e) {
        throw new Error(e && e.name === "NotAllowedError" ? "The passkey request was cancelled or timed out." : "The passkey did not work: " + (e && e.message ? e.message : e));
      });
    }).then(function (r) {
      if (r.status !== 200) throw new Error(message(r, "The passkey was not accepted."));
      window.location.assign("/");
    }).catch(function (e) {
      button.disabled = false;
      showError(e.message);
    });
  }

  var login = document.getElementById("passkey-login");
  if (login) login.addEventListener("click", function () { run(login, "/api/auth/passkey/begin", "/api/auth/passkey/finish"); });
  var mfa = document.getElementById("passkey-mfa");
  if (mfa) mfa.addEventListener("click", function () { run(mfa, "/api/auth/mfa/passkey/begin", "/api/auth/mfa/passkey/finish"); });
})();
