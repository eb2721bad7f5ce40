// A mentor's own numbers (/api/v1/analytics/mentor/me): sessions sold and held, what
// escrow released to them (charted per week), subscribers and ratings.

import { api } from "../api.js";
import { AreaSeries, UP, fitWhenSized, makeChart } from "../charts.js";
import { byId, el, fillTable, flash, money, num, signedInShell } from "../ui.js";

function show(numbers) {
  byId("sessions-paid").textContent = num(numbers.sessions_paid, 0);
  byId("sessions-completed").textContent = num(numbers.sessions_completed, 0);
  byId("subscribers-active").textContent = num(numbers.subscribers_active, 0);
  byId("subscribers-ever").textContent = num(numbers.subscribers_ever, 0);
  byId("average-rating").textContent = numbers.average_rating === null
    ? "—" : `${num(numbers.average_rating, 2)} of 5 (${num(numbers.ratings, 0)})`;
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
