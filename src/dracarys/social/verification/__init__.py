"""Social verification: a member proves they follow one of our accounts, per platform, by
the strongest check the platform's API allows. YouTube and X are checked through OAuth
(authorization code with PKCE) and the platform's own API (`subscriptions.list` for our
channel; the follows lookup where X's API tier allows it), and re-checked on a schedule;
Instagram and TikTok (and X when its tier refuses the lookup) by a manual proof, a
screenshot and the profile link, that a reviewer approves. The first verification of a
platform emits `social.follow_verified` (points awards it once, ever); a follow found gone
emits `social.follow_revoked` (points takes the award back through the ledger)."""
