// Shared page chrome and small DOM helpers: the signed-in shell (who am I, sign out, the
// stream's connection badge, the banner asking to verify the e-mail address), flash
// messages, form errors from problem details, and formatting that never invents a value
// (missing numbers render as an em dash).

import {
  ApiError, UNREACHABLE, api, connection, currentSession, downloadFile, goToSignIn, homeFor, signOut,
} from "./api.js";
import { LiveStream } from "./stream.js";

export const DASH = "—";

/**
 * Build an element: el("td", {class: "num"}, "12.5").
 * @param {string} tag
 * @param {Record<string, any>} [attrs]
 * @param {...(Node|string|number|null|undefined)} children
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2), value);
    } else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

/**
 * Replace `node`'s children, leaving out the null and undefined ones as `el` does (the DOM's
 * own replaceChildren would write them as the text "null").
 * @param {Element} node
 * @param {...(Node|string|null|undefined)} children
 */
export function fill(node, ...children) {
  node.replaceChildren(...children.filter((child) => child !== null && child !== undefined));
}

/** @param {string} id */
export function byId(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`#${id} is missing from the page`);
  return node;
}

/** A number as the server sent it, or a dash. `digits` only rounds for display. */
export function num(value, digits = 2) {
  if (value === null || value === undefined || Number.isNaN(Number(value))) return DASH;
  const n = Number(value);
  return n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

/** Digits after the point of a currency's minor unit (2 for USD and KES, 0 for JPY). */
function minorDigits(currency) {
  try {
    return new Intl.NumberFormat("en-US", { style: "currency", currency })
      .resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    return 2;
  }
}

/** Money in minor units (integers on the wire) with its currency. */
export function money(amountMinor, currency = "USD") {
  if (amountMinor === null || amountMinor === undefined) return DASH;
  const digits = minorDigits(currency);
  const value = Number(amountMinor) / 10 ** digits;
  return `${value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits })} ${currency}`;
}

export function pct(value, digits = 2) {
  return value === null || value === undefined ? DASH : `${num(value, digits)}%`;
}

export function when(iso) {
  if (!iso) return DASH;
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : date.toLocaleString();
}

/** Show a message to everyone, screen readers included. */
export function flash(message, kind = "error") {
  const box = document.getElementById("flash");
  if (!box) return;
  box.textContent = message;
  box.dataset.kind = kind;
  box.hidden = !message;
}

/**
 * The control a problem's field names: by its full name (`params.fast`), else by its last
 * part (`bracket.stop_loss` → `stop_loss`); controls outside the form that belong to it
 * (`form="…"`) count too.
 * @param {HTMLFormElement} form
 * @param {string} field
 */
function controlFor(form, field) {
  const leaf = field.split(".").pop() || "";
  for (const name of [field, leaf]) {
    const control = form.elements.namedItem(name);
    if (control instanceof HTMLElement && !(control instanceof RadioNodeList)) return control;
    const inside = form.querySelector(`[name="${CSS.escape(name)}"]`);
    if (inside instanceof HTMLElement) return inside;
  }
  return null;
}

/** The element holding a control's message (`{id}-error`), wherever it sits. */
function slotFor(control) {
  return control.id ? document.getElementById(`${control.id}-error`) : null;
}

/** Forms whose errors already clear themselves as the person edits. */
const clearing = new WeakSet();

/**
 * Clear a field's message as soon as the person changes it (they are fixing it), and a
 * message about the whole form when anything in it changes; a connection error stays
 * until the connection is back.
 * @param {HTMLFormElement} form
 */
function clearAsEdited(form) {
  if (clearing.has(form)) return;
  clearing.add(form);
  const onEdit = (event) => {
    const control = event.target;
    if (!(control instanceof HTMLElement)) return;
    if (control.getAttribute("aria-invalid") === "true") {
      control.removeAttribute("aria-invalid");
      const slot = slotFor(control);
      if (slot) slot.textContent = "";
    }
    const general = form.querySelector(".form-error");
    if (general && !general.hasAttribute("data-unreachable")) general.textContent = "";
  };
  // `input` and `change` bubble to the form, also from controls joined by `form="…"`
  // when they sit inside it; those outside report through their own listeners.
  form.addEventListener("input", onEdit);
  form.addEventListener("change", onEdit);
  for (const control of form.elements) {
    if (control instanceof HTMLElement && !form.contains(control)) {
      control.addEventListener("input", onEdit);
      control.addEventListener("change", onEdit);
    }
  }
}

/**
 * Put a problem's messages next to the fields it names, and the rest in the form error.
 * Each message goes away as soon as its field is edited.
 * @param {HTMLFormElement} form
 * @param {unknown} error
 */
export function showFormError(form, error) {
  clearFormError(form);
  clearAsEdited(form);
  const general = form.querySelector(".form-error");
  if (!(error instanceof ApiError)) {
    if (general) general.textContent = error instanceof Error ? error.message : String(error);
    return;
  }
  if (error.unreachable) {
    if (general) {
      general.textContent = error.message;
      general.setAttribute("data-unreachable", "");
    }
    return;
  }
  let placed = false;
  let first = /** @type {HTMLElement | null} */ (null);
  for (const { field, message } of error.errors) {
    const control = controlFor(form, field);
    if (!control) continue;
    control.setAttribute("aria-invalid", "true");
    first ??= control;
    const slot = slotFor(control);
    if (slot) {
      slot.textContent = asSentence(message);
      placed = true;
    }
  }
  if (general) general.textContent = placed ? "" : asSentence(error.message);
  first?.focus();
}

/** The server's messages are sentence fragments ("the quantity must…"): shown as sentences. */
function asSentence(message) {
  return message ? message[0].toUpperCase() + message.slice(1) : message;
}

/** @param {HTMLFormElement} form */
export function clearFormError(form) {
  for (const control of form.elements) {
    if (!(control instanceof HTMLElement) || !control.hasAttribute("aria-invalid")) continue;
    control.removeAttribute("aria-invalid");
    const slot = slotFor(control);
    if (slot) slot.textContent = "";
  }
  for (const node of form.querySelectorAll(".field-error, .form-error")) node.textContent = "";
  for (const node of form.querySelectorAll("[data-unreachable]")) node.removeAttribute("data-unreachable");
}

/**
 * While the server cannot be reached, say so at the top of the page; when it answers
 * again (or the browser is back online) the notice and every form error that said the
 * same go away.
 */
function showConnectionState() {
  const notice = () => {
    let box = document.getElementById("unreachable");
    if (!box) {
      box = el("div", { id: "unreachable", class: "flash", role: "alert", hidden: true });
      const flashBox = document.getElementById("flash");
      if (flashBox) flashBox.after(box);
      else document.body.prepend(box);
    }
    return box;
  };
  connection.addEventListener("lost", () => {
    const box = notice();
    box.textContent = UNREACHABLE;
    box.hidden = false;
  });
  connection.addEventListener("restored", () => {
    const box = document.getElementById("unreachable");
    if (box) {
      box.hidden = true;
      box.textContent = "";
    }
    for (const node of document.querySelectorAll(".form-error[data-unreachable]")) {
      node.textContent = "";
      node.removeAttribute("data-unreachable");
    }
  });
}
showConnectionState();

/** The form's named inputs as an object of strings (checkboxes as booleans). */
export function formValues(form) {
  /** @type {Record<string, string | boolean>} */
  const values = {};
  for (const element of form.elements) {
    if (!(element instanceof HTMLInputElement || element instanceof HTMLSelectElement ||
      element instanceof HTMLTextAreaElement) || !element.name) continue;
    values[element.name] = element instanceof HTMLInputElement && element.type === "checkbox"
      ? element.checked
      : element.value.trim();
  }
  return values;
}

const STATE_LABELS = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
  offline: "Not connected",
  "signed-out": "Signed out",
  refused: "Refused",
};

/** Mirror a LiveStream's state in the header badge. */
export function bindConnectionBadge(stream) {
  const badge = document.getElementById("connection");
  if (!badge) return;
  badge.hidden = false;
  const label = badge.querySelector(".conn-label");
  stream.addEventListener("state", (event) => {
    const { state, detail } = /** @type {CustomEvent} */ (event).detail;
    badge.dataset.state = state;
    if (label) label.textContent = STATE_LABELS[state] || state;
    badge.title = detail || "";
  });
}

/**
 * The shell of every signed-in page: require a session, show who is signed in, wire
 * sign-out. Resolves with the caller's profile (GET /api/v1/me).
 */
/**
 * The bar's menus (`<details>` in the navigation) behave as menus: opening one closes the
 * others, and Escape or a click elsewhere closes it (focus returns to its label on Escape).
 */
function wireNavMenus() {
  const menus = [...document.querySelectorAll("nav .nav-group details")];
  for (const menu of menus) {
    menu.addEventListener("toggle", () => {
      if (menu instanceof HTMLDetailsElement && menu.open) {
        for (const other of menus) if (other !== menu) other.removeAttribute("open");
      }
    });
  }
  document.addEventListener("click", (event) => {
    for (const menu of menus) if (!menu.contains(/** @type {Node} */ (event.target))) menu.removeAttribute("open");
  });
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    const open = menus.find((menu) => menu.hasAttribute("open"));
    if (!open) return;
    open.removeAttribute("open");
    open.querySelector("summary")?.focus();
  });
}

/**
 * "Download CSV" buttons: a button with `data-download="/api/v1/….csv"` fetches that
 * export with the session's token and saves it (`data-method="POST"` for an export that
 * is itself an audit-logged action). A page whose table has filters keeps the
 * attribute's query in step with them, so the file holds the rows shown.
 */
function wireDownloads() {
  document.addEventListener("click", async (event) => {
    const target = event.target instanceof Element ? event.target.closest("[data-download]") : null;
    if (!(target instanceof HTMLButtonElement) || target.disabled) return;
    target.disabled = true;
    target.setAttribute("aria-busy", "true");
    try {
      const name = await downloadFile(target.dataset.download || "", { method: target.dataset.method || "GET" });
      flash(`Downloaded ${name}.`, "ok");
    } catch (error) {
      flash(`Could not download the file: ${error instanceof Error ? error.message : error}`);
    } finally {
      target.disabled = false;
      target.removeAttribute("aria-busy");
    }
  });
}

export async function signedInShell() {
  if (!currentSession()) {
    goToSignIn();
    throw new Error("not signed in");
  }
  wireNavMenus();
  wireDownloads();
  const signout = document.getElementById("signout");
  signout?.addEventListener("click", () => signOut());
  const me = await api("/api/v1/me");
  const who = document.getElementById("whoami");
  if (who) who.textContent = `${me.name || me.email} · ${me.role}`;
  showVerificationBanner(me);
  for (const item of document.querySelectorAll("nav [data-roles]")) {
    if (item instanceof HTMLElement) item.hidden = !roleMayUse(item, me.role);
  }
  if (!roleMayUse(document.body, me.role)) {
    const main = document.getElementById("main");
    main?.replaceChildren(
      el("h1", {}, "Not allowed"),
      el("p", {}, "Your account may not use this page."),
      el("p", {}, el("a", { href: homeFor(me.role) }, "Go to your home page")),
    );
    throw new Error("this role may not use this page");
  }
  startInboxBadge(me);
  return me;
}

// ---- the inbox badge ----------------------------------------------------------------

let inboxUnread = 0;

/** The Inbox link of the bar carries the unread count, for people and for screen readers. */
function inboxCountNode() {
  const link = document.querySelector('nav a[href="/notifications"]');
  if (!link) return null;
  let count = link.querySelector(".inbox-count");
  if (!count) {
    count = el("span", { class: "inbox-count", id: "inbox-count" });
    link.append(" ", count);
  }
  return { link, count };
}

/** Show `n` unread on the Inbox link (hidden at none); pages that read or archive call it. */
export function setInboxCount(n) {
  inboxUnread = Math.max(0, Number(n) || 0);
  const found = inboxCountNode();
  if (!found) return;
  found.count.textContent = inboxUnread > 99 ? "99+" : String(inboxUnread);
  found.count.hidden = inboxUnread === 0;
  found.link.setAttribute(
    "aria-label", inboxUnread ? `Inbox, ${inboxUnread} unread` : "Inbox",
  );
  document.body.dataset.inboxUnread = String(inboxUnread);
}

/** Read the unread count again (a page that read notifications some other way calls it). */
export async function refreshInboxCount() {
  try {
    setInboxCount((await api("/api/v1/notifications/unread")).unread);
  } catch {
    // The badge is a convenience: the inbox page itself says what went wrong.
  }
}

/**
 * The header badge on every signed-in page: the unread count now, then one more for each
 * notification frame on `notifications:{me.id}` (the stream hands each once, in order;
 * after lost history it is read again). Each frame is also re-dispatched on `window` as
 * an `inbox:notification` event, so the inbox page lists it without a second connection.
 */
function startInboxBadge(me) {
  const stream = new LiveStream();
  stream.start();
  stream.subscribe(`notifications:${me.id}`, {
    onMessage: (data) => {
      if (data?.type !== "notification") return;
      setInboxCount(inboxUnread + 1);
      window.dispatchEvent(new CustomEvent("inbox:notification", { detail: data }));
    },
    onResync: () => refreshInboxCount(),
  });
  refreshInboxCount();
}

/** "45 seconds", "1 minute", "59 minutes", "2 hours": how long to wait, for people. */
export function waitPhrase(seconds) {
  const s = Math.max(1, Math.round(Number(seconds) || 0));
  if (s < 60) return `${s} second${s === 1 ? "" : "s"}`;
  const minutes = Math.ceil(s / 60);
  if (minutes < 120) return `${minutes} minute${minutes === 1 ? "" : "s"}`;
  return `${Math.ceil(minutes / 60)} hours`;
}

/**
 * While the caller's e-mail address is unverified, the banner slot of base.html says so
 * and offers to send the link again (the API allows a few an hour; a 429 is explained).
 * @param {{email: string, email_verified: boolean}} me
 */
export function showVerificationBanner(me) {
  const slot = document.getElementById("account-banner");
  if (!slot) return;
  if (me.email_verified) {
    slot.hidden = true;
    slot.replaceChildren();
    return;
  }
  const status = el("span", { id: "verify-banner-status", class: "banner-status", role: "status" });
  const resend = el("button", { type: "button", id: "verify-resend" }, "Re-send the e-mail");
  resend.addEventListener("click", async () => {
    resend.setAttribute("disabled", "");
    status.textContent = "Sending…";
    try {
      await api("/api/v1/me/email-verification", { method: "POST" });
      status.textContent = `Sent. Open the newest link in your inbox (it works for 24 hours); look in spam if it is not there.`;
    } catch (error) {
      if (error instanceof ApiError && error.status === 429) {
        const wait = waitPhrase(error.problem.extra?.retry_after_s ?? 3600);
        status.textContent = `We have sent you several e-mails already, so we are holding off: you can ask again in ${wait}. The last link we sent still works.`;
      } else if (error instanceof ApiError && error.status === 409) {
        status.textContent = "Your e-mail address is already verified.";
        resend.hidden = true;
        return;
      } else {
        status.textContent = "The e-mail could not be sent just now. Try again in a moment.";
      }
    }
    resend.removeAttribute("disabled");
  });
  slot.replaceChildren(
    el("p", {}, "Confirm your e-mail address: open the link we sent to ", el("strong", {}, me.email), "."),
    resend,
    status,
  );
  slot.hidden = false;
}

/** Whether `role` is among the roles an element (a nav link, the page's body) names. */
function roleMayUse(node, role) {
  const roles = node.dataset.roles;
  return !roles || roles.split(" ").includes(role);
}

/** Render rows into a table body, or an empty-state row spanning every column. */
export function fillTable(tbody, rows, emptyText) {
  tbody.replaceChildren(...rows);
  if (!rows.length) {
    const columns = tbody.closest("table")?.querySelectorAll("thead th").length || 1;
    tbody.append(el("tr", { class: "empty" }, el("td", { colspan: columns }, emptyText)));
  }
}

let operations = /** @type {Promise<Set<string>> | null} */ (null);

/**
 * Whether this server has an API operation (by its OpenAPI operation id), so a page whose
 * API has not shipped says so instead of failing.
 */
export function hasOperation(operationId) {
  operations ??= fetch("/schema/openapi.json")
    .then((response) => (response.ok ? response.json() : { paths: {} }))
    .then((doc) => {
      const ids = new Set();
      for (const item of Object.values(doc.paths || {})) {
        for (const op of Object.values(item)) if (op && op.operationId) ids.add(op.operationId);
      }
      return ids;
    })
    .catch(() => new Set());
  return operations.then((ids) => ids.has(operationId));
}
