// What the follows page and the platforms' callback page share: where a connection begun
// in this tab remembers its platform and state.

export const SOCIAL_KEY = "dracarys.social";
