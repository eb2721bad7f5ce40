"""A short, human name for the device behind a User-Agent header ("Firefox on Windows"),
for the list of signed-in sessions. A guess from well-known tokens, never a security
decision: the header is whatever the client sent."""

from __future__ import annotations

# Order matters: Edge and Opera also say Chrome, Chrome also says Safari, Android also
# says Linux, iPhones also say Mac OS X.
_BROWSERS = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("FxiOS/", "Firefox"),
    ("CriOS/", "Chrome"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (
    ("Windows", "Windows"),
    ("Android", "Android"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("CrOS", "ChromeOS"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
)


def device_label(user_agent: str | None) -> str:
    if not user_agent:
        return "Unknown device"
    browser = next((name for token, name in _BROWSERS if token in user_agent), None)
    system = next((name for token, name in _SYSTEMS if token in user_agent), None)
    if browser and system:
        return f"{browser} on {system}"
    if browser or system:
        return str(browser or system)
    # A program, not a browser: its own name, shortened (e.g. "python-httpx/0.28").
    return user_agent.split(" ", 1)[0][:40]
