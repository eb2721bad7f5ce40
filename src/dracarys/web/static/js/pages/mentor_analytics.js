// A mentor's own numbers (/api/v1/analytics/mentor/me): sessions sold and held, what
// escrow released to them (charted per week), subscribers, ratings, how full their slots
// got and how fast they answer.

import { api } from "../api.js";
import { AreaSeries, UP, fitWhenSized, makeChart } from "../charts.js";
import { byId, el, fillTable, flash, money, num, pct, signedInShell, waitPhrase } from "../ui.js";

const REQUEST_KINDS = { message_request: "Message requests (accept or decline)", message: "Mentees' messages" };

function show(numbers) {
  byId("sessions-paid").textContent = num(numbers.sessions_paid, 0);
  byId("sessions-completed").textContent = num(numbers.sessions_completed, 0);
  byId("subscribers-active").textContent = num(numbers.subscribers_active, 0);
  byId("subscribers-ever").textContent = num(numbers.subscribers_ever, 0);
  byId("average-rating").textContent = numbers.average_rating === null
    ? "—" : `${num(numbers.average_rating, 2)} of 5 (${num(numbers.ratings, 0)})`;
  byId("fill-rate").textContent = numbers.fill_rate === null
    ? "—" : `${pct(numbers.fill_rate * 100, 1)} (${num(numbers.seats_booked, 0)} of ${num(numbers.seats_offered, 0)})`;
  fillTable(byId("response-rows"), numbers.response_times.map((row) => el("tr", { dataset: { kind: row.kind } },
    el("td", {}, REQUEST_KINDS[row.kind] ?? row.kind),
    el("td", { class: "num" }, num(row.answers, 0)),
    el("td", { class: "num" }, waitPhrase(row.median_seconds)),
    el("td", { class: "num" }, waitPhrase(row.p95_seconds)))),
  "You have not answered a request yet.");
  fillTable(byId("earnings-rows"), numbers.earnings.map((e) => el("tr", {},
    el("td", {}, e.currency),
    el("td", { class: "num" }, money(e.amount_minor, e.currency)))),
  "Nothing has been released to you yet.");
  const chart = makeChart(byId("earnings-chart"));
  const [first] = numbers.earnings;
  if (first) {
    const digits = new Intl.NumberFormat("en", { style: "currency", currency: first.currency }).resolvedOptions().maximumFractionDigits ?? 2;
    const area = chart.addSeries(AreaSeries, { lineColor: UP, topColor: "rgba(38,166,154,0.4)", bottomColor: "rgba(38,166,154,0.05)" });
    area.setData(numbers.weekly_earnings.filter((w) => w.currency === first.currency)
      .map((w) => ({ time: w.week, value: w.amount_minor / 10 ** digits })));
    byId("earnings-chart").setAttribute("aria-label", `Your earnings per week, in ${first.currency}`);
  }
  fitWhenSized(chart);
}

try {
  await signedInShell();
  show(await api("/api/v1/analytics/mentor/me"));
  document.body.dataset.ready = "true";
} catch (error) {
  if (error instanceof Error && error.message !== "not signed in" && error.message !== "this role may not use this page") {
    flash(error.message);
  }
}
