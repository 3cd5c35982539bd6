"""Where conversation state lives between messages.

Part 1 keeps it in the process (`MemoryStore`); Part 3 adds SQLite and Redis behind the same
methods, chosen by `BOT_STORE_URL`.
"""

from memory.store import MemoryStore

__all__ = ["MemoryStore"]
