// pusher-js user authentication (pusher:signin) against the real Palisade
// stack: userAuthentication posts to the web proxy's
// /api/broadcasting/user-auth with the member's session cookie, the
// official `pusher` SDK sends to the user and terminates their connections,
// and laravel-echo with palisade-echo.js listens on Laravel's
// App.Models.User.<id> notification channel in the tenant's namespace.
// Then the Go test removes member B through the API (told "ready_remove",
// answers "removed" on stdin) and the script reports what B's clients saw.
// Environment: NODE_CLIENTS, HELPER, WS_HOST, WS_PORT, APP_ID, APP_KEY,
// APP_SECRET, API_HOST, API_PORT, MASTER_KEY_B64, PUBLIC, HOST_A, COOKIE_A, USER_A, HOST_B,
// COOKIE_B, USER_B, TENANT.
"use strict";
const fs = require("node:fs");
const http = require("node:http");
const path = require("node:path");
const readline = require("node:readline");
const { createRequire } = require("node:module");
const { pathToFileURL } = require("node:url");

const req = createRequire(path.join(process.env.NODE_CLIENTS, "resolve-from-here.js"));
const Pusher = req("pusher-js");
const PusherSDK = req("pusher");
const palisadeTenantEcho = require(process.env.HELPER);
const env = process.env;

const out = (type, extra = {}) => process.stdout.write(JSON.stringify({ type, ...extra }) + "\n");
setTimeout(() => { out("timeout"); process.exit(1); }, 60000);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(pred, what, ms = 10000) {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error("timed out waiting for " + what);
    await sleep(10);
  }
}

async function loadEcho() {
  const dir = req.resolve.paths("laravel-echo").map((d) => path.join(d, "laravel-echo"))
    .find((d) => fs.existsSync(path.join(d, "package.json")));
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
  const entry = (pkg.exports && pkg.exports["."] && pkg.exports["."].import) || pkg.module || pkg.main;
  return (await import(pathToFileURL(path.join(dir, entry)).href)).default;
}

// A browser sends its cookie to its own origin by itself; in Node the
// documented customHandler makes the same POST through the web proxy, with
// the Host header that names the tenant (fetch would not send it).
function post(urlPath, host, cookie, form, callback) {
  const body = new URLSearchParams(form).toString();
  const rq = http.request(env.PUBLIC + urlPath, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", "Content-Length": Buffer.byteLength(body), Cookie: cookie, Host: host, "Sec-Fetch-Site": "same-origin" },
  }, (rs) => {
    let data = "";
    rs.on("data", (c) => { data += c; });
    rs.on("end", () => {
      if (rs.statusCode !== 200) {
        const e = new Error(urlPath + " answered " + rs.statusCode + ": " + data);
        e.status = rs.statusCode;
        callback(e, null);
        return;
      }
      callback(null, JSON.parse(data));
    });
  });
  rq.on("error", (e) => callback(e, null));
  rq.end(body);
}

function options(host, cookie) {
  return {
    cluster: "palisade", wsHost: env.WS_HOST, wsPort: Number(env.WS_PORT), wssPort: Number(env.WS_PORT),
    forceTLS: false, enabledTransports: ["ws"],
    userAuthentication: {
      customHandler: (params, cb) => post("/api/broadcasting/user-auth", host, cookie, { socket_id: params.socketId }, cb),
    },
    channelAuthorization: {
      customHandler: (params, cb) => post("/api/broadcasting/auth", host, cookie, { socket_id: params.socketId, channel_name: params.channelName }, cb),
    },
  };
}

async function main() {
  const Echo = await loadEcho();
  const sdk = new PusherSDK({ appId: env.APP_ID, key: env.APP_KEY, secret: env.APP_SECRET, host: env.API_HOST, port: env.API_PORT, useTLS: false });

  // A signs in; the SDK sends to A; then terminates A's connections.
  const a = new Pusher(env.APP_KEY, options(env.HOST_A, env.COOKIE_A));
  const notes = [];
  a.user.bind("note", (d) => notes.push(d));
  a.signin();
  await until(() => a.connection.state === "connected", "A connected");
  await a.user.signinDonePromise;
  await until(() => a.user.serverToUserChannel && a.user.serverToUserChannel.subscribed, "A's #server-to-user channel");
  out("signed_in", { user_data: a.user.user_data });
  await sdk.sendToUser(env.USER_A, "note", { text: "hello A" });
  await until(() => notes.length === 1, "sendToUser");
  out("send_to_user", { notes });
  const first = a.connection.socket_id;
  await sdk.terminateUserConnections(env.USER_A);
  await until(() => a.connection.state === "connected" && a.connection.socket_id !== first, "A reconnected");
  await a.user.signinDonePromise;
  await until(() => a.user.serverToUserChannel && a.user.serverToUserChannel.subscribed, "A signed in again");
  await sdk.sendToUser(env.USER_A, "note", { text: "again" });
  await until(() => notes.length === 2, "sendToUser after reconnect");
  out("terminated", { new_socket: true, user_data: a.user.user_data, notes });

  // An encrypted tenant channel, signed by the api with the shared secret
  // it derives from PALISADE_REALTIME_ENCRYPTION_MASTER_KEY; the SDK
  // encrypts with encryptionMasterKeyBase64 and pusher-js decrypts.
  const encName = "private-encrypted-tenant." + env.TENANT + ".secrets";
  const enc = a.subscribe(encName);
  await new Promise((resolve, reject) => {
    enc.bind("pusher:subscription_succeeded", resolve);
    enc.bind("pusher:subscription_error", (e) => reject(new Error(encName + ": " + JSON.stringify(e))));
  });
  const secrets = [];
  enc.bind("secret", (d) => secrets.push(d));
  const encSDK = new PusherSDK({ appId: env.APP_ID, key: env.APP_KEY, secret: env.APP_SECRET, host: env.API_HOST, port: env.API_PORT, useTLS: false, encryptionMasterKeyBase64: env.MASTER_KEY_B64 });
  await encSDK.trigger(encName, "secret", { text: "for acme only" });
  await until(() => secrets.length === 1, "decrypted event");
  out("encrypted", { decrypted: secrets[0] });

  // B: laravel-echo through the helper, on Laravel's notification channel,
  // and signed in with pusher:signin on the same socket.
  const echoB = palisadeTenantEcho(new Echo({ broadcaster: "reverb", Pusher, key: env.APP_KEY, ...options(env.HOST_B, env.COOKIE_B) }), env.TENANT);
  const pb = echoB.connector.pusher;
  const bNotes = [];
  let bSubscribed = false;
  const bErrors = [];
  echoB.private("App.Models.User." + env.USER_B)
    .subscribed(() => { bSubscribed = true; })
    .error((e) => bErrors.push(e))
    .notification((n) => bNotes.push(n));
  let bSigninErrors = [];
  pb.user.bind("pusher:signin_error", (e) => bSigninErrors.push(e));
  pb.signin();
  await until(() => bSubscribed, "B on App.Models.User");
  await pb.user.signinDonePromise;
  const laravelChannel = "private-tenant." + env.TENANT + ".App.Models.User." + env.USER_B;
  await sdk.trigger(laravelChannel, "Illuminate\\Notifications\\Events\\BroadcastNotificationCreated",
    { id: "n1", type: "App\\Notifications\\InvoicePaid", message: "paid" });
  await until(() => bNotes.length === 1, "B's notification");
  out("notification", { channel: echoB.tenantChannel("App.Models.User." + env.USER_B), notes: bNotes, user_data: pb.user.user_data });

  // Echo's encryptedPrivate through the helper: the same tenant channel.
  const bSecrets = [];
  let bEncOK = false;
  echoB.encryptedPrivate("secrets").subscribed(() => { bEncOK = true; }).listen(".secret", (d) => bSecrets.push(d));
  await until(() => bEncOK, "B on the encrypted channel");
  await encSDK.trigger(encName, "secret", { text: "for B too" });
  await until(() => bSecrets.length === 1, "B decrypted");
  out("echo_encrypted", { decrypted: bSecrets[0] });

  // A cannot have B's Laravel channel signed.
  const stolen = a.subscribe(laravelChannel);
  const stolenErr = await new Promise((resolve) => {
    stolen.bind("pusher:subscription_error", resolve);
    stolen.bind("pusher:subscription_succeeded", () => resolve(null));
  });
  out("stolen", { error: stolenErr });

  // The Go test removes B from the tenant; the API terminates B's sockets,
  // and the reconnected socket is refused both signin and the channel.
  const bFirst = pb.connection.socket_id;
  out("ready_remove");
  const rl = readline.createInterface({ input: process.stdin });
  await new Promise((resolve) => rl.once("line", resolve));
  await until(() => pb.connection.socket_id !== bFirst && pb.connection.state === "connected", "B's socket terminated and reconnected");
  await until(() => bSigninErrors.length > 0 && bErrors.length > 0, "B refused after removal");
  out("removed", { signin_error: bSigninErrors[0], channel_error: bErrors[0], signed_in: pb.user.user_data });
  // The helper's leave() leaves the tenant-scoped channel.
  echoB.leave("App.Models.User." + env.USER_B);
  out("left", { still_subscribed: !!pb.channel(laravelChannel) });
  a.disconnect(); echoB.disconnect(); rl.close();
  out("done");
  process.exit(0);
}

main().catch((e) => { out("error", { message: String(e && e.stack || e) }); process.exit(1); });
