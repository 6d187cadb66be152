// Unmodified laravel-echo (broadcaster "reverb") and pusher-js in Node,
// against the real Palisade stack: channel auth goes to the web proxy's
// /api/broadcasting/auth with each user's session cookie. Prints one JSON
// line per observation; the Go test publishes when told "ready" and asserts.
// Environment: NODE_CLIENTS, WS_HOST, WS_PORT, APP_KEY, AUTH_URL, HOST_A,
// COOKIE_A, HOST_B, COOKIE_B, HOST_X, COOKIE_X, CHANNEL_A, PRESENCE, FOREIGN.
"use strict";
const fs = require("node:fs");
const http = require("node:http");
const path = require("node:path");
const { createRequire } = require("node:module");
const { pathToFileURL } = require("node:url");

const req = createRequire(path.join(process.env.NODE_CLIENTS, "resolve-from-here.js"));
const Pusher = req("pusher-js");

async function loadEcho() {
  // laravel-echo 2 ships ES modules; load its module entry as a bundler would.
  const dir = req.resolve.paths("laravel-echo").map((d) => path.join(d, "laravel-echo"))
    .find((d) => fs.existsSync(path.join(d, "package.json")));
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
  const entry = (pkg.exports && pkg.exports["."] && pkg.exports["."].import) || pkg.module || pkg.main;
  return (await import(pathToFileURL(path.join(dir, entry)).href)).default;
}

const out = (type, extra = {}) => process.stdout.write(JSON.stringify({ type, ...extra }) + "\n");
setTimeout(() => { out("timeout"); process.exit(1); }, 40000);

// The browser sends its cookie by itself; in Node the documented
// `authorizer` option does the same POST with the session cookie.
function echoFor(Echo, host, cookie) {
  return new Echo({
    broadcaster: "reverb",
    Pusher,
    key: process.env.APP_KEY,
    wsHost: process.env.WS_HOST,
    wsPort: Number(process.env.WS_PORT),
    wssPort: Number(process.env.WS_PORT),
    forceTLS: false,
    enabledTransports: ["ws"],
    authorizer: (channel) => ({
      authorize: (socketId, callback) => {
        // node:http rather than fetch: fetch will not send our Host header,
        // and the host is what names the tenant.
        const body = new URLSearchParams({ socket_id: socketId, channel_name: channel.name }).toString();
        const req = http.request(process.env.AUTH_URL, {
          method: "POST",
          headers: { "Content-Type": "application/x-www-form-urlencoded", "Content-Length": Buffer.byteLength(body), Cookie: cookie, Host: host, "Sec-Fetch-Site": "same-origin" },
        }, (res) => {
          let data = "";
          res.on("data", (c) => { data += c; });
          res.on("end", () => {
            if (res.statusCode !== 200) { out("auth_refused", { channel: channel.name, status: res.statusCode }); callback(new Error("auth " + res.statusCode), null); return; }
            callback(null, JSON.parse(data));
          });
        });
        req.on("error", (e) => callback(e, null));
        req.end(body);
      },
    }),
  });
}

const until = (pred) => new Promise((resolve) => { const t = setInterval(() => { if (pred()) { clearInterval(t); resolve(); } }, 20); });

async function main() {
  const Echo = await loadEcho();
  const a = echoFor(Echo, process.env.HOST_A, process.env.COOKIE_A);
  let subscribed = false, here = null, joined = null, left = null;
  a.private(process.env.CHANNEL_A)
    .subscribed(() => { subscribed = true; out("subscribed", { channel: process.env.CHANNEL_A }); })
    .listen(".notice", (e) => out("event", { data: e }));
  a.join(process.env.PRESENCE)
    .here((members) => { here = members; out("here", { members }); })
    .joining((m) => { joined = m; out("joining", { member: m }); })
    .leaving((m) => { left = m; out("leaving", { member: m }); });
  await until(() => subscribed && here);

  const b = echoFor(Echo, process.env.HOST_B, process.env.COOKIE_B);
  b.join(process.env.PRESENCE);
  await until(() => joined);
  b.leave(process.env.PRESENCE);
  b.disconnect();
  await until(() => left);

  // A user of another tenant asks for this tenant's presence channel.
  const x = echoFor(Echo, process.env.HOST_X, process.env.COOKIE_X);
  let refused = false;
  x.join(process.env.FOREIGN).error(() => { refused = true; out("foreign_error"); });
  await until(() => refused);
  x.disconnect();

  out("ready");
}

main().catch((e) => { out("error", { message: String(e && e.stack || e) }); process.exit(1); });
