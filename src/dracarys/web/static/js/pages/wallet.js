// placeholder until the wallet page lands: balances (reloaded on `wallet:changed`) and the
// top-up panel. The wallet helper's page replaces this module.

import { api } from "../api.js";
import { mountTopUp } from "../topup.js";
import { byId, el, flash, money, signedInShell } from "../ui.js";

const me = await signedInShell();

async function loadBalances() {
  const wallet = await api(`/api/v1/wallets/${me.id}/balances`);
  const list = byId("wallet-balances");
  list.replaceChildren(...wallet.balances.map((b) => el("li", { dataset: { currency: b.currency } },
    el("strong", {}, money(b.available_minor, b.currency)),
    b.pending_in_minor ? el("span", { class: "hint" }, ` · ${money(b.pending_in_minor, b.currency)} on its way`) : null)));
  if (!wallet.balances.length) list.append(el("li", { class: "hint" }, "Nothing in your wallet yet."));
}

document.addEventListener("wallet:changed", () => loadBalances().catch((e) => flash(e.message)));
await Promise.all([loadBalances(), mountTopUp(me)]).catch((e) => flash(e.message));
