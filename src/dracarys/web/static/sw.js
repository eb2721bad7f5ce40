// The service worker, served as /sw.js so that its scope is the whole site. It shows each
// Web Push the platform sends (a notification's in-app title, body and link; see
// notifications/push) and, when the notification is clicked, opens its link: an open tab
// of that page is focused rather than a second one opened. Links leave the site never.

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

function messageOf(data) {
  if (!data) return {};
  try {
    return data.json();
  } catch {
    return { body: data.text() };
  }
}

self.addEventListener("push", (event) => {
  const message = messageOf(event.data);
  event.waitUntil(
    self.registration.showNotification(message.title || "Dracarys", {
      body: message.body || "",
      // One notification per notification id: a push delivered twice shows once.
      tag: message.id || undefined,
      data: { link: message.link || "/notifications", kind: message.kind || null },
    }),
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const wanted = new URL(event.notification.data?.link || "/notifications", self.location.origin);
  const link = wanted.origin === self.location.origin ? wanted : new URL("/notifications", self.location.origin);
  event.waitUntil(
    (async () => {
      const open = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
      const same = open.find((client) => new URL(client.url).pathname === link.pathname);
      if (same) return same.focus();
      return self.clients.openWindow(link.href);
    })(),
  );
});
