"""What one server process holds and shares between its sessions.

``ServerEngine`` owns the grammar store (one per process: grammars compiled once, by content;
clients' grammars under a closed access policy, so nothing a client sends reaches a file or the
network unless the operator's policy says so), the decoder model (loaded on first use, then
shared), the session count against ``max_sessions`` and the metrics. It does no I/O of its own:
the front ends call it.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from interpreter.store import GrammarStore
from server.metrics import Metrics
from srgs.config import EngineConfig
from srgs.load.policy import AccessPolicy

if TYPE_CHECKING:
    from decoder.pocketsphinx_backend import PocketsphinxModel


class ServerEngine:
    """The shared state of one server process (thread-safe)."""

    def __init__(self, config: EngineConfig | None = None, *, policy: AccessPolicy | None = None,
                 cache_dir: str | None = None, store: GrammarStore | None = None):
        self.config = config or EngineConfig()
        self.policy = policy or AccessPolicy.closed()
        self.store = store or GrammarStore(self.config, policy=self.policy, text_policy=self.policy,
                                           cache_dir=cache_dir)
        self.metrics = Metrics()
        self._lock = threading.Lock()
        self._sessions = 0
        self._model: PocketsphinxModel | None = None
        self._model_lock = threading.Lock()

    @property
    def settings(self) -> Any:
        """The ``[server]`` section of the configuration."""
        return self.config.server

    # --- sessions ---------------------------------------------------------------------------

    def open_session(self) -> bool:
        """Count a new session; False when ``max_sessions`` are already held."""
        with self._lock:
            if self._sessions >= self.config.server.max_sessions:
                return False
            self._sessions += 1
            return True

    def close_session(self) -> None:
        with self._lock:
            self._sessions = max(0, self._sessions - 1)

    @property
    def sessions(self) -> int:
        with self._lock:
            return self._sessions

    # --- decoder ----------------------------------------------------------------------------

    def decoder_model(self) -> PocketsphinxModel:
        """The acoustic model, loaded once on first use and shared by every session."""
        with self._model_lock:
            if self._model is None:
                from decoder.pocketsphinx_backend import PocketsphinxModel

                self._model = PocketsphinxModel()
            return self._model
