"""The notification texts admins edit, versioned, in English and Swahili."""
