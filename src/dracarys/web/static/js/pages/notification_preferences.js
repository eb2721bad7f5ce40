// Notification settings (/notifications/preferences): a channel per category on or off
// (locked categories shown on and disabled; push shown as coming later) and quiet hours,
// saved together with PUT /api/v1/notifications/preferences.

import { api } from "../api.js";
import { byId, clearFormError, el, fill, flash, showFormError, signedInShell } from "../ui.js";

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
  byId("quiet-zone").textContent = `E-mail and SMS that are not critical wait until your quiet hours end (times in ${view.timezone}, your profile's time zone); low-priority ones come together in one e-mail a day.`;
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

async function main() {
  await signedInShell();
  try {
    show(await api("/api/v1/notifications/preferences"));
  } catch (error) {
    flash(`Could not load your settings: ${error.message}`);
  }
  byId("prefs-form").addEventListener("submit", save);
  document.body.dataset.ready = "true";
}

main();
