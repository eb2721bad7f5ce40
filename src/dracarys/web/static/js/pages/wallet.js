// Wallet: balances per currency, the history with its running balance, withdrawals to
// M-Pesa with the two-factor step-up, invoices as PDFs, and converting points. Every rule
// and figure comes from the API (the wallet's withdrawal policy, the points conversion
// policy); amounts are typed and shown in major units with their currency.
//
// The top-up panel is topup.js's. This page reloads its figures when a top-up lands
// (`wallet:changed` on document) and when the wallet's events arrive live on the
// caller's `notifications:{id}` channel; each such `wallet.changed` frame is passed on
// as a `wallet:live` event on document (detail: the frame) for the other panels.

import { ApiError, accessToken, api } from "../api.js";
import { LiveStream } from "../stream.js";
import { mountTopUp } from "../topup.js";
import {
  bindConnectionBadge, byId, clearFormError, el, fillTable, flash, money, num,
  showFormError, signedInShell, when,
} from "../ui.js";

const stream = new LiveStream();
window.__stream = stream;
bindConnectionBadge(stream);

/** @type {any} */ let me = null;
/** @type {any} the wallet's withdrawal policy (GET …/withdrawal-policy) */
let withdrawalPolicy = null;
/** @type {any} the points conversion policy (GET /api/v1/wallet/convert-points/policy) */
let conversionPolicy = null;
let pointsBalance = 0;
/** @type {string | null} */ let historyCursor = null;
/** One key per withdrawal the member means: kept across retries, new after success. */
/** @type {string | null} */ let withdrawalKey = null;
/** @type {{points: number, target: string, key: string} | null} */ let pendingConversion = null;
/**
 * The step-up proof `POST /me/step-up` gave, kept while it lasts: a code is accepted once,
 * so a withdrawal retried after a refusal (the daily limit, say) must not need a new one.
 * @type {{token: string, expiresAt: number} | null}
 */
let stepUpProof = null;

// ---- money and words --------------------------------------------------------------------

/** Digits after the point of a currency's minor unit (2 for KES and USD). */
function minorDigits(currency) {
  try {
    return new Intl.NumberFormat("en-US", { style: "currency", currency })
      .resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    return 2;
  }
}

/**
 * An amount typed in major units ("1,500.50") as integer minor units, without floats;
 * null when it is not a plain positive amount with at most the currency's decimals.
 */
function toMinor(text, currency) {
  const match = /^(\d+)(?:\.(\d*))?$/.exec(String(text).replace(/[\s,]/g, ""));
  if (!match) return null;
  const digits = minorDigits(currency);
  const fraction = match[2] || "";
  if (fraction.length > digits) return null;
  const minor = BigInt(match[1]) * 10n ** BigInt(digits) + BigInt(fraction.padEnd(digits, "0") || "0");
  return minor > BigInt(Number.MAX_SAFE_INTEGER) ? null : Number(minor);
}

/** A server message as a sentence: capital first letter, full stop at the end. */
function sentence(text) {
  const trimmed = String(text || "").trim();
  if (!trimmed) return "";
  const capital = trimmed[0].toUpperCase() + trimmed.slice(1);
  return /[.!?)]$/.test(capital) ? capital : `${capital}.`;
}

/**
 * The error with its messages in words a person can act on: `rewrite(field, message)`
 * may replace a message or move it to another field; validator wording (it quotes field
 * names in backticks) becomes a plain request to check the value.
 * @param {unknown} error
 * @param {(field: string, message: string) => ({field: string, message: string} | null)} [rewrite]
 */
function humane(error, rewrite = () => null) {
  if (!(error instanceof ApiError)) {
    return new ApiError(0, { detail: "The server could not be reached. Check your connection and try again." });
  }
  if (error.status === 429) {
    return new ApiError(429, { detail: "Too many attempts. Wait a few minutes, then try again." });
  }
  if (error.status >= 500) {
    return new ApiError(error.status, { detail: "Something went wrong on our side. Try again in a moment." });
  }
  const errors = error.errors.map(({ field, message }) => {
    const changed = rewrite(field, message);
    if (changed) return changed;
    return { field, message: message.includes("`") ? "Check this value and try again." : sentence(message) };
  });
  const detail = errors.length ? errors[0].message : sentence(error.message);
  return new ApiError(error.status, { ...error.problem, detail, errors });
}

/** Refuse a form before sending it: messages next to the fields they name. */
function refuse(form, problems) {
  showFormError(form, new ApiError(422, { detail: problems[0].message, errors: problems }));
}

function newKey() {
  return crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(36).slice(2)}`;
}

// ---- balances -----------------------------------------------------------------------------

function balanceCard(b) {
  const headingId = `balance-${b.currency}-heading`;
  const stat = (label, amount, name) =>
    el("div", { dataset: { stat: name } }, el("dt", {}, label), el("dd", {}, money(amount, b.currency)));
  const otherHolds = b.pending_out_minor - b.in_escrow_minor - b.withdrawing_minor;
  return el("section", { class: "wallet-balance", "aria-labelledby": headingId, dataset: { currency: b.currency } },
    el("h3", { id: headingId }, b.currency),
    el("dl", { class: "stats" },
      stat("Available", b.available_minor, "available"),
      stat("In escrow", b.in_escrow_minor, "in-escrow"),
      stat("Withdrawing", b.withdrawing_minor, "withdrawing"),
      otherHolds > 0 ? stat("Other holds", otherHolds, "other-holds") : null,
      b.pending_in_minor > 0 ? stat("Top-ups on the way", b.pending_in_minor, "incoming") : null,
      b.held_back_minor > 0 ? stat("Held back (paid out later)", b.held_back_minor, "held-back") : null));
}

async function loadBalances() {
  const { balances } = await api(`/api/v1/wallets/${me.id}/balances`);
  byId("balances").replaceChildren(...balances.map(balanceCard));
  const select = /** @type {HTMLSelectElement} */ (byId("history-currency"));
  if (select.options.length === 1) {
    select.append(...balances.map((b) => el("option", { value: b.currency }, b.currency)));
  }
}

// ---- history ------------------------------------------------------------------------------

const DIRECTIONS = {
  in: { sign: "+", tone: "up", note: null },
  out: { sign: "−", tone: "down", note: null },
  hold: { sign: "−", tone: "down", note: "reserved" },
  release: { sign: "+", tone: "up", note: "given back" },
  incoming: { sign: "", tone: "", note: "awaiting payment" },
  cancelled: { sign: "", tone: "", note: "did not arrive" },
};

function historyRow(item) {
  const direction = DIRECTIONS[item.direction] || DIRECTIONS.in;
  return el("tr", { dataset: { entry: item.entry_id, currency: item.currency } },
    el("td", { class: "col-when" }, when(item.created_at)),
    el("td", {}, item.label,
      direction.note ? el("span", { class: "badge" }, direction.note) : null,
      el("span", { class: "wallet-when" }, when(item.created_at))),
    el("td", { class: `num ${direction.tone}` }, `${direction.sign}${money(item.amount_minor, item.currency)}`),
    el("td", { class: "num" }, money(item.available_after_minor, item.currency)));
}

async function loadHistory(append = false) {
  const query = new URLSearchParams({ limit: "20" });
  const currency = /** @type {HTMLSelectElement} */ (byId("history-currency")).value;
  if (currency) query.set("currency", currency);
  if (append && historyCursor) query.set("cursor", historyCursor);
  const page = await api(`/api/v1/wallets/${me.id}/history?${query}`);
  historyCursor = page.next_cursor;
  const rows = page.items.map(historyRow);
  if (append) byId("history-rows").append(...rows);
  else fillTable(byId("history-rows"), rows, "Nothing has moved in your wallet yet.");
  byId("history-more").hidden = !historyCursor;
}

// ---- withdrawals --------------------------------------------------------------------------

/** The limits of the currency M-Pesa pays in, as the wallet policy reports them. */
function mpesaLimits() {
  return withdrawalPolicy?.limits.find((l) => l.methods.includes("mpesa")) || null;
}

function renderWithdrawalRules() {
  const limits = mpesaLimits();
  const rules = byId("withdraw-rules");
  if (!withdrawalPolicy || !limits) {
    rules.replaceChildren(el("li", {}, "Withdrawals to M-Pesa are not available."));
    byId("wd-submit").setAttribute("disabled", "");
    return;
  }
  const { currency } = limits;
  const verified = withdrawalPolicy.kyc_level >= withdrawalPolicy.required_kyc_level;
  rules.replaceChildren(
    el("li", { dataset: { rule: "kyc" } },
      `Needs identity verification (KYC level ${withdrawalPolicy.required_kyc_level}); yours is level ${withdrawalPolicy.kyc_level}.`),
    el("li", { dataset: { rule: "step-up" } },
      `From ${money(limits.step_up_threshold_minor, currency)} up, we ask for a code from your authenticator app.`),
    el("li", { dataset: { rule: "daily" } },
      `Up to ${money(limits.daily_limit_minor, currency)} a day (UTC); ${money(limits.remaining_today_minor, currency)} left today.`));
  byId("wd-amount-label").textContent = `Amount (${currency})`;
  byId("wd-amount-hint").textContent = `In ${currency}, whole amounts, e.g. 1500.`;
  byId("wd-code-hint").textContent =
    `Withdrawals of ${money(limits.step_up_threshold_minor, currency)} or more need it.`;
  byId("withdraw-kyc").hidden = verified;
  const submit = byId("wd-submit");
  if (verified) submit.removeAttribute("disabled");
  else submit.setAttribute("disabled", "");
}

/** Show the code field (or the two-factor set-up link) once the amount needs a step-up. */
function updateStepUp() {
  const limits = mpesaLimits();
  if (!limits) return;
  const amount = toMinor(/** @type {HTMLInputElement} */ (byId("wd-amount")).value, limits.currency);
  const needsCode = amount !== null && amount >= limits.step_up_threshold_minor;
  byId("wd-code-field").hidden = !needsCode || !me.two_factor_enabled;
  byId("wd-two-factor").hidden = !needsCode || me.two_factor_enabled;
}

const PAYOUT_STATUS = {
  queued: "Queued",
  sending: "Sending to M-Pesa",
  sent: "Sent; waiting for M-Pesa",
  completed: "Paid out",
  failed: "Failed; money back in your wallet",
  needs_review: "Being checked by our team",
  awaiting_bank_transfer: "Waiting for the bank transfer",
};

async function loadPolicy() {
  withdrawalPolicy = await api(`/api/v1/wallets/${me.id}/withdrawal-policy`);
  renderWithdrawalRules();
  updateStepUp();
}

async function loadPayouts() {
  const payouts = await api(`/api/v1/wallets/${me.id}/payouts?limit=10`);
  fillTable(byId("payout-rows"), payouts.map((p) => el("tr", { dataset: { payout: p.id, status: p.status } },
    el("td", {}, when(p.created_at)),
    el("td", { class: "num" }, money(p.amount_minor, p.currency)),
    el("td", {}, PAYOUT_STATUS[p.status] || p.status))), "No withdrawals yet.");
}

/** A step-up token for this withdrawal: the one held while it has 15 s left, else new. */
function stepUpHeld() {
  return Boolean(stepUpProof && stepUpProof.expiresAt - Date.now() > 15_000);
}

async function stepUpToken(code) {
  if (stepUpProof && stepUpHeld()) return stepUpProof.token;
  const proof = await api("/api/v1/me/step-up", { method: "POST", body: { code } });
  stepUpProof = { token: proof.step_up_token, expiresAt: Date.now() + proof.expires_in * 1000 };
  return proof.step_up_token;
}

/** A refused step-up or withdrawal, in words, next to the field to fix. */
function withdrawalError(error) {
  if (error instanceof ApiError && error.errors.some((e) => e.field === "kyc_level")) {
    byId("withdraw-kyc").hidden = false;
  }
  return humane(error, (field, message) => {
    if (field === "kyc_level") {
      return { field, message: "Withdrawals need a verified identity. Verify your identity first." };
    }
    if (/enable two-factor/i.test(message)) {
      byId("wd-two-factor").hidden = false;
      byId("wd-code-field").hidden = true;
      return { field: "totp_code", message: "Turn on two-factor authentication in your account first." };
    }
    if (field === "code" || field === "totp_code" || field === "step_up_token") {
      return {
        field: "totp_code",
        message: /expired|not valid/i.test(message)
          ? "The confirmation expired. Enter a fresh code from your authenticator app."
          : "That code is wrong or was already used. Enter the next code your app shows.",
      };
    }
    if (field === "amount_minor" && /enough available funds/.test(message)) {
      return { field, message: "Your available balance is not enough for this withdrawal." };
    }
    return null;
  });
}

async function submitWithdrawal(event) {
  event.preventDefault();
  const form = /** @type {HTMLFormElement} */ (event.currentTarget);
  clearFormError(form);
  const limits = mpesaLimits();
  if (!limits) return;
  const { currency } = limits;
  const amountInput = /** @type {HTMLInputElement} */ (byId("wd-amount"));
  const destination = /** @type {HTMLInputElement} */ (byId("wd-destination")).value.trim();
  const code = /** @type {HTMLInputElement} */ (byId("wd-totp_code")).value.trim();
  const amount = toMinor(amountInput.value, currency);
  const problems = [];
  if (amount === null || amount <= 0) {
    problems.push({ field: "amount_minor", message: `Enter an amount in ${currency}, like 1500.` });
  } else if (amount > limits.remaining_today_minor) {
    problems.push({
      field: "amount_minor",
      message: `You can withdraw up to ${money(limits.remaining_today_minor, currency)} more today.`,
    });
  }
  if (destination.replace(/\D/g, "").length < 9) {
    problems.push({ field: "destination", message: "Enter the M-Pesa number to pay, like 0722 000 000." });
  }
  const needsCode = amount !== null && amount >= limits.step_up_threshold_minor;
  if (needsCode && !me.two_factor_enabled) {
    updateStepUp();
    problems.push({ field: "amount_minor", message: "This amount needs two-factor authentication; set it up first." });
  } else if (needsCode && !/^\d{6,8}$/.test(code) && !stepUpHeld()) {
    problems.push({ field: "totp_code", message: "Enter the 6-digit code from your authenticator app." });
  }
  if (problems.length) {
    refuse(form, problems);
    return;
  }
  const button = byId("wd-submit");
  button.setAttribute("disabled", "");
  byId("wd-status").textContent = "Sending your withdrawal…";
  try {
    /** @type {Record<string, unknown>} */
    const body = { amount_minor: amount, currency, method: "mpesa", destination };
    if (needsCode) body.step_up_token = await stepUpToken(code);
    withdrawalKey ??= newKey();
    const payout = await api(`/api/v1/wallets/${me.id}/withdraw`, {
      method: "POST", body, headers: { "Idempotency-Key": withdrawalKey },
    });
    withdrawalKey = null;
    form.reset();
    updateStepUp();
    byId("wd-status").textContent = `Withdrawal of ${money(payout.amount_minor, payout.currency)} ` +
      `requested. Status: ${PAYOUT_STATUS[payout.status] || payout.status}.`;
    await refreshWallet();
  } catch (error) {
    byId("wd-status").textContent = "";
    if (error instanceof ApiError && error.problem.extra?.step_up_required) stepUpProof = null;
    showFormError(form, withdrawalError(error));
  } finally {
    if (withdrawalPolicy && withdrawalPolicy.kyc_level >= withdrawalPolicy.required_kyc_level) {
      button.removeAttribute("disabled");
    }
  }
}

// ---- invoices -----------------------------------------------------------------------------

async function downloadInvoice(invoice) {
  try {
    const token = await accessToken();
    const response = await fetch(`/api/v1/invoices/${invoice.id}/pdf`, {
      headers: token ? { Authorization: `Bearer ${token}` } : {},
    });
    if (!response.ok) throw new Error(String(response.status));
    const url = URL.createObjectURL(await response.blob());
    const link = el("a", { href: url, download: `${invoice.number}.pdf`, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    window.setTimeout(() => URL.revokeObjectURL(url), 60_000);
  } catch {
    flash(`Could not download invoice ${invoice.number}. Try again in a moment.`);
  }
}

async function loadInvoices() {
  const invoices = await api("/api/v1/invoices");
  fillTable(byId("invoice-rows"), invoices.map((invoice) => el("tr", { dataset: { invoice: invoice.number } },
    el("td", {}, invoice.number, invoice.kind === "credit_note" ? el("span", { class: "badge" }, "credit note") : null,
      el("span", { class: "wallet-when" }, when(invoice.issued_at))),
    el("td", { class: "col-when" }, when(invoice.issued_at)),
    el("td", { class: "wallet-wrap" }, invoice.description),
    el("td", { class: "num" }, money(invoice.gross_minor, invoice.currency)),
    el("td", {}, el("button", {
      type: "button",
      class: "link-button",
      "aria-label": `Download ${invoice.number} as PDF`,
      onclick: () => downloadInvoice(invoice),
    }, "Download")))), "No invoices yet: they appear here when you pay for something.");
}

// ---- converting points --------------------------------------------------------------------

const TARGET_WORDS = {
  discount: "a discount code", credit: "wallet credit", mentor_credit: "mentor credit (sessions only)",
};

function targetRule(target) {
  return conversionPolicy?.targets.find((t) => t.target === target) || null;
}

/** What a rule means, in words, from the policy's numbers. */
function ruleWords(rule) {
  if (!rule.cash_equivalent) return "Immediate: the code is yours as soon as you confirm.";
  return `Needs identity verification (KYC level ${rule.needs_kyc_level}); the credit lands in your ` +
    `wallet ${rule.hold_days} days after you confirm.`;
}

function pointsWorth(points) {
  return money(points * conversionPolicy.minor_units_per_point, conversionPolicy.currency);
}

function selectedTarget() {
  const checked = /** @type {HTMLInputElement | null} */ (document.querySelector('#convert-form input[name="target"]:checked'));
  return checked ? checked.value : "discount";
}

function updatePreview() {
  if (!conversionPolicy) return;
  const text = /** @type {HTMLInputElement} */ (byId("cv-points")).value.replace(/[\s,]/g, "");
  byId("cv-preview").textContent = /^\d+$/.test(text) && Number(text) > 0
    ? `Worth ${pointsWorth(Number(text))} as ${TARGET_WORDS[selectedTarget()]}.`
    : `Each point is worth ${pointsWorth(1)}.`;
}

async function loadPoints() {
  const [policy, balance] = await Promise.all([
    api("/api/v1/wallet/convert-points/policy"),
    api("/api/v1/points/balance"),
  ]);
  conversionPolicy = policy;
  pointsBalance = balance.balance;
  byId("points-balance").textContent =
    `You have ${num(pointsBalance, 0)} points, worth ${pointsWorth(pointsBalance)}.`;
  for (const target of ["discount", "credit", "mentor_credit"]) {
    const rule = targetRule(target);
    byId(`cv-rule-${target}`).textContent = rule ? ruleWords(rule) : "Not available.";
  }
  updatePreview();
}

const REDEMPTION_STATUS = {
  fulfilled: (r) => (r.discount_code ? `Code ${r.discount_code}` : "Done"),
  held: (r) => `Held until ${when(r.release_at)}`,
  released: () => "Released to your wallet",
};

async function loadRedemptions() {
  const redemptions = await api("/api/v1/points/redemptions?limit=10");
  fillTable(byId("redemption-rows"), redemptions.map((r) => el("tr", { dataset: { redemption: r.id } },
    el("td", { class: "col-when" }, when(r.created_at)),
    el("td", {}, TARGET_WORDS[r.target] || r.target.replaceAll("_", " "),
      el("span", { class: "wallet-when" }, when(r.created_at))),
    el("td", { class: "num" }, num(r.points, 0)),
    el("td", { class: "num" }, money(r.value_minor, r.currency)),
    el("td", {}, (REDEMPTION_STATUS[r.status] || (() => r.status))(r)))), "No conversions yet.");
}

function closeConfirmation() {
  pendingConversion = null;
  byId("cv-confirm").hidden = true;
  byId("cv-confirm-error").textContent = "";
}

function reviewConversion(event) {
  event.preventDefault();
  const form = /** @type {HTMLFormElement} */ (event.currentTarget);
  clearFormError(form);
  closeConfirmation();
  byId("cv-result").textContent = "";
  if (!conversionPolicy) return;
  const text = /** @type {HTMLInputElement} */ (byId("cv-points")).value.replace(/[\s,]/g, "");
  const points = /^\d+$/.test(text) ? Number(text) : 0;
  if (points <= 0) {
    refuse(form, [{ field: "points", message: "Enter a whole number of points, like 500." }]);
    return;
  }
  if (points > pointsBalance) {
    refuse(form, [{ field: "points", message: `You have ${num(pointsBalance, 0)} points to convert.` }]);
    return;
  }
  const target = selectedTarget();
  const rule = targetRule(target);
  if (!rule) return;
  const kycLevel = me.kyc_level;
  const rules = [ruleWords(rule)];
  const allowed = kycLevel >= rule.needs_kyc_level;
  if (rule.cash_equivalent) {
    const lands = new Date(Date.now() + rule.hold_days * 86_400_000);
    rules.push(allowed
      ? `Your identity is verified (KYC level ${kycLevel}). If you confirm now, the credit lands around ${lands.toLocaleDateString()}.`
      : `Your identity is at KYC level ${kycLevel}; verify it to level ${rule.needs_kyc_level} first.`);
  }
  rules.push(`The ${num(points, 0)} points leave your balance as soon as you confirm.`);
  byId("cv-confirm-text").textContent =
    `Convert ${num(points, 0)} points into ${TARGET_WORDS[target]} worth ${pointsWorth(points)}?`;
  const items = rules.map((r) => el("li", {}, r));
  if (!allowed) items.push(el("li", {}, el("a", { href: "/kyc" }, "Verify your identity")));
  byId("cv-confirm-rules").replaceChildren(...items);
  const confirm = byId("cv-confirm-button");
  if (allowed) confirm.removeAttribute("disabled");
  else confirm.setAttribute("disabled", "");
  pendingConversion = { points, target, key: newKey() };
  byId("cv-confirm").hidden = false;
  (allowed ? confirm : byId("cv-cancel")).focus();
}

async function confirmConversion() {
  if (!pendingConversion) return;
  const { points, target, key } = pendingConversion;
  const button = byId("cv-confirm-button");
  button.setAttribute("disabled", "");
  try {
    const redemption = await api("/api/v1/wallet/convert-points", {
      method: "POST", body: { points, target }, headers: { "Idempotency-Key": key },
    });
    closeConfirmation();
    /** @type {HTMLFormElement} */ (byId("convert-form")).reset();
    byId("cv-result").textContent = redemption.discount_code
      ? `Done: your discount code is ${redemption.discount_code}, worth ${money(redemption.value_minor, redemption.currency)}.`
      : target === "mentor_credit"
        ? `Done: ${money(redemption.value_minor, redemption.currency)} of mentor credit, held until ${when(redemption.release_at)}; ` +
          "then it is a code the checkout offers when you book a session."
        : `Done: ${money(redemption.value_minor, redemption.currency)} of wallet credit, held until ${when(redemption.release_at)}.`;
    await Promise.all([loadPoints(), loadRedemptions()]);
  } catch (error) {
    const plain = humane(error, (field, message) => {
      if (field === "points" && /not enough points/.test(message)) {
        return { field, message: "You do not have that many points." };
      }
      if (field === "target" && /identity/.test(message)) {
        return { field, message: `${target === "mentor_credit" ? "Mentor" : "Wallet"} credit needs a verified identity. Verify your identity first.` };
      }
      return null;
    });
    byId("cv-confirm-error").textContent = plain.message;
    button.removeAttribute("disabled");
  }
}

// ---- refreshing -----------------------------------------------------------------------------

async function refreshWallet() {
  try {
    await Promise.all([loadBalances(), loadHistory(), loadPayouts(), loadPolicy()]);
  } catch (error) {
    flash(`Could not refresh your wallet: ${sentence(error.message)}`);
  }
}

let refreshTimer = 0;
/** Coalesce bursts (a purchase writes several events) into one reload. */
function scheduleRefresh() {
  window.clearTimeout(refreshTimer);
  refreshTimer = window.setTimeout(refreshWallet, 250);
}

function onLiveFrame(frame) {
  if (!frame || frame.type !== "wallet.changed") return;
  byId("wallet-live").textContent = frame.summary;
  byId("wd-status").textContent = "";
  document.dispatchEvent(new CustomEvent("wallet:live", { detail: frame }));
  scheduleRefresh();
}

async function main() {
  me = await signedInShell();
  mountTopUp(me);
  document.addEventListener("wallet:changed", scheduleRefresh);
  byId("withdraw-form").addEventListener("submit", submitWithdrawal);
  byId("wd-amount").addEventListener("input", () => {
    withdrawalKey = null;
    updateStepUp();
  });
  byId("wd-destination").addEventListener("input", () => { withdrawalKey = null; });
  byId("history-currency").addEventListener("change", () => loadHistory().catch((e) => flash(sentence(e.message))));
  byId("history-more").addEventListener("click", () => loadHistory(true).catch((e) => flash(sentence(e.message))));
  byId("convert-form").addEventListener("submit", reviewConversion);
  byId("convert-form").addEventListener("input", () => {
    closeConfirmation();
    updatePreview();
  });
  byId("cv-confirm-button").addEventListener("click", confirmConversion);
  byId("cv-cancel").addEventListener("click", () => {
    closeConfirmation();
    byId("cv-review").focus();
  });
  stream.start();
  // Subscribed before the first read, so a change landing meanwhile is not missed; a
  // stream that cannot connect delays the page by two seconds at most, never blocks it.
  const subscribed = stream.subscribe(`notifications:${me.id}`, {
    onMessage: onLiveFrame, onResync: scheduleRefresh,
  });
  await Promise.race([subscribed, new Promise((resolve) => window.setTimeout(resolve, 2000))]);
  try {
    await Promise.all([
      loadBalances(), loadHistory(), loadPolicy(), loadPayouts(), loadInvoices(), loadPoints(), loadRedemptions(),
    ]);
    flash("");
  } catch (error) {
    flash(`Could not load your wallet: ${sentence(error.message)}`);
  }
  document.body.dataset.ready = "true";
}

main();
