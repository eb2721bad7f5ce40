// The wallet page's top-up panel: a card through the hosted checkout page (the app's
// Stripe Checkout session; the sandbox's page in the embedded default), or M-Pesa with a
// prompt approved on the phone. It follows a top-up until the provider's confirmation
// lands (polling the deposit), then says so and dispatches `wallet:changed` on
// `document` for the wallet page to reload. `mountTopUp(me)` is called by pages/wallet.js.

import { ApiError, api } from "./api.js";
import { byId, clearFormError, money, showFormError } from "./ui.js";

const POLL_EVERY_MS = 1500;
// M-Pesa prompts expire on the phone within minutes; a card webhook comes in seconds.
const POLL_FOR_MS = 5 * 60_000;

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
 * An amount typed in major units ("1,500", "1500.50") as minor units, exactly (no
 * floating point); throws an Error whose message names the problem.
 * @param {string} text
 * @param {string} currency
 */
export function toMinor(text, currency) {
  const cleaned = text.replace(/[\s,]/g, "");
  const digits = minorDigits(currency);
  const match = /^(\d+)(?:\.(\d+))?$/.exec(cleaned);
  if (!cleaned) throw new Error("Enter the amount to add.");
  if (!match) throw new Error(`Enter the amount as a number, like 1500 or 1500.50.`);
  const fraction = match[2] || "";
  if (fraction.length > digits) {
    throw new Error(`${currency} amounts have at most ${digits} digits after the point.`);
  }
  const minor = Number(match[1] + fraction.padEnd(digits, "0"));
  if (!Number.isSafeInteger(minor)) throw new Error("That amount is too large.");
  if (minor <= 0) throw new Error("Enter an amount above zero.");
  return minor;
}

/** A problem found before asking the server, shaped as the server's are. */
function fieldProblem(field, message) {
  return new ApiError(422, { detail: message, errors: [{ field, message }] });
}

/** @param {{id: string}} me */
export async function mountTopUp(me) {
  const panel = document.getElementById("topup");
  if (!panel) return;
  const form = /** @type {HTMLFormElement} */ (byId("topup-form"));
  const status = byId("topup-status");
  const phoneLink = byId("topup-phone-link");
  const currency = /** @type {HTMLSelectElement} */ (byId("topup-currency"));
  const submit = /** @type {HTMLButtonElement} */ (byId("topup-submit"));
  const radios = /** @type {HTMLInputElement[]} */ ([
    byId("topup-method-card"), byId("topup-method-mpesa"),
  ]);
  let watching = 0;

  const mode = await api("/api/v1/payments/mode", { auth: false });
  byId("topup-sandbox").hidden = mode.mode !== "sandbox";
  if (!mode.card_available && !mode.mpesa_available) {
    byId("topup-unavailable").hidden = false;
    return;
  }
  form.hidden = false;
  radios[0].disabled = !mode.card_available;
  radios[1].disabled = !mode.mpesa_available;
  if (!mode.card_available) radios[1].checked = true;
  if (mode.sandbox_phone_url) {
    /** @type {HTMLAnchorElement} */ (byId("topup-phone-page")).href = mode.sandbox_phone_url;
  }

  const method = () => (radios[1].checked ? "mpesa" : "stripe");
  function showMethod() {
    const mpesa = method() === "mpesa";
    byId("topup-phone-field").hidden = !mpesa;
    // M-Pesa moves Kenyan shillings only.
    if (mpesa) currency.value = "KES";
    currency.disabled = mpesa;
    submit.textContent = mpesa ? "Send the M-Pesa prompt" : "Continue to card payment";
    clearFormError(form);
  }
  for (const radio of radios) radio.addEventListener("change", showMethod);
  showMethod();

  function say(text, { phone = false } = {}) {
    status.textContent = text;
    phoneLink.hidden = !(phone && mode.sandbox_phone_url);
  }

  async function balanceOf(code) {
    try {
      const wallet = await api(`/api/v1/wallets/${me.id}/balances`);
      const row = wallet.balances.find((b) => b.currency === code);
      return row ? money(row.available_minor, code) : money(0, code);
    } catch {
      return null;
    }
  }

  async function finished(deposit) {
    const amount = money(deposit.amount_minor, deposit.currency);
    if (deposit.status === "completed") {
      const balance = await balanceOf(deposit.currency);
      say(`Added ${amount} to your wallet.` +
        (balance ? ` Your ${deposit.currency} balance is now ${balance}.` : ""));
      /** @type {HTMLInputElement} */ (byId("topup-amount")).value = "";
      document.dispatchEvent(new CustomEvent("wallet:changed", { detail: { deposit } }));
    } else {
      const how = deposit.method === "mpesa" ? "The M-Pesa payment" : "The card payment";
      say(`${how} of ${amount} did not go through` +
        (deposit.failure_reason ? `: ${deposit.failure_reason}.` : ".") +
        " Nothing was added to your wallet.");
      document.dispatchEvent(new CustomEvent("wallet:changed", { detail: { deposit } }));
    }
  }

  /** Follow a deposit until its confirmation lands (or give up saying so). */
  async function watch(depositId) {
    const mine = ++watching;
    const until = Date.now() + POLL_FOR_MS;
    while (mine === watching) {
      let deposit;
      try {
        deposit = await api(`/api/v1/deposits/${depositId}`);
      } catch (error) {
        if (error instanceof ApiError && error.status === 404) {
          say("This top-up was not found.");
          return;
        }
        deposit = null; // offline for a moment: try again
      }
      if (deposit && deposit.status !== "pending") {
        await finished(deposit);
        return;
      }
      if (Date.now() > until) {
        say("Still waiting for the payment to be confirmed. Your balance will show it " +
          "when it is; you can leave this page.");
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_EVERY_MS));
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFormError(form);
    const amountInput = /** @type {HTMLInputElement} */ (byId("topup-amount"));
    const phone = /** @type {HTMLInputElement} */ (byId("topup-phone")).value.trim();
    const chosen = method();
    /** @type {Record<string, unknown>} */
    const body = { method: chosen, currency: currency.value };
    try {
      try {
        body.amount_minor = toMinor(amountInput.value, currency.value);
      } catch (problem) {
        throw fieldProblem("amount_minor", /** @type {Error} */ (problem).message);
      }
      if (chosen === "mpesa") {
        if (!phone) throw fieldProblem("phone", "Enter the phone number that pays with M-Pesa.");
        body.phone = phone;
      }
    } catch (problem) {
      showFormError(form, problem);
      return;
    }
    submit.disabled = true;
    try {
      const deposit = await api(`/api/v1/wallets/${me.id}/deposits`, {
        method: "POST",
        body,
        headers: { "Idempotency-Key": crypto.randomUUID() },
      });
      if (deposit.status !== "pending") {
        await finished(deposit);
      } else if (chosen === "stripe" && deposit.checkout_url) {
        say("Opening the card checkout…");
        location.assign(deposit.checkout_url);
      } else {
        say(`Approve the payment of ${money(deposit.amount_minor, deposit.currency)} on ` +
          `your phone (${phone}). This panel updates when M-Pesa confirms it.`, { phone: true });
        watch(deposit.id);
      }
    } catch (error) {
      showFormError(form, error);
    } finally {
      submit.disabled = false;
    }
  });

  // Back from the card checkout: /wallet?topup=<deposit id>[&cancelled=1].
  const query = new URLSearchParams(location.search);
  const returned = query.get("topup");
  if (returned) {
    history.replaceState(null, "", location.pathname);
    if (query.get("cancelled")) {
      try {
        const deposit = await api(`/api/v1/deposits/${returned}/cancel`, { method: "POST" });
        if (deposit.status === "pending") {
          say("Checking the card payment…");
          watch(returned);
        } else if (deposit.status === "failed") {
          say("Card top-up cancelled; nothing was charged.");
          document.dispatchEvent(new CustomEvent("wallet:changed", { detail: { deposit } }));
        } else {
          await finished(deposit);
        }
      } catch (error) {
        say(error instanceof Error ? error.message : String(error));
      }
    } else {
      say("Card payment sent. Waiting for the payment to be confirmed…");
      watch(returned);
    }
  }
}
