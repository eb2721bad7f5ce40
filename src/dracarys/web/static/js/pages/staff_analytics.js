// Admins' analytics: the KPIs of the event stream (/api/v1/analytics/kpis) with the
// retention cohorts charted and tabled, LTV by cohort, LTV against CAC by cohort (charted),
// mentors' response times, a funnel built from any events
// (/api/v1/analytics/funnel) and the CSV downloads.

import { ApiError, accessToken, api } from "../api.js";
import { ACCENT, LineSeries, UP, fitWhenSized, makeChart } from "../charts.js";
import { byId, clearFormError, el, fillTable, flash, money, num, pct, showFormError, signedInShell, waitPhrase, when } from "../ui.js";

const DEFAULT_FUNNEL = ["user.signed_up", "session.booked", "session.paid"];
let topics = /** @type {string[]} */ ([]);
let retentionChart = /** @type {any} */ (null);
let acquisitionChart = /** @type {any} */ (null);
const REQUEST_KINDS = { message_request: "Message request (accept or decline)", message: "Mentee's messages" };

const rate = (value) => (value === null || value === undefined ? "—" : pct(value * 100, 1));
const dayStart = (value) => `${value}T00:00:00Z`;

function isoDay(date) {
  return date.toISOString().slice(0, 10);
}

async function download(path, filename) {
  try {
    const token = await accessToken();
    const response = await fetch(path, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
    if (!response.ok) {
      const problem = await response.json().catch(() => ({}));
      throw new ApiError(response.status, problem);
    }
    const url = URL.createObjectURL(await response.blob());
    const link = el("a", { href: url, download: filename, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    window.setTimeout(() => URL.revokeObjectURL(url), 60_000);
  } catch (error) {
    flash(error instanceof Error ? `Could not download ${filename}: ${error.message}` : `Could not download ${filename}.`);
  }
}

function drawRetention(cohorts) {
  retentionChart?.remove();
  retentionChart = makeChart(byId("retention-chart"));
  const line = (color, key) => {
    const series = retentionChart.addSeries(LineSeries, { color, lineWidth: 2 });
    series.setData(cohorts.filter((c) => c[key] !== null).map((c) => ({ time: c.week, value: c[key] * 100 })));
  };
  line(ACCENT, "d7_rate");
  line(UP, "d30_rate");
  fitWhenSized(retentionChart);
}

function drawAcquisition(rows) {
  acquisitionChart?.remove();
  acquisitionChart = makeChart(byId("acquisition-chart"));
  const [first] = rows;
  if (first) {
    const line = acquisitionChart.addSeries(LineSeries, { color: ACCENT, lineWidth: 2 });
    line.setData(rows.filter((r) => r.currency === first.currency && r.ltv_to_cac !== null)
      .map((r) => ({ time: r.week, value: r.ltv_to_cac })));
    byId("acquisition-chart").setAttribute("aria-label", `LTV to CAC per weekly cohort, in ${first.currency}`);
  }
  fitWhenSized(acquisitionChart);
}

function showKpis(report) {
  byId("as-of").textContent = `As of ${when(report.as_of)}.`;
  const a = report.activation;
  byId("kpi-activation").textContent = `${rate(a.rate)} (${num(a.activated, 0)} of ${num(a.signed_up, 0)})`;
  const c = report.course_completion;
  byId("kpi-completion").textContent = `${rate(c.rate)} (${num(c.completions, 0)} of ${num(c.enrolments, 0)})`;
  byId("kpi-points-issued").textContent = num(report.points.issued, 0);
  byId("kpi-points-redeemed").textContent = num(report.points.redeemed, 0);
  byId("kpi-points-voided").textContent = `${num(report.points.voided, 0)} (${rate(report.points.void_rate)})`;
  byId("kpi-points-fraud").textContent = `${rate(report.points.fraud_rate)} (${num(report.points.reversed, 0)} reversed)`;
  const f = report.sessions;
  byId("kpi-fill").textContent = `${rate(f.fill_rate)} (${num(f.seats_booked, 0)} of ${num(f.seats_offered, 0)} seats)`;
  byId("kpi-utilisation").textContent = `${rate(f.utilisation)} (${num(f.minutes_booked, 0)} of ${num(f.minutes_offered, 0)} min)`;
  const p = report.payouts;
  byId("kpi-payout-latency").textContent = p.timed
    ? `median ${waitPhrase(p.latency_median_seconds)}, p95 ${waitPhrase(p.latency_p95_seconds)} (${num(p.timed, 0)} paid)` : "—";
  byId("kpi-payouts").textContent = `${rate(p.accuracy)} (${num(p.completed, 0)} paid, ${num(p.failed, 0)} failed, ${num(p.needs_review, 0)} in review)`;
  byId("kpi-rating").textContent = report.satisfaction.average_rating === null
    ? "—" : `${num(report.satisfaction.average_rating, 2)} of 5 (${num(report.satisfaction.ratings, 0)})`;
  const s = report.satisfaction;
  byId("kpi-nps").textContent = s.nps === null
    ? "—" : `${num(s.nps, 1)} (${num(s.promoters, 0)} promoters, ${num(s.detractors, 0)} detractors of ${num(s.nps_answers, 0)})`;
  const share = (retained, eligible, value) => (eligible ? `${rate(value)} (${retained} of ${eligible})` : "not yet");
  fillTable(byId("retention-rows"), report.retention.map((cohort) => el("tr", { dataset: { week: cohort.week } },
    el("td", {}, cohort.week),
    el("td", { class: "num" }, num(cohort.signed_up, 0)),
    el("td", { class: "num" }, share(cohort.d7_retained, cohort.d7_eligible, cohort.d7_rate)),
    el("td", { class: "num" }, share(cohort.d30_retained, cohort.d30_eligible, cohort.d30_rate)))),
  "No one has signed up yet.");
  fillTable(byId("ltv-rows"), report.ltv.map((row) => el("tr", {},
    el("td", {}, row.week),
    el("td", {}, row.currency),
    el("td", { class: "num" }, num(row.members, 0)),
    el("td", { class: "num" }, money(row.ltv_minor, row.currency)))),
  "No cohort has paid anything yet.");
  fillTable(byId("acquisition-rows"), report.acquisition.map((row) => el("tr", { dataset: { week: row.week, currency: row.currency } },
    el("td", {}, row.week),
    el("td", {}, row.currency),
    el("td", { class: "num" }, num(row.members, 0)),
    el("td", { class: "num" }, money(row.ltv_minor, row.currency)),
    el("td", { class: "num" }, money(row.commission_minor, row.currency)),
    el("td", { class: "num" }, money(row.promo_minor, row.currency)),
    el("td", { class: "num" }, money(row.cac_minor, row.currency)),
    el("td", { class: "num" }, row.ltv_to_cac === null ? "—" : `${num(row.ltv_to_cac, 1)}×`))),
  "No cohort has paid or cost anything yet.");
  fillTable(byId("response-rows"), report.response_times.map((row) => el("tr", { dataset: { kind: row.kind } },
    el("td", {}, REQUEST_KINDS[row.kind] ?? row.kind),
    el("td", { class: "num" }, num(row.answers, 0)),
    el("td", { class: "num" }, waitPhrase(row.median_seconds)),
    el("td", { class: "num" }, waitPhrase(row.p95_seconds)))),
  "No mentor has answered anything yet.");
  drawRetention(report.retention);
  drawAcquisition(report.acquisition);
}

function stepControl(index, topic) {
  const id = `funnel-step-${index}`;
  const select = el("select", { id, name: `steps[${index}]`, "aria-describedby": `${id}-error` },
    ...topics.map((t) => el("option", { value: t, selected: t === topic }, t)));
  return el("li", { class: "field" },
    el("label", { for: id }, `Step ${index + 1}`), select, el("p", { class: "field-error", id: `${id}-error` }));
}

function funnelQuery() {
  const form = /** @type {HTMLFormElement} */ (byId("funnel-form"));
  const steps = [...form.querySelectorAll("select")].map((s) => /** @type {HTMLSelectElement} */ (s).value);
  const value = (id) => /** @type {HTMLInputElement} */ (byId(id)).value;
  return {
    steps,
    since: value("funnel-since") ? dayStart(value("funnel-since")) : "",
    until: value("funnel-until") ? dayStart(value("funnel-until")) : "",
    window_days: Number(value("funnel-window_days")),
  };
}

function funnelParams(query) {
  const params = new URLSearchParams({ since: query.since, until: query.until, window_days: String(query.window_days) });
  for (const step of query.steps) params.append("steps", step);
  return params;
}

async function showFunnel(event) {
  event.preventDefault();
  const form = /** @type {HTMLFormElement} */ (byId("funnel-form"));
  clearFormError(form);
  const query = funnelQuery();
  if (!query.since || !query.until) {
    showFormError(form, new ApiError(422, {
      detail: "Choose the period.",
      errors: [...(!query.since ? [{ field: "since", message: "Choose the first day." }] : []),
        ...(!query.until ? [{ field: "until", message: "Choose the day after the last." }] : [])],
    }));
    return;
  }
  try {
    const funnel = await api(`/api/v1/analytics/funnel?${funnelParams(query)}`);
    fillTable(byId("funnel-rows"), funnel.steps.map((step, n) => el("tr", { dataset: { step: String(n + 1) } },
      el("td", {}, String(n + 1)),
      el("td", {}, step.topic),
      el("td", { class: "num" }, num(step.members, 0)),
      el("td", { class: "num" }, rate(step.from_previous)),
      el("td", { class: "num" }, rate(step.from_first)))),
    "No step.");
  } catch (error) {
    showFormError(form, error);
  }
}

function funnelCsv() {
  const query = funnelQuery();
  if (!query.since || !query.until) {
    flash("Choose the funnel's period first.");
    return;
  }
  download(`/api/v1/analytics/funnel.csv?${funnelParams(query)}`, "funnel.csv");
}

function wire() {
  const today = new Date();
  const monthAgo = new Date(today.getTime() - 30 * 86_400_000);
  const tomorrow = new Date(today.getTime() + 86_400_000);
  for (const [id, day] of [["funnel-since", monthAgo], ["funnel-until", tomorrow], ["events-since", monthAgo], ["events-until", tomorrow]]) {
    /** @type {HTMLInputElement} */ (byId(id)).value = isoDay(day);
  }
  /** @type {HTMLInputElement} */ (byId("compliance-month")).value = isoDay(today).slice(0, 7);
  const steps = byId("funnel-steps");
  steps.replaceChildren(...DEFAULT_FUNNEL.map((topic, n) => stepControl(n, topic)));
  byId("add-step").addEventListener("click", () => {
    const count = steps.children.length;
    if (count >= 8) {
      flash("A funnel has at most eight steps.");
      return;
    }
    steps.append(stepControl(count, topics[0]));
  });
  byId("funnel-form").addEventListener("submit", showFunnel);
  byId("funnel-csv").addEventListener("click", funnelCsv);
  byId("kpis-csv").addEventListener("click", () => download("/api/v1/analytics/kpis.csv", "kpis.csv"));
  byId("events-csv").addEventListener("click", () => {
    const since = /** @type {HTMLInputElement} */ (byId("events-since")).value;
    const until = /** @type {HTMLInputElement} */ (byId("events-until")).value;
    const params = new URLSearchParams({ since: dayStart(since), until: dayStart(until) });
    download(`/api/v1/analytics/events.csv?${params}`, "analytics-events.csv");
  });
  byId("compliance-csv").addEventListener("click", () => {
    const [year, month] = /** @type {HTMLInputElement} */ (byId("compliance-month")).value.split("-");
    download(`/api/v1/analytics/compliance/${Number(year)}/${Number(month)}`, `compliance-${year}-${month}.csv`);
  });
}

try {
  await signedInShell();
  topics = await api("/api/v1/analytics/topics");
  wire();
  showKpis(await api("/api/v1/analytics/kpis"));
  document.body.dataset.ready = "true";
} catch (error) {
  if (error instanceof Error && error.message !== "not signed in" && error.message !== "this role may not use this page") {
    flash(error.message);
  }
}
