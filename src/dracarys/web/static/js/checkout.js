// The checkout every purchase goes through. `openCheckout({kind, id, ...})` asks the
// server for a quote first — price, discount, total, the VAT the invoice will show, the
// wallet's balance and shortfall, and the refund policy, all as the server computes them —
// and shows it in a dialog. Nothing is charged until "Confirm and pay": only then is the
// purchase itself called (booking, enrolment, subscription or package), with the discount code the
// last quote accepted and one idempotency key per dialog, so a double click pays once.
//
// The promise resolves with the purchase's result, or null when the buyer closes the
// dialog; it rejects when the first quote is refused (the caller knows why: a disclaimer
// to accept, a slot just taken), so the dialog never opens on a purchase that cannot be made.

import { ApiError, api } from "./api.js";
import { clearFormError, el, money, showFormError, when } from "./ui.js";

/**
 * @typedef {object} CheckoutItem
 * @property {"session" | "cohort" | "signal_feed" | "package" | "community_space"} kind
 * @property {string} id  the session type, the cohort, the mentor whose feed is bought,
 *   the package, or the premium community group
 * @property {string} [startsAt]  a session's start (ISO 8601)
 * @property {Record<string, unknown>} [body]  more of the purchase's body (a feed's mirror)
 */

/** Each kind's purchase call, given the code the quote accepted and the dialog's key. */
const PURCHASES = {
  /** @param {CheckoutItem} item @param {string | null} code @param {string} key */
  session: (item, code, key) => api("/api/v1/sessions/book", {
    method: "POST",
    body: {
      session_type_id: item.id, starts_at: item.startsAt, idempotency_key: key,
      ...(code ? { discount_code: code } : {}),
    },
  }),
  /** @param {CheckoutItem} item @param {string | null} code @param {string} key */
  cohort: (item, code, key) => api(`/api/v1/cohorts/${item.id}/join`, {
    method: "POST",
    body: code ? { discount_code: code } : {},
    headers: { "Idempotency-Key": key },
  }),
  /** @param {CheckoutItem} item @param {string | null} code @param {string} key */
  signal_feed: (item, code, key) => api(`/api/v1/trading/mentors/${item.id}/subscriptions`, {
    method: "POST",
    body: { ...(item.body || {}), ...(code ? { discount_code: code } : {}) },
    headers: { "Idempotency-Key": key },
  }),
  /** @param {CheckoutItem} item @param {string | null} code @param {string} key */
  package: (item, code, key) => api(`/api/v1/packages/${item.id}/purchase`, {
    method: "POST",
    body: { idempotency_key: key, ...(code ? { discount_code: code } : {}) },
  }),
  /** @param {CheckoutItem} item @param {string | null} code @param {string} key */
  community_space: (item, code, key) => api(`/api/v1/community/groups/${item.id}/periods`, {
    method: "POST",
    body: code ? { discount_code: code } : {},
    headers: { "Idempotency-Key": key },
  }),
};

/** @param {CheckoutItem} item @param {string | null} code */
function askQuote(item, code) {
  return api("/api/v1/checkout/quote", {
    method: "POST",
    body: {
      kind: item.kind, id: item.id,
      ...(item.startsAt ? { starts_at: item.startsAt } : {}),
      ...(code ? { discount_code: code } : {}),
    },
  });
}

/**
 * The buyer's unspent codes in this currency that may pay for this kind of purchase
 * (mentor credit pays for time with a mentor only: a session or a package), offered as
 * suggestions (none if unavailable).
 */
async function usableCodes(currency, kind) {
  try {
    const codes = await api("/api/v1/wallet/discount-codes");
    return codes.filter((c) => c.status === "usable" && c.currency === currency &&
      (c.pays_for !== "sessions" || kind === "session" || kind === "package"));
  } catch {
    return [];
  }
}

/** "Discount (PTS-…)" or, for a percent promo code, "Promo LAUNCH20 (20% off)". */
function discountLabel(discount) {
  if (discount.kind !== "percent") return `Discount (${discount.code})`;
  return `Promo ${discount.code} (${(discount.percent_bps / 100).toLocaleString("en-US")}% off)`;
}

function line(name, label, value, attrs = {}) {
  return el("div", { dataset: { line: name }, ...attrs }, el("dt", {}, label), el("dd", {}, value));
}

/**
 * Open the checkout for `item`; see the module's comment for what the promise says.
 * @param {CheckoutItem} item
 * @returns {Promise<any | null>}
 */
export async function openCheckout(item) {
  let quote = await askQuote(item, null);
  const key = crypto.randomUUID();
  const codes = await usableCodes(quote.currency, item.kind);

  const title = el("h2", { id: "checkout-title" });
  const about = el("p", { id: "checkout-about" });
  const lines = el("dl", { class: "checkout-lines", id: "checkout-lines" });
  const shortNote = el("p", { class: "checkout-short", id: "checkout-short", hidden: true });
  const codeNote = el("p", { class: "hint", id: "checkout-code-note", hidden: true });
  const pointsOffer = el("div", { class: "checkout-points", id: "checkout-points", hidden: true });
  const codeInput = el("input", {
    id: "checkout-code", name: "discount_code", autocomplete: "off", spellcheck: "false",
    autocapitalize: "characters", "aria-describedby": "checkout-code-hint checkout-code-error",
    list: codes.length ? "checkout-codes" : null,
  });
  const codeList = el("datalist", { id: "checkout-codes" },
    ...codes.map((c) => el("option", { value: c.code },
      `${c.pays_for === "sessions" ? "mentor credit, " : ""}${money(c.value_minor, c.currency)} until ${when(c.expires_at)}`)));
  const apply = el("button", { type: "button" }, "Apply code");
  const codeField = el("div", { class: "field" },
    el("label", { for: "checkout-code" }, "Promo or discount code"),
    el("div", { class: "row" }, codeInput, apply),
    el("p", { class: "hint", id: "checkout-code-hint" },
      codes.length ? `You have ${codes.length} unused code${codes.length === 1 ? "" : "s"} in ${quote.currency}; start typing to pick one.`
        : "Have a promo code, or a discount code bought with points? Type it here."),
    el("p", { class: "field-error", id: "checkout-code-error" }),
    codeList);
  const policy = el("section", { class: "checkout-policy", "aria-labelledby": "checkout-policy-heading" });
  const confirm = el("button", { type: "submit", class: "primary", id: "checkout-confirm" });
  const cancel = el("button", { type: "button" }, "Cancel");
  const form = el("form", { novalidate: true, id: "checkout-form" },
    title, about, lines, codeNote, shortNote, pointsOffer, codeField, policy,
    el("p", { class: "form-error", role: "alert" }),
    el("div", { class: "row checkout-actions" }, cancel, confirm));
  const dialog = el("dialog", {
    class: "checkout", "aria-labelledby": "checkout-title", "aria-describedby": "checkout-about",
  }, form);

  function render() {
    const free = quote.total_minor === 0;
    title.textContent = quote.price_minor === 0 ? "Confirm" : "Confirm and pay";
    about.replaceChildren(el("strong", {}, quote.title), ` · ${quote.detail}`,
      quote.starts_at ? ` · ${when(quote.starts_at)}` : "");
    const rate = `${(quote.vat_rate_bps / 100).toLocaleString("en-US")}%`;
    lines.replaceChildren(...[
      line("price", "Price", money(quote.price_minor, quote.currency)),
      quote.discount
        ? line("discount", discountLabel(quote.discount), `− ${money(quote.discount_minor, quote.currency)}`)
        : null,
      line("total", "Total to pay", money(quote.total_minor, quote.currency), { class: "checkout-total" }),
      line("vat", `VAT included (${rate}, ${quote.vat_country})`, money(quote.vat_minor, quote.currency)),
      line("balance", "Your wallet balance", money(quote.balance_minor, quote.currency)),
      quote.shortfall_minor > 0
        ? line("shortfall", "Short by", money(quote.shortfall_minor, quote.currency), { class: "checkout-shortfall" })
        : null,
    ].filter((node) => node !== null));
    // A fixed code worth more than the price: say that the rest is not kept.
    codeNote.hidden = !(quote.discount && quote.discount.value_minor !== null &&
      quote.discount.value_minor > quote.discount_minor);
    codeNote.textContent = quote.discount
      ? `This code is worth ${money(quote.discount.value_minor, quote.currency)}; ` +
        `${money(quote.discount_minor, quote.currency)} of it pays this price and the rest is not kept.`
      : "";
    shortNote.hidden = quote.shortfall_minor <= 0;
    shortNote.replaceChildren(
      `Your wallet is ${money(quote.shortfall_minor, quote.currency)} short. `,
      el("a", { href: "/wallet", target: "_blank", rel: "noopener" }, "Top up your wallet (opens a new tab)"),
      ", then ",
      el("button", { type: "button", class: "link-button", onclick: () => requote(quote.discount?.code || null) }, "check again"),
      ".");
    codeField.hidden = quote.price_minor === 0;
    renderPoints();
    policy.replaceChildren(
      el("h3", { id: "checkout-policy-heading" }, "Refund policy"),
      el("p", {}, quote.refund_policy.summary),
      el("ul", {}, ...quote.refund_policy.terms.map((term) => el("li", {}, term))));
    confirm.textContent = free ? "Confirm" : `Confirm and pay ${money(quote.total_minor, quote.currency)}`;
    confirm.disabled = quote.shortfall_minor > 0;
  }

  /** The buyer's points as a discount on this price: as many as the total needs, at most all. */
  function renderPoints() {
    const points = quote.points;
    pointsOffer.hidden = !points || Boolean(quote.discount) || quote.total_minor <= 0;
    if (pointsOffer.hidden) return;
    const use = Math.min(points.balance, Math.ceil(quote.total_minor / points.minor_per_point));
    const worth = money(use * points.minor_per_point, points.currency);
    pointsOffer.replaceChildren(
      el("p", {}, `You have ${points.balance.toLocaleString("en-US")} points, worth ` +
        `${money(points.worth_minor, points.currency)}.`),
      el("button", { type: "button", onclick: () => usePoints(use) },
        `Use ${use.toLocaleString("en-US")} points for ${worth} off`),
      el("p", { class: "hint" }, "The discount code is yours for 90 days if you do not pay now."));
  }

  /** Convert points into a discount code (points API), then quote with it. */
  async function usePoints(points) {
    clearFormError(form);
    try {
      const redemption = await api("/api/v1/wallet/convert-points", {
        method: "POST",
        body: { points, target: "discount" },
        headers: { "Idempotency-Key": `checkout-points-${key}` },
      });
      /** @type {HTMLInputElement} */ (codeInput).value = redemption.discount_code;
      await requote(redemption.discount_code);
    } catch (error) {
      showFormError(form, error);
    }
  }

  async function requote(code) {
    clearFormError(form);
    try {
      quote = await askQuote(item, code);
      render();
      return true;
    } catch (error) {
      showFormError(form, error);
      return false;
    }
  }

  return new Promise((resolve) => {
    let result = null;
    apply.addEventListener("click", async () => {
      const typed = /** @type {HTMLInputElement} */ (codeInput).value.trim();
      if (await requote(typed || null) && typed) codeInput.focus();
    });
    codeInput.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        apply.click();
      }
    });
    cancel.addEventListener("click", () => dialog.close());
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearFormError(form);
      confirm.disabled = true;
      confirm.textContent = "Paying…";
      try {
        result = await PURCHASES[item.kind](item, quote.discount?.code || null, key);
        dialog.close();
      } catch (error) {
        // The figures may have moved (a balance, a code spent elsewhere): read them again.
        if (error instanceof ApiError && error.status === 409) await requote(quote.discount?.code || null);
        render();
        showFormError(form, error);
      }
    });
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(result);
    });
    render();
    document.body.append(dialog);
    dialog.showModal();
    (confirm.disabled ? shortNote.querySelector("a") : confirm)?.focus();
  });
}
