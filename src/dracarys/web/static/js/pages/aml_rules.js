// AML rules editor (staff): each country's rules with their parameters (amounts typed in
// major units of the rule's currency), action and switch; the server checks parameters
// against the rule's kind and names the field it refuses.

import { toMajorText, toMinor, fieldProblem } from "../amounts.js";
import { api } from "../api.js";
import { byId, clearFormError, el, fill, flash, showFormError, signedInShell, when } from "../ui.js";

const API = "/api/v1/admin/aml/rules";
const KIND_NAMES = {
  threshold: "Deposits over the threshold",
  structuring: "Structuring",
  velocity: "Velocity",
  deposit_then_withdraw: "Deposit then withdraw",
};
const LABELS = {
  amount_minor: "Deposits of at least",
  window_hours: "Within (hours)",
  kyc_level: "Need identity verification level",
  threshold_minor: "Threshold",
  below_pct: "Just under: within (%)",
  count: "Deposits",
  max_count: "Most deposits and withdrawals",
  max_amount_minor: "Most moved",
  min_share_pct: "Withdrawn share of deposits (%)",
};

function ruleForm(rule) {
  const prefix = `rule-${rule.id}`;
  const field = (name, label, control, hint) => el("div", { class: "field" },
    el("label", { for: `${prefix}-${name}` }, label),
    control,
    hint ? el("p", { class: "hint", id: `${prefix}-${name}-hint` }, hint) : null,
    el("p", { class: "field-error", id: `${prefix}-${name}-error` }));
  const inputs = Object.entries(rule.parameters).map(([name, value]) => {
    const isMoney = name.endsWith("_minor");
    const input = el("input", {
      id: `${prefix}-${name}`,
      name,
      inputmode: isMoney ? "decimal" : "numeric",
      autocomplete: "off",
      value: isMoney ? toMajorText(value, rule.currency) : String(value),
      "aria-describedby": `${prefix}-${name}-error${isMoney ? ` ${prefix}-${name}-hint` : ""}`,
    });
    return field(name, LABELS[name] || name, input, isMoney ? `In ${rule.currency}.` : null);
  });
  const action = el("select", { id: `${prefix}-action`, name: "action", "aria-describedby": `${prefix}-action-error` },
    el("option", { value: "alert", selected: rule.action === "alert" }, "Alert only"),
    el("option", { value: "alert_and_hold", selected: rule.action === "alert_and_hold" }, "Alert, open a case and hold withdrawals"));
  const enabled = el("input", { type: "checkbox", id: `${prefix}-enabled`, name: "enabled", checked: rule.enabled });
  const form = el("form", { novalidate: true, dataset: { rule: rule.id } },
    el("div", { class: "row" }, ...inputs),
    el("div", { class: "row" }, field("action", "Action", action),
      el("label", { class: "check" }, enabled, " Enabled")),
    el("p", { class: "form-error", role: "alert" }),
    el("button", { type: "submit", class: "primary" }, "Save the rule"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    save(rule, form);
  });
  const heading = `${prefix}-heading`;
  return el("section", { class: "card", "aria-labelledby": heading },
    el("h2", { id: heading }, `${rule.country === "*" ? "Default" : rule.country} · ${KIND_NAMES[rule.kind] || rule.kind} (${rule.currency})`),
    el("p", { class: "description" }, rule.description),
    el("p", { class: "hint" }, `Last changed ${when(rule.updated_at)}.`),
    form);
}

async function save(rule, form) {
  clearFormError(form);
  try {
    const parameters = {};
    for (const name of Object.keys(rule.parameters)) {
      const input = /** @type {HTMLInputElement} */ (form.elements.namedItem(name));
      const text = input.value.trim();
      if (name.endsWith("_minor")) {
        try {
          parameters[name] = toMinor(text, rule.currency);
        } catch (error) {
          throw fieldProblem(name, error instanceof Error ? error.message : String(error));
        }
      } else {
        if (!/^\d+$/.test(text)) throw fieldProblem(name, "Type a whole number.");
        parameters[name] = Number(text);
      }
    }
    const action = /** @type {HTMLSelectElement} */ (form.elements.namedItem("action")).value;
    const enabled = /** @type {HTMLInputElement} */ (form.elements.namedItem("enabled")).checked;
    const saved = await api(`${API}/${rule.id}`, { method: "PATCH", body: { parameters, action, enabled } });
    flash(`Saved: ${saved.description}`, "ok");
    await load();
  } catch (error) {
    showFormError(form, error);
  }
}

async function load() {
  const rules = await api(API);
  byId("rules-status").textContent = `${rules.length} rules.`;
  fill(byId("rules"), ...rules.map(ruleForm));
}

async function main() {
  await signedInShell();
  await load();
}

main().catch((error) => {
  if (error instanceof Error && /not signed in|may not use/.test(error.message)) return;
  byId("rules-status").textContent = `Could not load the rules: ${error instanceof Error ? error.message : error}`;
});
