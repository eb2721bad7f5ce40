// The browser side of `/api/v1/stream` (protocol: streams/protocol.py). One connection per
// page: authenticate in the first frame, subscribe to channels, answer heartbeats, and
// after a drop reconnect with backoff and resume every channel after the last sequence
// number handed to the page — so a message is delivered once, in order, or the page is
// told to reload that channel's state from the REST API (`onResync`).

import { accessToken, refreshSession, goToSignIn } from "./api.js";

/** Close codes after which the same credentials will not work (streams/protocol.py). */
const CLOSE_UNAUTHORIZED = 4401;
const FATAL = new Set([1008, 4400]);
// setTimeout holds its delay in a signed 32-bit integer of milliseconds (about 24.8 days).
const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/**
 * @typedef {object} ChannelHandlers
 * @property {(data: any, seq: number) => void} onMessage  one message, in order, never twice
 * @property {(seq: number) => void} [onResync]  history lost: reload from the REST API
 * @property {(detail: string) => void} [onDenied]  the server refused the subscription
 */

/**
 * @typedef {"connecting"|"live"|"reconnecting"|"offline"|"signed-out"|"refused"} StreamState
 */

export class LiveStream extends EventTarget {
  constructor(url = defaultUrl()) {
    super();
    this.url = url;
    /** @type {Map<string, {handlers: ChannelHandlers, lastSeq: number | null, backfill: number, confirmed: (() => void) | null}>} */
    this.channels = new Map();
    /** @type {WebSocket | null} */
    this.socket = null;
    /** @type {StreamState} */
    this.state = "offline";
    this.attempt = 0;
    this.authenticated = false;
    this.stopped = false;
    this.reauthTimer = 0;
    this.retryTimer = 0;
    this.connecting = false;
    /** @type {string | null} the access token this connection authenticated with */
    this.token = null;
    /** @type {{channel: string, seq: number}[]} the last messages handed to the page (tests and debugging read it) */
    this.received = [];
  }

  /** @param {StreamState} state @param {string} [detail] */
  setState(state, detail = "") {
    this.state = state;
    this.dispatchEvent(new CustomEvent("state", { detail: { state, detail } }));
  }

  start() {
    this.stopped = false;
    this.connect();
    window.addEventListener("online", () => this.reconnectNow());
    return this;
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.reauthTimer);
    clearTimeout(this.retryTimer);
    this.socket?.close(1000, "page closed");
  }

  /**
   * Watch a channel. Without options live messages start now; `afterSeq` resumes after a
   * sequence number the page already showed; `backfill: n` first replays up to the last
   * n messages still in the server's history (e.g. recent bars for a chart).
   * Resolves once the server confirmed (or refused) the subscription.
   * @param {string} channel
   * @param {ChannelHandlers} handlers
   * @param {{afterSeq?: number | null, backfill?: number}} [options]
   * @returns {Promise<void>}
   */
  subscribe(channel, handlers, options = {}) {
    return new Promise((resolve) => {
      this.channels.set(channel, {
        handlers,
        lastSeq: options.afterSeq ?? null,
        backfill: options.backfill || 0,
        confirmed: resolve,
      });
      if (this.authenticated) this.sendSubscribe(channel);
    });
  }

  unsubscribe(channel) {
    this.channels.delete(channel);
    if (this.authenticated) this.send({ op: "unsubscribe", channel });
  }

  confirm(entry) {
    const done = entry.confirmed;
    entry.confirmed = null;
    done?.();
  }

  /** The last sequence number delivered on `channel` (null before the first). */
  lastSeq(channel) {
    return this.channels.get(channel)?.lastSeq ?? null;
  }

  send(frame) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify(frame));
    }
  }

  sendSubscribe(channel) {
    const entry = this.channels.get(channel);
    if (!entry) return;
    const frame = { op: "subscribe", channel };
    if (entry.lastSeq !== null) frame.after_seq = entry.lastSeq;
    this.send(frame);
  }

  async connect() {
    // One connection attempt at a time: a retry timer and an `online` event may both
    // ask, and two sockets would split the subscriptions between them.
    if (this.stopped || this.connecting) return;
    this.connecting = true;
    clearTimeout(this.retryTimer);
    try {
      this.setState(this.attempt === 0 ? "connecting" : "reconnecting");
      const token = await accessToken();
      if (!token) {
        this.setState("signed-out", "sign in again");
        goToSignIn();
        return;
      }
      this.token = token;
      const previous = this.socket;
      const socket = new WebSocket(this.url, ["dracarys.v1"]);
      this.socket = socket;
      this.authenticated = false;
      previous?.close(1000, "replaced");
      socket.addEventListener("open", () => socket.send(JSON.stringify({ op: "auth", token })));
      socket.addEventListener("message", (event) => {
        if (socket !== this.socket) return; // a replaced connection's late frames
        // The server may batch several frames into one WebSocket message, one per line.
        for (const line of String(event.data).split("\n")) if (line) this.onFrame(JSON.parse(line));
      });
      socket.addEventListener("close", (event) => this.onClose(socket, event));
    } finally {
      this.connecting = false;
    }
  }

  reconnectNow() {
    if (this.stopped || this.state === "live") return;
    if (this.socket && this.socket.readyState === WebSocket.CONNECTING) return;
    this.attempt = Math.max(this.attempt, 1);
    this.connect();
  }

  /** @param {any} frame */
  onFrame(frame) {
    switch (frame.op) {
      case "welcome": {
        // A second welcome on the same socket answers a token refresh: nothing to resume.
        const first = !this.authenticated;
        this.authenticated = true;
        this.attempt = 0;
        this.setState("live");
        this.scheduleReauth(frame.expires_at);
        if (first) for (const channel of this.channels.keys()) this.sendSubscribe(channel);
        break;
      }
      case "subscribed": {
        const entry = this.channels.get(frame.channel);
        if (!entry) break;
        if (entry.lastSeq === null && entry.backfill > 0 && frame.seq > 0) {
          // Ask again from `backfill` messages back; the replay arrives before live ones.
          entry.lastSeq = Math.max(0, frame.seq - entry.backfill);
          entry.backfill = 0;
          this.sendSubscribe(frame.channel);
        } else if (entry.lastSeq === null) {
          // Without a resume point, live messages start after the position reported here.
          entry.lastSeq = frame.seq;
        }
        this.confirm(entry);
        break;
      }
      case "message":
        this.onMessage(frame);
        break;
      case "resync": {
        const entry = this.channels.get(frame.channel);
        if (!entry) break;
        entry.lastSeq = frame.seq;
        this.confirm(entry);
        entry.handlers.onResync?.(frame.seq);
        break;
      }
      case "error": {
        const entry = frame.channel ? this.channels.get(frame.channel) : null;
        if (entry) {
          this.confirm(entry);
          entry.handlers.onDenied?.(frame.detail);
        }
        this.dispatchEvent(new CustomEvent("error", { detail: frame }));
        break;
      }
      case "ping":
        this.send({ op: "pong" });
        break;
      default:
        break;
    }
  }

  onMessage(frame) {
    const entry = this.channels.get(frame.channel);
    if (!entry) return;
    const last = entry.lastSeq;
    if (last !== null && frame.seq <= last) return; // a duplicate: already shown
    if (last !== null && frame.seq > last + 1) {
      // A gap: ask again from the last message shown; the server replays or resyncs.
      this.sendSubscribe(frame.channel);
      return;
    }
    entry.lastSeq = frame.seq;
    this.received.push({ channel: frame.channel, seq: frame.seq });
    if (this.received.length > 2000) this.received.splice(0, 1000);
    entry.handlers.onMessage(frame.data, frame.seq);
  }

  /** Send a fresh token a minute before the current one expires (the server would close). */
  scheduleReauth(expiresAtSeconds) {
    clearTimeout(this.reauthTimer);
    const wait = Math.max(5_000, expiresAtSeconds * 1000 - Date.now() - 60_000);
    if (wait > MAX_TIMER_DELAY_MS) {
      // Browsers fire a longer timer at once: wait in steps until the real time comes.
      this.reauthTimer = window.setTimeout(
        () => this.scheduleReauth(expiresAtSeconds), MAX_TIMER_DELAY_MS);
      return;
    }
    this.reauthTimer = window.setTimeout(async () => {
      const session = await refreshSession(this.token);
      if (session) {
        this.token = session.access_token;
        this.send({ op: "auth", token: session.access_token });
        // The server answers a re-auth with a new welcome, which schedules the next one.
      }
    }, wait);
  }

  /** @param {WebSocket} socket @param {CloseEvent} event */
  async onClose(socket, event) {
    if (socket !== this.socket) return;
    this.authenticated = false;
    clearTimeout(this.reauthTimer);
    if (this.stopped) {
      this.setState("offline");
      return;
    }
    if (event.code === CLOSE_UNAUTHORIZED) {
      const session = await refreshSession(this.token);
      if (!session) {
        this.setState("signed-out", "your session has ended");
        goToSignIn();
        return;
      }
    } else if (FATAL.has(event.code)) {
      this.setState("refused", event.reason || "the server refused the connection");
      return;
    }
    this.attempt += 1;
    // Exponential backoff with jitter, capped at 15 s, so a restarted server is not stormed.
    const delay = Math.min(15_000, 500 * 2 ** Math.min(this.attempt - 1, 5));
    this.setState("reconnecting", event.reason || "connection lost");
    this.retryTimer = window.setTimeout(() => this.connect(), delay / 2 + Math.random() * delay / 2);
  }
}

function defaultUrl() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/api/v1/stream`;
}
