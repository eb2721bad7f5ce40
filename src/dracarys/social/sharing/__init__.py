"""Tracked shares: a member shares something public (a closed signal, a certificate, a
badge they hold, a mentor's track record) on a social channel through a short link
(`/s/{token}`) that shows a card to the channel's crawler and sends people on to the thing
with UTM parameters; the share earns its points once enough distinct signed-in people
other than the sharer followed it."""
