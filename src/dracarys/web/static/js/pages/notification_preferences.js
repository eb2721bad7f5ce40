// Notification settings (/notifications/preferences): a channel per category on or off
// (locked categories shown on and disabled; push opt-in) and quiet hours, saved together
// with PUT /api/v1/notifications/preferences; and push on this device: register the
// service worker (/sw.js), ask for permission, subscribe with the platform's VAPID key and
// store the subscription as one of this account's devices, listed with a remove button.

import { api } from "../api.js";
import { byId, clearFormError, el, fill, flash, showFormError, signedInShell, when } from "../ui.js";

const DEVICES = "/api/v1/notifications/push/devices";
// The device this browser was stored as, so the list can say which one it is.
const THIS_DEVICE = "dracarys.push-device";

const CHANNEL_NAMES = { in_app: "In the app", email: "E-mail", sms: "SMS", push: "Push" };

function row(category) {
  const cells = category.channels.map((choice) => {
    const box = el("input", {
      type: "checkbox",
      name: `${category.category}:${choice.channel}`,
      "aria-label": `${CHANNEL_NAMES[choice.channel]} for ${category.label}`,
      checked: choice.enabled,
      disabled: !choice.editable,
      dataset: { category: category.category, channel: choice.channel, editable: String(choice.editable) },
    });
    return el("td", {}, box);
  });
  return el("tr", {},
    el("th", { scope: "row" }, category.label,
      category.locked ? el("div", { class: "hint" }, "Always on") : null),
    ...cells);
}

function show(view) {
  fill(byId("prefs-rows"), ...view.categories.map(row));
  const on = /** @type {HTMLInputElement} */ (byId("quiet-on"));
  on.checked = Boolean(view.quiet_hours);
  if (view.quiet_hours) {
    /** @type {HTMLInputElement} */ (byId("quiet-start")).value = view.quiet_hours.starts_at;
    /** @type {HTMLInputElement} */ (byId("quiet-end")).value = view.quiet_hours.ends_at;
  }
  byId("quiet-zone").textContent = `E-mail, SMS and push that are not critical wait until your quiet hours end (times in ${view.timezone}, your profile's time zone); low-priority ones come together in one e-mail a day.`;
}

async function save(event) {
  event.preventDefault();
  const form = /** @type {HTMLFormElement} */ (byId("prefs-form"));
  clearFormError(form);
  const switches = [...form.querySelectorAll("input[data-category]")]
    .filter((box) => box instanceof HTMLInputElement && box.dataset.editable === "true")
    .map((box) => ({
      category: box.dataset.category,
      channel: box.dataset.channel,
      enabled: /** @type {HTMLInputElement} */ (box).checked,
    }));
  const quietOn = /** @type {HTMLInputElement} */ (byId("quiet-on")).checked;
  const body = {
    switches,
    quiet_hours: quietOn
      ? {
        starts_at: /** @type {HTMLInputElement} */ (byId("quiet-start")).value,
        ends_at: /** @type {HTMLInputElement} */ (byId("quiet-end")).value,
      }
      : null,
  };
  try {
    show(await api("/api/v1/notifications/preferences", { method: "PUT", body }));
    byId("prefs-note").textContent = "Saved.";
  } catch (error) {
    byId("prefs-note").textContent = "";
    showFormError(form, error);
  }
}

// ---- push on this device -------------------------------------------------------------

function pushStatus(text) {
  byId("push-status").textContent = text;
}

function keyBytes(base64url) {
  const base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
  const padded = base64.padEnd(Math.ceil(base64.length / 4) * 4, "=");
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

function sameKey(subscription, publicKey) {
  const key = subscription.options?.applicationServerKey;
  if (!key) return false;
  const mine = new Uint8Array(key);
  const wanted = keyBytes(publicKey);
  return mine.length === wanted.length && mine.every((byte, i) => byte === wanted[i]);
}

async function thisBrowsersSubscription() {
  if (!("serviceWorker" in navigator)) return null;
  const registration = await navigator.serviceWorker.getRegistration("/");
  return registration ? registration.pushManager.getSubscription() : null;
}

async function showDevices() {
  let devices;
  try {
    devices = (await api(DEVICES)).devices;
  } catch (error) {
    pushStatus(`Your devices could not be listed: ${error instanceof Error ? error.message : error}`);
    return;
  }
  const current = localStorage.getItem(THIS_DEVICE);
  byId("push-devices-empty").hidden = devices.length > 0;
  fill(
    byId("push-devices"),
    ...devices.map((device) => {
      const remove = el(
        "button",
        { type: "button", class: "device-revoke", "aria-label": `Remove ${device.label}, added ${when(device.created_at)}` },
        "Remove",
      );
      remove.addEventListener("click", () => removeDevice(device, remove));
      return el(
        "li",
        { class: "device", dataset: { deviceId: device.id } },
        el(
          "div",
          { class: "device-head" },
          el("strong", {}, device.label),
          device.id === current ? el("span", { class: "badge ok" }, "This device") : null,
        ),
        el(
          "p",
          { class: "muted" },
          `Added ${when(device.created_at)}`,
          device.last_used_at ? ` · last push ${when(device.last_used_at)}` : " · no push yet",
        ),
        remove,
      );
    }),
  );
}

async function removeDevice(device, button) {
  button.setAttribute("disabled", "");
  try {
    await api(`${DEVICES}/${device.id}`, { method: "DELETE" });
    if (device.id === localStorage.getItem(THIS_DEVICE)) {
      localStorage.removeItem(THIS_DEVICE);
      await (await thisBrowsersSubscription())?.unsubscribe();
    }
    pushStatus(`${device.label} no longer receives push notifications.`);
  } catch (error) {
    button.removeAttribute("disabled");
    pushStatus(error instanceof Error ? error.message : String(error));
    return;
  }
  await showDevices();
}

async function enablePush() {
  if (!("serviceWorker" in navigator && "PushManager" in window && "Notification" in window)) {
    pushStatus("This browser cannot receive push notifications.");
    return;
  }
  const button = byId("push-enable");
  button.setAttribute("disabled", "");
  try {
    pushStatus("Setting up push on this device…");
    const registration = await navigator.serviceWorker.register("/sw.js", { scope: "/" });
    await navigator.serviceWorker.ready;
    document.body.dataset.serviceWorker = "registered";
    if ((await Notification.requestPermission()) !== "granted") {
      pushStatus("Your browser did not allow notifications from Dracarys. Allow them in this site's settings, then try again.");
      return;
    }
    const { public_key: publicKey } = await api("/api/v1/notifications/push/key");
    let subscription = await registration.pushManager.getSubscription();
    if (subscription && !sameKey(subscription, publicKey)) {
      await subscription.unsubscribe();
      subscription = null;
    }
    try {
      subscription ??= await registration.pushManager.subscribe({
        userVisibleOnly: true,
        applicationServerKey: keyBytes(publicKey),
      });
    } catch (error) {
      document.body.dataset.pushError = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      pushStatus("Your browser could not reach its push service, so push cannot be turned on here right now. Try again later.");
      return;
    }
    const device = await api(DEVICES, { method: "POST", body: subscription.toJSON() });
    localStorage.setItem(THIS_DEVICE, device.id);
    const anyPush = [...document.querySelectorAll("input[data-channel=push]")].some(
      (box) => box instanceof HTMLInputElement && box.checked,
    );
    pushStatus(
      anyPush
        ? `Push is on for this device (${device.label}).`
        : `Push is on for this device (${device.label}). Tick Push for the categories you want, then Save.`,
    );
    await showDevices();
  } catch (error) {
    pushStatus(`Push could not be turned on: ${error instanceof Error ? error.message : error}`);
  } finally {
    button.removeAttribute("disabled");
  }
}

async function main() {
  await signedInShell();
  try {
    show(await api("/api/v1/notifications/preferences"));
  } catch (error) {
    flash(`Could not load your settings: ${error.message}`);
  }
  byId("prefs-form").addEventListener("submit", save);
  byId("push-enable").addEventListener("click", enablePush);
  await showDevices();
  document.body.dataset.ready = "true";
}

main();
