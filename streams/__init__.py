"""The WebSocket layer: channel names, the protocol, the publisher every module uses
(`StreamHub.publish`), the server side of a connection, and a Python client."""

from streams import channels
from streams.hub import StreamHub

__all__ = ["StreamHub", "channels"]
