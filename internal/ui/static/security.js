// Security page: adding a passkey (WebAuthn registration) and confirming a
// sensitive change with a passkey. The server's JSON carries binary fields
// as base64url; the WebAuthn API wants ArrayBuffers, and back.
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
  function descriptors(list) {
    return (list || []).map(function (c) { return Object.assign({}, c, { id: fromB64url(c.id) }); });
  }

  // api sends JSON through the site's /api proxy; it resolves to
  // {status, body} whatever the status, and rejects only on network errors.
  function api(method, path, body) {
    return fetch(path, {
      method: method, credentials: "same-origin",
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
    if (!errBox) return;
    errBox.textContent = text;
    errBox.hidden = false;
  }
  function webauthnError(e) {
    if (e && e.name === "NotAllowedError") return "The passkey request was cancelled or timed out.";
    if (e && e.name === "InvalidStateError") return "This device already holds a passkey for your account.";
    return "The passkey did not work: " + (e && e.message ? e.message : e);
  }
  function supported() {
    if (window.PublicKeyCredential && navigator.credentials) return true;
    showError("This browser cannot use passkeys.");
    return false;
  }

  // Registration.
  var add = document.getElementById("passkey-add");
  if (add) {
    add.addEventListener("click", function () {
      if (!supported()) return;
      var status = document.getElementById("passkey-status");
      var name = (document.getElementById("passkey-name").value || "").trim() || "Passkey";
      errBox.hidden = true;
      add.disabled = true;
      api("POST", "/api/mfa/passkeys/begin").then(function (r) {
        if (r.status === 403 && r.body && r.body.error && r.body.error.kind === "reauth_required") {
          window.location.assign("/security/confirm?action=passkey_add");
          return null;
        }
        if (r.status !== 200) throw new Error(message(r, "Could not start adding a passkey."));
        var pk = r.body.publicKey;
        pk.challenge = fromB64url(pk.challenge);
        pk.user.id = fromB64url(pk.user.id);
        pk.excludeCredentials = descriptors(pk.excludeCredentials);
        if (status) { status.textContent = "Follow your browser's prompt…"; status.hidden = false; }
        return navigator.credentials.create({ publicKey: pk }).then(function (cred) {
          var resp = cred.response;
          return api("POST", "/api/mfa/passkeys/finish?name=" + encodeURIComponent(name), {
            id: cred.id, rawId: toB64url(cred.rawId), type: cred.type,
            authenticatorAttachment: cred.authenticatorAttachment || undefined,
            clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
            response: {
              clientDataJSON: toB64url(resp.clientDataJSON),
              attestationObject: toB64url(resp.attestationObject),
              transports: resp.getTransports ? resp.getTransports() : []
            }
          });
        }, function (e) { throw new Error(webauthnError(e)); });
      }).then(function (r) {
        if (!r) return;
        if (r.status !== 201) throw new Error(message(r, "The passkey was not accepted."));
        window.location.assign("/security?flash=passkey_added");
      }).catch(function (e) {
        add.disabled = false;
        if (status) status.hidden = true;
        showError(e.message);
      });
    });
  }

  // Step-up with a passkey: the assertion refreshes the login, then the
  // confirmation form goes ahead without a password.
  var again = document.getElementById("reauth-passkey");
  if (again) {
    again.addEventListener("click", function () {
      if (!supported()) return;
      errBox.hidden = true;
      api("POST", "/api/auth/mfa/passkey/begin").then(function (r) {
        if (r.status !== 200) throw new Error(message(r, "Could not start the passkey check."));
        var pk = r.body.publicKey;
        pk.challenge = fromB64url(pk.challenge);
        pk.allowCredentials = descriptors(pk.allowCredentials);
        return navigator.credentials.get({ publicKey: pk }).then(function (cred) {
          return api("POST", "/api/auth/mfa/passkey/finish", assertionJSON(cred));
        }, function (e) { throw new Error(webauthnError(e)); });
      }).then(function (r) {
        if (r.status !== 200) throw new Error(message(r, "The passkey was not accepted."));
        document.getElementById("reauth-via").value = "passkey";
        document.getElementById("reauth-form").submit();
      }).catch(function (e) { showError(e.message); });
    });
  }

  function assertionJSON(cred) {
    var resp = cred.response;
    return {
      id: cred.id, rawId: toB64url(cred.rawId), type: cred.type,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      response: {
        clientDataJSON: toB64url(resp.clientDataJSON),
        authenticatorData: toB64url(resp.authenticatorData),
        signature: toB64url(resp.signature),
        userHandle: resp.userHandle ? toB64url(resp.userHandle) : undefined
      }
    };
  }
})();
