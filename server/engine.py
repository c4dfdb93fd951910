"""What one server process holds and shares between its sessions.

``ServerEngine`` owns the grammar store (one per process: grammars compiled once, by content;
clients' grammars under a closed access policy, so nothing a client sends reaches a file or the
network unless the operator's policy says so), the decoder model (loaded on first use, then
shared), the session count against ``max_sessions`` and the metrics. It does no I/O of its own:
the front ends call it.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from decoder.base import DecoderSession
from interpreter.store import Activation, GrammarStore
from server.decoder_sessions import BufferedSession, EitherSession
from server.metrics import Metrics
from srgs.config import EngineConfig
from srgs.load.policy import AccessPolicy

if TYPE_CHECKING:
    from decoder.ctc_backend import CtcModel
    from decoder.pocketsphinx_backend import PocketsphinxModel

# Threads for compiling, decoding and interpreting (pynini and the decoders hold the GIL most of
# the time, so more threads add no throughput: they keep one slow request from queueing the rest).
WORK_THREADS = 4


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
        self._ctc_model: CtcModel | None = None
        self._model_lock = threading.Lock()
        # Handles are numeric (one client reads them as 64-bit integers): the engine's start in
        # milliseconds times 10^6 plus a counter, unique within the process and across restarts.
        self._handles = itertools.count(int(time.time() * 1000) * 1_000_000 + 1)
        self._executor: ThreadPoolExecutor | None = None

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

    def next_handle(self) -> int:
        """A new numeric session handle."""
        with self._lock:
            return next(self._handles)

    def close_session(self) -> None:
        with self._lock:
            self._sessions = max(0, self._sessions - 1)

    @property
    def sessions(self) -> int:
        with self._lock:
            return self._sessions

    # --- decoder ----------------------------------------------------------------------------

    def decoder_model(self) -> PocketsphinxModel:
        """The pocketsphinx acoustic model, loaded once on first use and shared by every session."""
        with self._model_lock:
            if self._model is None:
                from decoder.pocketsphinx_backend import PocketsphinxModel

                self._model = PocketsphinxModel()
            return self._model

    def ctc_model(self) -> CtcModel:
        """The CTC acoustic model (``decoder.ctc_backend``), loaded once on first use and shared."""
        with self._model_lock:
            if self._ctc_model is None:
                from decoder.ctc_backend import CtcModel

                self._ctc_model = CtcModel()
            return self._ctc_model

    def grammar_session(self, activation: Activation, *, rejection_threshold: float | None = None,
                        word_boosts: Mapping[str, float] | None = None) -> DecoderSession:
        """A decoder over ``activation`` on the configured back end; ``rejection_threshold`` (a
        request's own) over ``config.decoder.rejection_threshold`` over the back end's default;
        ``word_boosts`` (``hints.words``: word -> boost, ``decoder.word_boosts``)."""
        decoder = self.config.decoder
        threshold = decoder.rejection_threshold if rejection_threshold is None else rejection_threshold
        boosts: dict[str, Any] = {"word_boosts": dict(word_boosts)} if word_boosts else {}
        if decoder.backend == "ctc":
            return self.ctc_model().session(activation, rejection_threshold=threshold, **boosts)
        model = self.decoder_model()
        session = model.session(activation, **boosts) if threshold is None else \
            model.session(activation, rejection_threshold=threshold, **boosts)
        return session if hasattr(session, "stream") else BufferedSession(session)

    def decoder_session(self, activation: Activation | None, models: Sequence[str] = (), *,
                        rejection_threshold: float | None = None,
                        word_boosts: Mapping[str, float] | None = None) -> DecoderSession:
        """A decoder for one recognition: the grammar search over ``activation`` (``grammar_session``,
        with ``word_boosts``), the free-speech search over ``models`` (``builtin:slm/general``; word
        boosts do not reach it), or both at once (``EitherSession``)."""
        sessions: list[DecoderSession] = []
        try:
            if activation is not None:
                sessions.append(self.grammar_session(activation, rejection_threshold=rejection_threshold,
                                                     word_boosts=word_boosts))
            if models:
                from decoder.free_speech import free_speech_session

                if self.config.decoder.backend == "ctc":
                    from decoder.ctc_free_speech import ctc_free_speech_session

                    sessions.append(ctc_free_speech_session(
                        self.ctc_model(), models[0], policy=self.policy,
                        rejection_threshold=self.config.decoder.free_speech_rejection_threshold))
                else:
                    sessions.append(free_speech_session(
                        self.decoder_model(), models[0], policy=self.policy,
                        rejection_threshold=self.config.decoder.free_speech_rejection_threshold))
        except BaseException:
            for session in sessions:
                session.close()
            raise
        if not sessions:
            raise ValueError("a recognition needs a grammar or a language model")
        return sessions[0] if len(sessions) == 1 else EitherSession(tuple(sessions))

    # --- work off the event loop ------------------------------------------------------------

    @property
    def executor(self) -> ThreadPoolExecutor:
        """The threads the front ends run compiling, decoding and interpreting on."""
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=WORK_THREADS, thread_name_prefix="srgs-work")
            return self._executor

    def close(self) -> None:
        """Stop the worker threads (waiting for the work in hand)."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)
