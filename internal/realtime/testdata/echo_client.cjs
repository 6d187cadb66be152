// Drives the unmodified laravel-echo (broadcaster "reverb") and pusher-js
// against a Palisade realtime server and prints one JSON line per thing it
// sees; realtime's Go test reads the lines, publishes through the HTTP API
// when told "ready", and asserts on the rest. Inputs come from the
// environment: NODE_CLIENTS (folder with pusher-js and laravel-echo),
// WS_HOST, WS_PORT, APP_KEY, AUTH_URL.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const { createRequire } = require("node:module");
const { pathToFileURL } = require("node:url");

const req = createRequire(path.join(process.env.NODE_CLIENTS, "resolve-from-here.js"));
const Pusher = req("pusher-js");
let Echo;

// laravel-echo 2's CommonJS build cannot be require()d (its package says
// "type": "module"), so load its ES module build the way a bundler would.
async function loadEcho() {
  const dir = req.resolve.paths("laravel-echo").map((d) => path.join(d, "laravel-echo"))
    .find((d) => fs.existsSync(path.join(d, "package.json")));
  if (!dir) throw new Error("laravel-echo not found from " + process.env.NODE_CLIENTS);
  const pkgJSON = path.join(dir, "package.json");
  const pkg = JSON.parse(fs.readFileSync(pkgJSON, "utf8"));
  const entry = (pkg.exports && pkg.exports["."] && pkg.exports["."].import) || pkg.module || pkg.main;
  const mod = await import(pathToFileURL(path.join(path.dirname(pkgJSON), entry)).href);
  Echo = mod.default;
}

const out = (type, extra = {}) => process.stdout.write(JSON.stringify({ type, ...extra }) + "\n");
const timer = setTimeout(() => { out("timeout"); process.exit(1); }, 30000);

function echoFor(tenant, user) {
  return new Echo({
    broadcaster: "reverb",
    Pusher,
    key: process.env.APP_KEY,
    wsHost: process.env.WS_HOST,
    wsPort: Number(process.env.WS_PORT),
    wssPort: Number(process.env.WS_PORT),
    forceTLS: false,
    enabledTransports: ["ws"],
    authEndpoint: process.env.AUTH_URL,
    auth: { headers: { "X-Test-Tenant": String(tenant), "X-Test-User": String(user) } },
  });
}

function waitFor(pred, what) {
  return new Promise((resolve) => {
    const t = setInterval(() => { if (pred()) { clearInterval(t); resolve(); } }, 20);
  }).then(() => out("step", { what }));
}

async function main() {
  await loadEcho();
  const ann = echoFor(7, 1);
  let privateOK = false, here = null, gotEvent = false, joined = null, left = null;
  ann.connector.pusher.connection.bind("connected", () => out("connected", { socket_id: ann.socketId() }));

  ann.private("tenant.7.orders")
    .subscribed(() => { privateOK = true; out("subscribed", { channel: "private-tenant.7.orders" }); })
    .error((e) => out("error", { channel: "private-tenant.7.orders", error: e }))
    .listen(".order.paid", (e) => { gotEvent = true; out("event", { name: "order.paid", data: e }); });

  ann.join("tenant.7.room")
    .here((users) => { here = users; out("here", { users }); })
    .joining((u) => { joined = u; out("joining", { user: u }); })
    .leaving((u) => { left = u; out("leaving", { user: u }); })
    .error((e) => out("error", { channel: "presence-tenant.7.room", error: e }));

  await waitFor(() => privateOK && here !== null, "both subscribed");
  out("ready");
  await waitFor(() => gotEvent, "event received");

  // A second member of the same tenant joins and leaves the presence channel.
  const bob = echoFor(7, 2);
  let bobHere = false;
  bob.join("tenant.7.room").here(() => { bobHere = true; });
  await waitFor(() => bobHere && joined !== null, "bob joined");
  bob.leave("tenant.7.room");
  await waitFor(() => left !== null, "bob left");
  bob.disconnect();

  // A user of tenant 8 asks for tenant 7's private channel: the auth
  // endpoint refuses, and laravel-echo reports the error.
  const mallory = echoFor(8, 3);
  let refused = null, malloryIn = false;
  mallory.private("tenant.7.orders")
    .subscribed(() => { malloryIn = true; out("cross_tenant_subscribed"); })
    .error((e) => { refused = e; out("cross_tenant_refused", { status: e && e.status }); });
  await waitFor(() => refused !== null || malloryIn, "cross-tenant answered");
  mallory.disconnect();

  // A client that skips the auth endpoint and forges the signature is
  // refused by the realtime server itself.
  const forger = new Pusher(process.env.APP_KEY, {
    wsHost: process.env.WS_HOST, wsPort: Number(process.env.WS_PORT), forceTLS: false,
    enabledTransports: ["ws"], cluster: "",
    channelAuthorization: {
      customHandler: (params, cb) => cb(null, { auth: process.env.APP_KEY + ":" + "0".repeat(64) }),
    },
  });
  let forgedAnswer = null;
  const fch = forger.subscribe("private-tenant.7.orders");
  fch.bind("pusher:subscription_succeeded", () => { forgedAnswer = "subscribed"; out("forged_subscribed"); });
  fch.bind("pusher:subscription_error", (e) => { forgedAnswer = "refused"; out("forged_refused", { error: e }); });
  await waitFor(() => forgedAnswer !== null, "forged answered");
  forger.disconnect();

  ann.disconnect();
  clearTimeout(timer);
  out("done");
  process.exit(0);
}

main().catch((e) => { out("crash", { error: String(e && e.stack || e) }); process.exit(1); });
