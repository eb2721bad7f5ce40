// What the learning pages share: uploading a file (api.js's `uploadFile`, re-exported),
// downloading a signed-in file, and the words and figures the catalogue, the program page
// and the reader all show.

import { ApiError, accessToken, uploadFile } from "./api.js";
import { el, money } from "./ui.js";

export { uploadFile };

/** Fetch a file only a signed-in caller may read and hand it to the browser as a download. */
export async function downloadFile(path, fileName) {
  const token = await accessToken();
  const response = await fetch(path, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  if (!response.ok) throw new Error(`Could not download ${fileName}. Try again in a moment.`);
  const url = URL.createObjectURL(await response.blob());
  const link = el("a", { href: url, download: fileName, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** "beginner" → "Beginner"; "price_action" → "price action". */
export function words(value) {
  return String(value).replaceAll("_", " ");
}

export function capitalised(value) {
  const text = words(value);
  return text ? text[0].toUpperCase() + text.slice(1) : text;
}

/** A program's price as people read it. */
export function priceText(program) {
  return program.price_minor === 0 ? "Free" : money(program.price_minor, program.currency);
}

/** Minutes as "45 min" or "3 h 20 min". */
export function duration(minutes) {
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return rest ? `${hours} h ${rest} min` : `${hours} h`;
}

/** A date and time for people ("4 Dec 2026, 09:00"), in the browser's zone. */
export function dateTime(iso) {
  return new Date(iso).toLocaleString("en-GB", {
    day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit",
  });
}

/** The page's one id, written by the server into a data attribute. */
export function pageId(elementId, key) {
  const node = document.getElementById(elementId);
  const value = node?.dataset[key];
  if (!value) throw new Error(`#${elementId} has no ${key}`);
  return value;
}

/**
 * When a page's first call is refused (not enrolled, no such item), say so in words in
 * place of the page, with the way on; other failures are passed on.
 * @param {unknown} failure
 */
export function showRefusal(failure) {
  if (!(failure instanceof ApiError) || ![403, 404].includes(failure.status)) throw failure;
  const main = document.getElementById("main");
  const heading = failure.status === 404 ? "Not found" : "Join the course first";
  const explanation = failure.status === 404
    ? "There is nothing at this address: it may have been removed, or the link is wrong."
    : "Lessons, assessments and assignments open once you have joined a cohort of their course.";
  main?.replaceChildren(el("h1", {}, heading), el("p", {}, explanation),
    el("p", {}, el("a", { href: "/courses" }, "Browse the courses")));
}

/** The page's main heading becomes `title` (the item's own name). */
export function titled(title) {
  const heading = document.querySelector("main h1");
  if (heading) heading.textContent = title;
  document.title = `${title} · Dracarys`;
}
