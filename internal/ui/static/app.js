// Palisade's live updates: subscribes the logged-in member to their private
// channel with the vendored laravel-echo (reverb broadcaster, pusher-js
// underneath) and shows what arrives. Pages work without it.
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="palisade-realtime"]');
  if (!meta || !window.Pusher || !window.Echo) { return; }
  var cfg = JSON.parse(meta.getAttribute("content"));
  var EchoClass = window.Echo.default || window.Echo;
  var echo = new EchoClass({
    broadcaster: "reverb",
    key: cfg.key,
    wsHost: cfg.host,
    wsPort: cfg.port,
    wssPort: cfg.port,
    forceTLS: cfg.tls,
    enabledTransports: ["ws", "wss"],
    authEndpoint: "/api/broadcasting/auth"
  });
  window.palisadeEcho = echo;
  var status = document.getElementById("live-status");
  echo.connector.pusher.connection.bind("state_change", function (s) {
    if (status) { status.setAttribute("data-state", s.current); status.textContent = s.current === "connected" ? "live" : s.current; }
  });
  var list = document.getElementById("live-notices");
  var channel = echo.private(cfg.channel);
  channel.subscribed(function () { if (status) { status.setAttribute("data-subscribed", "true"); } });
  // Other features (file scan status, …) publish "notice" events here, and
  // pages may listen for their own events through window.palisadeEcho.
  channel.listen(".notice", function (e) {
    if (!list) { return; }
    var li = document.createElement("li");
    li.textContent = String(e && e.message ? e.message : "");
    list.appendChild(li);
    list.hidden = false;
  });
  document.dispatchEvent(new CustomEvent("palisade:realtime", { detail: { echo: echo, channel: channel } }));
})();
