"""Notifications: what reaches a member, in-app and live. Other code uses this surface.

- Chat (`notifications/chat`): who may watch a conversation's stream channel
  (`conversation_members`, the `chat:` channel policy's check)."""

from dracarys.notifications.chat.service import conversation_members

__all__ = ["conversation_members"]
