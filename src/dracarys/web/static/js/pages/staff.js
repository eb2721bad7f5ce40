// The staff home: the queues a reviewer or an admin works through.

import { ApiError, api } from "../api.js";
import { byId, el, flash, signedInShell } from "../ui.js";

const me = await signedInShell();

try {
  const waiting = (await api("/api/v1/kyc/reviews")).length;
  byId("kyc-queue").textContent = waiting
    ? `${waiting} KYC document${waiting === 1 ? "" : "s"} waiting for review.`
    : "No KYC document is waiting for review.";
} catch (error) {
  if (error instanceof ApiError && error.problem.extra?.two_factor_required) {
    byId("kyc-queue").replaceChildren(
      "Staff queues open once you sign in with two-factor authentication. ",
      el("a", { href: "/account#two-factor" }, "Set up two-factor authentication"),
      ", then sign out and in again with your authenticator code.",
    );
  } else {
    byId("kyc-queue").textContent = "The KYC queue could not be loaded.";
    flash(error instanceof Error ? error.message : String(error));
  }
}

const check = byId("audit-check");
check.hidden = me.role !== "admin";
check.addEventListener("click", async () => {
  try {
    const result = await api("/api/v1/admin/audit/verify");
    byId("audit-status").textContent = result.ok
      ? `The chain is unbroken (${result.rows_checked} entries checked).`
      : `The chain is broken: ${result.problems.join("; ")}`;
  } catch (error) {
    flash(error instanceof Error ? error.message : String(error));
  }
});
