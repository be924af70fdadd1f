/* The phone panel of a channel paired by QR code: redrawn as soon as the channel's QR code or
   status changes (its events on the inbox's socket), and every 15 s besides (htmx). */
(() => {
  "use strict";
  const panel = () => document.getElementById("pairing");
  if (!panel()) return;
  const channelId = panel().dataset.channelId;
  const watched = new Set(["channel.pairing_changed", "channel.status_changed"]);
  let attempt = 0;

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const socket = new WebSocket(scheme + location.host + "/ws/inbox");
    socket.onmessage = (message) => {
      const frame = JSON.parse(message.data);
      if (frame.type === "ready") { attempt = 0; return; }
      if (frame.type === "event" && watched.has(frame.name) && frame.data && frame.data.channel_id === channelId) {
        document.body.dispatchEvent(new CustomEvent("pairing-changed"));
      }
    };
    socket.onclose = (closed) => {
      if (closed.code === 4401 || closed.code === 4403) return;
      attempt += 1;
      setTimeout(connect, Math.min(30000, 500 * 2 ** attempt));
    };
  }
  connect();
})();
