// The affiliate page: the programme and the application form; once approved, the
// dashboard (terms and link, clicks / sign-ups / conversions, earnings pending, payable,
// paid and reversed, with daily charts) from /api/v1/affiliates/me.

import { api } from "../api.js";
import { ACCENT, AreaSeries, LineSeries, UP, fitWhenSized, makeChart } from "../charts.js";
import {
  byId, clearFormError, el, fillTable, flash, formValues, money, num, showFormError,
  signedInShell, when,
} from "../ui.js";

const STATUS = {
  pending: "Pending (refund window open)",
  payable: "Payable (in the next weekly payout)",
  paid: "Paid",
  reversed: "Reversed (refunded or charged back)",
};
const CONVERSIONS = "#58a6ff";

/** Minor units per major unit of a currency, as the money helper rounds them. */
function unitOf(currency) {
  try {
    const digits = new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions()
      .maximumFractionDigits;
    return 10 ** (digits ?? 2);
  } catch {
    return 100;
  }
}

let charts = /** @type {any[]} */ ([]);

function drawCharts(board) {
  for (const chart of charts) chart.remove();
  charts = [];
  const funnel = makeChart(byId("funnel-chart"));
  const line = (color, points) => {
    const series = funnel.addSeries(LineSeries, { color, lineWidth: 2 });
    series.setData(points.map((p) => ({ time: p.time, value: p.value })));
  };
  line(ACCENT, board.clicks_series);
  line(UP, board.signups_series);
  line(CONVERSIONS, board.conversions_series);
  fitWhenSized(funnel);
  charts.push(funnel);
  const [currency] = Object.keys(board.earnings_series);
  const earnings = makeChart(byId("earnings-chart"));
  if (currency) {
    const unit = unitOf(currency);
    const area = earnings.addSeries(AreaSeries, { lineColor: UP, topColor: "rgba(38,166,154,0.4)", bottomColor: "rgba(38,166,154,0.05)" });
    area.setData(board.earnings_series[currency].map((p) => ({ time: p.time, value: p.value / unit })));
    byId("earnings-chart").setAttribute("aria-label", `Commission earned per day, in ${currency}`);
  }
  fitWhenSized(earnings);
  charts.push(earnings);
}

function showDashboard(board) {
  const affiliate = board.affiliate;
  byId("dashboard").hidden = false;
  byId("terms").textContent =
    `${num(affiliate.share_bps / 100, 2)}% of the platform's fee on the payments of the members ` +
    `you refer, for ${affiliate.months} months after each one signs up.`;
  /** @type {HTMLInputElement} */ (byId("affiliate-link")).value = board.link;
  byId("clicks").textContent = num(board.clicks, 0);
  byId("signups").textContent = num(board.signups, 0);
  byId("conversions").textContent = num(board.conversions, 0);
  fillTable(byId("earnings-rows"), board.earnings.map((e) => el("tr", {},
    el("td", {}, e.currency),
    el("td", { class: "num" }, money(e.pending_minor, e.currency)),
    el("td", { class: "num" }, money(e.payable_minor, e.currency)),
    el("td", { class: "num" }, money(e.paid_minor, e.currency)),
    el("td", { class: "num" }, money(e.reversed_minor, e.currency)))),
  "No commission yet: it comes with the first payment of a member you referred.");
  fillTable(byId("commission-rows"), board.commissions.map((c) => el("tr", {},
    el("td", {}, when(c.created_at)),
    el("td", {}, c.referee),
    el("td", { class: "num" }, money(c.amount_minor - c.reversed_minor, c.currency)),
    el("td", { class: `status-${c.status}` }, STATUS[c.status] || c.status),
    el("td", {}, when(c.payable_at)))),
  "No commission yet.");
  drawCharts(board);
}

async function load() {
  const board = await api("/api/v1/affiliates/me");
  const affiliate = board.affiliate;
  const form = byId("apply-form");
  const status = byId("status-text");
  form.hidden = true;
  byId("dashboard").hidden = true;
  if (!affiliate) {
    status.textContent = "You have not applied yet.";
    form.hidden = false;
  } else if (affiliate.status === "applied") {
    status.textContent = `Your application of ${when(affiliate.applied_at)} is waiting for a decision.`;
  } else if (affiliate.status === "rejected") {
    status.textContent = `Your application was not accepted: ${affiliate.decision_note}. You may apply again.`;
    form.hidden = false;
  } else {
    status.textContent = `You are an affiliate since ${when(affiliate.decided_at)}.`;
    showDashboard(board);
  }
  document.body.dataset.ready = "true";
}

const form = /** @type {HTMLFormElement} */ (byId("apply-form"));
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearFormError(form);
  const values = formValues(form);
  try {
    await api("/api/v1/affiliates/apply", {
      method: "POST",
      body: { website: values.website, audience: values.audience, promotion: values.promotion },
    });
    await load();
  } catch (error) {
    showFormError(form, error);
  }
});

try {
  await signedInShell();
  await load();
} catch (error) {
  if (error instanceof Error && error.message !== "not signed in") flash(error.message);
}
