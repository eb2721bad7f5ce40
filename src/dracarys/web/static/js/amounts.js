// Money as people type it — in major units of its currency ("1,500.50" KES) — read into
// the integer minor units the API takes, exactly (string arithmetic, no floating point),
// or refused with a sentence; and a minor amount written back for an input to show.

import { ApiError } from "./api.js";

/** Digits after the point of a currency's minor unit (2 for USD and KES, 0 for JPY). */
export function minorDigits(currency) {
  try {
    return new Intl.NumberFormat("en-US", { style: "currency", currency })
      .resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    return 2;
  }
}

/**
 * The minor units of an amount typed in major units; throws an Error whose message says
 * what is wrong, in words a person understands.
 * @param {string} text
 * @param {string} currency
 * @returns {number}
 */
export function toMinor(text, currency) {
  const digits = minorDigits(currency);
  const cleaned = String(text).trim().replaceAll(",", "").replaceAll(" ", "");
  const match = /^(\d+)(?:\.(\d*))?$/.exec(cleaned);
  if (!match) throw new Error(`Type an amount in ${currency}, such as ${digits ? "1500.00" : "1500"}.`);
  const fraction = match[2] || "";
  if (fraction.length > digits) {
    throw new Error(digits
      ? `${currency} amounts have at most ${digits} digits after the point.`
      : `${currency} amounts are whole numbers.`);
  }
  const minor = Number(match[1] + fraction.padEnd(digits, "0"));
  if (!Number.isSafeInteger(minor)) throw new Error("That amount is too large.");
  return minor;
}

/** A minor amount as an input shows it in major units ("1500.00"), without grouping. */
export function toMajorText(amountMinor, currency) {
  const digits = minorDigits(currency);
  const text = String(Math.abs(amountMinor)).padStart(digits + 1, "0");
  const whole = digits ? text.slice(0, -digits) : text;
  const sign = amountMinor < 0 ? "-" : "";
  return digits ? `${sign}${whole}.${text.slice(-digits)}` : `${sign}${whole}`;
}

/**
 * A field-level problem for a form's own check, shaped as the server's (so `showFormError`
 * puts it beside the field).
 */
export function fieldProblem(field, message) {
  return new ApiError(422, { detail: message, errors: [{ field, message }] });
}

/**
 * The server's problem with its field names as the form calls them (a form typing major
 * units names its field `monthly_price` where the API says `monthly_price_minor`).
 */
export function renamedFields(error, names) {
  if (!(error instanceof ApiError)) return error;
  return new ApiError(error.status, {
    ...error.problem,
    errors: error.errors.map((e) => ({ ...e, field: names[e.field] || e.field })),
  });
}
