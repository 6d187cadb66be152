// palisade-echo.js: laravel-echo in one Palisade tenant's namespace.
//
// Palisade signs private and presence channels only when they carry the
// tenant: private-tenant.<T>.<name>. A Laravel-style app written for its own
// names (Echo.private(`App.Models.User.${id}`), Echo.join("chat.1"),
// Echo.encryptedPrivate("ledger")) wraps its Echo once and keeps them:
//
//   const echo = palisadeTenantEcho(new Echo({ broadcaster: "reverb", ... }), tenantId);
//   echo.private(`App.Models.User.${userId}`).notification((n) => ...);
//
// private("App.Models.User.5") subscribes private-tenant.<T>.App.Models.User.5,
// which the auth endpoint signs for user 5 alone (like tenant.<T>.user.5),
// so Laravel's default notification channel works unchanged. Public
// channels have no tenant and are passed through as they are. Everything
// else (socketId, connector, disconnect, ...) is the wrapped Echo's.
// Works as a CommonJS module and as a browser global (window.palisadeTenantEcho).
(function (root, factory) {
  "use strict";
  if (typeof module === "object" && module.exports) {
    module.exports = factory();
  } else {
    root.palisadeTenantEcho = factory();
  }
})(typeof self !== "undefined" ? self : this, function () {
  "use strict";
  return function palisadeTenantEcho(echo, tenantId) {
    var id = String(tenantId);
    if (!/^[1-9][0-9]*$/.test(id)) {
      throw new Error("palisadeTenantEcho: tenant id must be a positive integer, got " + tenantId);
    }
    var prefix = "tenant." + id + ".";
    var scoped = function (name) {
      name = String(name);
      return name.indexOf(prefix) === 0 ? name : prefix + name;
    };
    var wrapper = Object.create(echo);
    wrapper.private = function (name) { return echo.private(scoped(name)); };
    wrapper.encryptedPrivate = function (name) { return echo.encryptedPrivate(scoped(name)); };
    wrapper.join = function (name) { return echo.join(scoped(name)); };
    // Echo.leave(name) leaves the public, private and presence forms of a name.
    wrapper.leave = function (name) { echo.leave(name); echo.leave(scoped(name)); };
    wrapper.leaveChannel = function (name) {
      var m = /^(private-encrypted-|private-|presence-)(.*)$/.exec(String(name));
      echo.leaveChannel(m ? m[1] + scoped(m[2]) : name);
    };
    wrapper.tenantChannel = scoped;
    return wrapper;
  };
});
