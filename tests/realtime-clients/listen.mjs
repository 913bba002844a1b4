// Listens to the demo helpdesk with the real clients people use: pusher-js on the Pusher-protocol
// websocket (private channel, authorised through the app's auth endpoint) and the `eventsource`
// package on the SSE stream. Prints one JSON line per milestone on stdout:
//   {"ready":"pusher-js"} {"ready":"eventsource"} {"client":..., "event":..., "data":...}
// and exits 0 once both clients received a `notification.created`, or 1 on error/timeout.
//
// Input (env): BASE_URL, COOKIE (the signed-in user's Cookie header), CSRF, CHANNEL, KEY,
// SSE_PATH, AUTH_PATH.
import Pusher from "pusher-js";
import { EventSource } from "eventsource";

const env = (name) => {
  const v = process.env[name];
  if (!v) {
    console.error(`missing env ${name}`);
    process.exit(2);
  }
  return v;
};
const base = new URL(env("BASE_URL"));
const cookie = env("COOKIE");
const csrf = env("CSRF");
const channelName = env("CHANNEL");
const say = (o) => process.stdout.write(JSON.stringify(o) + "\n");
const received = new Set();
const done = (client, event, data) => {
  say({ client, event, data });
  received.add(client);
  if (received.size === 2) process.exit(0);
};
setTimeout(() => {
  console.error("timed out waiting for events");
  process.exit(1);
}, 20000).unref?.();

const pusher = new Pusher(env("KEY"), {
  cluster: "",
  wsHost: base.hostname,
  wsPort: Number(base.port),
  forceTLS: false,
  enabledTransports: ["ws"],
  disableStats: true,
  // In Node the default XHR authorizer cannot send a Cookie header; a custom handler does what
  // the browser does for Laravel Echo: POST the socket id and channel with the session cookie.
  channelAuthorization: {
    customHandler: async ({ socketId, channelName: name }, callback) => {
      try {
        const res = await fetch(new URL(env("AUTH_PATH"), base), {
          method: "POST",
          headers: {
            cookie,
            "X-CSRF-TOKEN": csrf,
            "Content-Type": "application/x-www-form-urlencoded",
            Accept: "application/json",
          },
          body: new URLSearchParams({ socket_id: socketId, channel_name: name }).toString(),
        });
        if (!res.ok) throw new Error(`auth endpoint answered ${res.status}`);
        callback(null, await res.json());
      } catch (e) {
        callback(e, null);
      }
    },
  },
});
pusher.connection.bind("error", (e) => console.error("pusher error", JSON.stringify(e)));
const channel = pusher.subscribe(channelName);
channel.bind("pusher:subscription_succeeded", () => say({ ready: "pusher-js" }));
channel.bind("pusher:subscription_error", (e) => {
  console.error("subscription error", JSON.stringify(e));
  process.exit(1);
});
channel.bind("notification.created", (data) => done("pusher-js", "notification.created", data));

const es = new EventSource(new URL(env("SSE_PATH"), base), {
  fetch: (input, init) => fetch(input, { ...init, headers: { ...init.headers, cookie } }),
});
es.addEventListener("ready", () => say({ ready: "eventsource" }));
es.addEventListener("notification.created", (e) =>
  done("eventsource", "notification.created", JSON.parse(e.data)),
);
es.onerror = (e) => console.error("eventsource error", e && e.message);
