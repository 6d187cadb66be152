// Drives the unmodified pusher-js (browser client), the official `pusher`
// server SDK and raw `ws` against two Palisade realtime replicas (A, B) on
// one Redis, and a third server (C) with short activity and pong timeouts.
// Prints one JSON line per result; realtime's TestPusherClientsParity
// asserts on them. Channel and user auth go to the Go test's stand-in for
// the API (AUTH_URL, USER_AUTH_URL), which signs with realtime's own
// functions. Webhooks are received here and checked with the SDK's
// webhook validation: the script prints "hook_url" and waits for "go" on
// stdin (the Go sink posts there from then on).
// Environment: NODE_CLIENTS, HOST, PORT_A, PORT_B, PORT_C, APP_ID, APP_KEY,
// APP_SECRET, AUTH_URL, USER_AUTH_URL, MASTER_KEY_B64.
"use strict";
const http = require("node:http");
const path = require("node:path");
const readline = require("node:readline");
const { createRequire } = require("node:module");

const req = createRequire(path.join(process.env.NODE_CLIENTS, "resolve-from-here.js"));
const PusherJS = req("pusher-js");
const PusherSDK = req("pusher");
const WebSocket = req("ws");

const env = process.env;
const out = (type, extra = {}) => process.stdout.write(JSON.stringify({ type, ...extra }) + "\n");
setTimeout(() => { out("timeout", { step: currentStep }); process.exit(1); }, 90000);
let currentStep = "start";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(pred, what, ms = 10000) {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error("timed out waiting for " + what);
    await sleep(10);
  }
}

function client(port, tenant, user, extra = {}, watch = "") {
  const headers = { "X-Test-Tenant": String(tenant), "X-Test-User": String(user) };
  if (watch) headers["X-Test-Watch"] = watch;
  return new PusherJS(env.APP_KEY, {
    cluster: "palisade", // required by pusher-js 8, unused with wsHost
    wsHost: env.HOST, wsPort: Number(port), wssPort: Number(port),
    forceTLS: false, enabledTransports: ["ws"],
    channelAuthorization: { endpoint: env.AUTH_URL, transport: "ajax", headers },
    userAuthentication: { endpoint: env.USER_AUTH_URL, transport: "ajax", headers },
    ...extra,
  });
}

function sdk(port, extra = {}) {
  return new PusherSDK({
    appId: env.APP_ID, key: env.APP_KEY, secret: env.APP_SECRET,
    host: env.HOST, port: String(port), useTLS: false, ...extra,
  });
}

const connected = (p) => until(() => p.connection.state === "connected", "connection");
function subscribed(p, name) {
  const ch = p.subscribe(name);
  return new Promise((resolve, reject) => {
    ch.bind("pusher:subscription_succeeded", () => resolve(ch));
    ch.bind("pusher:subscription_error", (e) => reject(new Error(name + ": " + JSON.stringify(e))));
  });
}
async function json(resp) { return JSON.parse(await resp.text()); }

// 1. One sequential publisher alternating between the replicas; pusher-js
// subscribers on both must see the channel's order.
async function order() {
  const subs = [client(env.PORT_A, 7, 1), client(env.PORT_B, 7, 2), client(env.PORT_A, 7, 3), client(env.PORT_B, 7, 4)];
  const got = subs.map(() => []);
  await Promise.all(subs.map(async (p, k) => {
    await connected(p);
    const ch = await subscribed(p, "ticker");
    ch.bind("tick", (d) => got[k].push(d.i));
  }));
  const pubs = [sdk(env.PORT_A), sdk(env.PORT_B)];
  const n = 200;
  for (let i = 0; i < n; i++) {
    const r = await pubs[i % 2].trigger("ticker", "tick", { i });
    if (r.status !== 200) throw new Error("trigger " + r.status);
  }
  await until(() => got.every((g) => g.length >= n), "200 ticks everywhere");
  got.forEach((g, k) => {
    let outOfOrder = 0;
    g.forEach((v, i) => { if (v !== i) outOfOrder++; });
    out("order", { subscriber: k, replica: "AB"[k % 2], received: g.length, out_of_order: outOfOrder });
  });
  subs.forEach((p) => p.disconnect());
}

// 2. pusher-js signs in (userAuthentication); the SDK sends to the user
// through the other replica and then terminates the user's connections.
async function signin() {
  const user = client(env.PORT_A, 7, 5);
  const bystander = client(env.PORT_B, 7, 6, {}, "5");
  await Promise.all([connected(user), connected(bystander)]);
  const notes = [];
  user.user.bind("note", (d) => notes.push(d));
  user.signin();
  await user.user.signinDonePromise;
  // The bystander watches user 5 (already online: told at signin).
  const watched = [];
  for (const name of ["online", "offline"]) {
    bystander.user.watchlist.bind(name, (e) => e.user_ids.forEach((id) => watched.push(name + ":" + id)));
  }
  bystander.signin();
  await bystander.user.signinDonePromise;
  await until(() => watched.length === 1, "watchlist online at signin");
  out("signed_in", { user_data: user.user.user_data });
  // The server-to-user subscription is sent after signin_success; give it
  // a moment to land before sending.
  await until(() => user.user.serverToUserChannel && user.user.serverToUserChannel.subscribed, "#server-to-user subscription");
  const b = sdk(env.PORT_B);
  const r = await b.sendToUser("5", "note", { text: "for 5" });
  await until(() => notes.length === 1, "sendToUser event");
  out("send_to_user", { status: r.status, notes });

  const before = user.connection.socket_id, bystanderBefore = bystander.connection.socket_id;
  const states = [];
  user.connection.bind("state_change", (s) => states.push(s.current));
  const t = await b.terminateUserConnections("5");
  // 4200 tells pusher-js to reconnect at once: a new socket, signed in again.
  await until(() => user.connection.state === "connected" && user.connection.socket_id !== before, "reconnect after terminate");
  await user.user.signinDonePromise;
  await until(() => watched.length === 3, "watchlist offline and online again");
  out("watchlist", { events: watched });
  out("terminated", {
    status: t.status, states, new_socket: user.connection.socket_id !== before,
    bystander_same_socket: bystander.connection.socket_id === bystanderBefore && bystander.connection.state === "connected",
    signed_in_again: !!(user.user.user_data && user.user.user_data.id === "5"),
  });
  // The SDK's own validation refuses a bad user id before sending; a raw
  // request to the server gets its 400.
  const bad = await b.post({ path: "/users/x%20y/terminate_connections", body: {} }).then((r) => r.status, (e) => e.status || String(e));
  out("terminate_bad_user", { status: bad });
  user.disconnect(); bystander.disconnect();
}

// 3. Cache channels: a subscriber before any event gets pusher:cache_miss
// (and the cache_miss webhook goes out); a late one gets the last event.
async function cache() {
  const results = {};
  for (const name of ["cache-prices", "private-cache-tenant.7.feed", "presence-cache-tenant.7.room"]) {
    const early = client(env.PORT_A, 7, 1);
    await connected(early);
    let miss = 0;
    const ch = early.subscribe(name);
    ch.bind("pusher:cache_miss", () => miss++);
    await new Promise((resolve, reject) => {
      ch.bind("pusher:subscription_succeeded", resolve);
      ch.bind("pusher:subscription_error", (e) => reject(new Error(name + ": " + JSON.stringify(e))));
    });
    await until(() => miss === 1, "cache_miss on " + name);
    const pub = sdk(env.PORT_B);
    await pub.trigger(name, "price", { v: 1 });
    await pub.trigger(name, "price", { v: 2 });
    const late = client(env.PORT_B, 7, 2);
    await connected(late);
    const seen = [];
    let lateMiss = 0;
    const lch = late.subscribe(name);
    lch.bind("price", (d) => seen.push(d.v));
    lch.bind("pusher:cache_miss", () => lateMiss++);
    await until(() => seen.length === 1, "cached event on " + name);
    await sleep(200);
    results[name] = { early_miss: miss, late_seen: seen, late_miss: lateMiss };
    early.disconnect(); late.disconnect();
  }
  out("cache", { results });
  await until(() => hooks.filter((e) => e.name === "cache_miss").length >= 3, "three cache_miss webhooks");
  out("cache_hooks", { channels: hooks.filter((e) => e.name === "cache_miss").map((e) => e.channel).sort(), invalid: badHooks });
}

// 4. info attributes as the SDK reads them, and Reverb's GET /connections.
async function info() {
  const room = "presence-tenant.7.lobby";
  const ps = [client(env.PORT_A, 7, 1), client(env.PORT_B, 7, 2), client(env.PORT_B, 7, 2)];
  await Promise.all(ps.map(async (p) => { await connected(p); await subscribed(p, room); }));
  await subscribed(ps[2], "headlines");
  const a = sdk(env.PORT_A);
  // Occupancy reaches Redis from a background loop.
  let ch;
  for (let i = 0; i < 100 && !(ch && ch.subscription_count === 3); i++) {
    ch = await json(await a.get({ path: "/channels/" + room, params: { info: "subscription_count,user_count" } }));
    if (ch.subscription_count !== 3) await sleep(100);
  }
  const list = await json(await a.get({ path: "/channels", params: { filter_by_prefix: "presence-", info: "user_count" } }));
  const trig = await json(await a.trigger([room, "headlines"], "e", {}, { info: "subscription_count,user_count" }));
  const users = await json(await a.get({ path: "/channels/" + room + "/users" }));
  // Other replicas' connections count as of their last heartbeat.
  let conns;
  for (let i = 0; i < 100 && !(conns && conns.connections === 3); i++) {
    conns = await json(await a.get({ path: "/connections" }));
    if (conns.connections !== 3) await sleep(100);
  }
  const bad = await a.get({ path: "/channels/headlines", params: { info: "user_count" } }).then((r) => r.status, (e) => e.status);
  out("info", { channel: ch, list, trigger: trig, users, connections: conns, bad_status: bad });
  ps.forEach((p) => p.disconnect());
}

// 5. End-to-end encryption: the SDK encrypts with the master key, pusher-js
// decrypts with the shared secret the auth endpoint derived; the wire only
// carries ciphertext.
async function encrypted() {
  const name = "private-encrypted-tenant.7.secrets";
  const p = client(env.PORT_A, 7, 1);
  await connected(p);
  const raw = [];
  p.connection.bind("message", (m) => { if (m.channel === name && m.event === "secret") raw.push(m.data); });
  const ch = await subscribed(p, name);
  const got = [];
  ch.bind("secret", (d) => got.push(d));
  const s = sdk(env.PORT_B, { encryptionMasterKeyBase64: env.MASTER_KEY_B64 });
  await s.trigger(name, "secret", { text: "only for 7" });
  await until(() => got.length === 1, "decrypted event");
  const wire = typeof raw[0] === "string" ? raw[0] : JSON.stringify(raw[0]);
  out("encrypted", { decrypted: got[0], wire_has_plaintext: wire.includes("only for 7"), wire_has_nonce: wire.includes("nonce") });
  // Another tenant's encrypted channel: the auth endpoint refuses it.
  const foreign = p.subscribe("private-encrypted-tenant.8.secrets");
  const err = await new Promise((resolve) => {
    foreign.bind("pusher:subscription_error", resolve);
    foreign.bind("pusher:subscription_succeeded", () => resolve(null));
  });
  out("encrypted_foreign", { error: err });
  p.disconnect();
}

// 6. Server C has a 1 s activity timeout and a 1 s pong timeout: pusher-js
// learns the timeout from connection_established and keeps its socket by
// pinging and answering pings; a raw ws client that never answers the
// server's ping is closed with 4201.
async function timeouts() {
  const p = client(env.PORT_C, 7, 1);
  await connected(p);
  const first = p.connection.socket_id;
  const activity = p.connection.activityTimeout;
  await sleep(4000);
  const stayed = p.connection.state === "connected" && p.connection.socket_id === first;
  p.disconnect();

  const ws = new WebSocket(`ws://${env.HOST}:${env.PORT_C}/app/${env.APP_KEY}?protocol=7&client=raw&version=8.23.0`);
  ws.on("ping", () => {}); // WebSocket-level pings are answered by ws itself
  const frames = [];
  const started = Date.now();
  ws.on("message", (m) => frames.push(JSON.parse(m.toString()).event));
  const close = await new Promise((resolve) => ws.on("close", (code) => resolve({ code, after_ms: Date.now() - started })));
  out("timeouts", { activity_timeout_ms: activity, pusher_js_stayed: stayed, raw_frames: frames, raw_close: close });
}

const hooks = [];
let badHooks = 0;

async function main() {
  const verifier = sdk(env.PORT_A);
  const srv = http.createServer((rq, rs) => {
    let body = "";
    rq.on("data", (c) => { body += c; });
    rq.on("end", () => {
      const wh = verifier.webhook({ headers: rq.headers, rawBody: body });
      if (!wh.isValid()) { badHooks++; rs.writeHead(401); rs.end(); return; }
      hooks.push(...wh.getEvents());
      rs.writeHead(200); rs.end();
    });
  });
  await new Promise((r) => srv.listen(0, "127.0.0.1", r));
  out("hook_url", { url: `http://127.0.0.1:${srv.address().port}/pusher/webhooks` });
  const rl = readline.createInterface({ input: process.stdin });
  await new Promise((resolve) => rl.once("line", resolve));

  for (const [name, step] of Object.entries({ order, signin, cache, info, encrypted, timeouts })) {
    currentStep = name;
    try { await step(); } catch (e) { out("error", { step: name, message: String(e && e.stack || e) }); }
  }
  out("done");
  rl.close(); srv.close();
  process.exit(0);
}

main().catch((e) => { out("error", { step: currentStep, message: String(e && e.stack || e) }); process.exit(1); });
