"""llama.cpp through llama-cpp-python's low-level ctypes bindings: the engine's only such module.

Everything that depends on the C API's shape (context parameters, the batch struct, the memory and
sampler functions) is here, behind `check_version()`: the bindings change with each llama.cpp they
wrap, so an untested version is refused at load with a clear `ModelLoadError` instead of crashing the
process in a C call. One `NativeModel` belongs to one thread (llama.cpp contexts are not thread-safe).

OpenMP waiting: llama.cpp's CPU backend runs each graph on an OpenMP team. How those threads wait
between graphs is read once by libgomp when `llama_cpp` is first imported, so `configure_openmp()` must
run before that import. Passive waiting (sleep at once) costs about 3x decode speed on 2 cores, because
every token wakes the team several times; spinning forever keeps cores busy while nothing generates.
A bounded spin (`GOMP_SPINCOUNT`) keeps the team hot between the graphs of one token and lets it sleep
a fraction of a millisecond after the last one.

One model a process: each model's decode thread brings its own OpenMP team, and once a process has more
OpenMP threads than cores, libgomp cuts every spin-wait to about 100 iterations (its "throttled" spin
count), which is passive waiting again: two-thread decoding lost ~40% with four models loaded in one
process. The client-bot loads one model; a second multi-threaded model in the same process is logged
as a warning (`openmp_oversubscribed`).

KV cache: one stream per sequence (`kv_unified=False`), each of `n_ctx_per_seq` cells. A sequence's
attention then only reads its own cells, so its results do not depend on where other sequences' cells
happen to lie (with a unified cache, cancelling one sequence changed the others' greedy text), and no
sequence can crowd another out of the cache.
"""

from __future__ import annotations

import ctypes
import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from client_bot.engine.errors import GenerationFailed, ModelLoadError
from shared.log import get_logger

log = get_logger(__name__)

# Versions whose low-level API this module was written and tested against (llama-cpp-python).
SUPPORTED_VERSIONS = ("0.3.36",)
# libgomp spin iterations before a waiting thread sleeps: about 0.1-0.3 ms on current CPUs.
DEFAULT_SPINCOUNT = "200000"
PENALTY_LAST_N = 64  # tokens the repeat penalty looks back over (llama-cpp-python's default)


def configure_openmp() -> None:
    """Bounded spin for llama.cpp's OpenMP threads; explicit settings in the environment win."""
    if "OMP_WAIT_POLICY" not in os.environ:
        os.environ.setdefault("GOMP_SPINCOUNT", DEFAULT_SPINCOUNT)


def openmp_oversubscribed(threads_per_model: Sequence[int], cpus: int | None) -> bool:
    """Whether models with these thread counts, alive in one process, outnumber the cores with threads."""
    return cpus is not None and len(threads_per_model) > 1 and sum(threads_per_model) > cpus


# Threads of each model alive in this process, for the one-model-a-process warning.
_live_threads: dict[int, int] = {}
_live_lock = threading.Lock()


def _register(model_id: int, threads: int) -> None:
    with _live_lock:
        _live_threads[model_id] = threads
        counts = list(_live_threads.values())
    if openmp_oversubscribed(counts, os.cpu_count()):
        log.warning(
            "%d llama.cpp models with %d threads in all are loaded in one process on %s cores: OpenMP "
            "then stops spin-waiting and every model decodes slower; run one model a process",
            len(counts),
            sum(counts),
            os.cpu_count(),
        )


def _unregister(model_id: int) -> None:
    with _live_lock:
        _live_threads.pop(model_id, None)


def _bindings() -> Any:
    configure_openmp()
    try:
        import llama_cpp  # noqa: PLC0415 — after configure_openmp(), and optional on fake-engine hosts
    except ImportError as error:
        raise ModelLoadError("llama-cpp-python is not installed (the `llm` extra)") from error
    # llama-cpp-python routes llama.cpp's log through this logger and prints everything below its level.
    logging.getLogger("llama-cpp-python").setLevel(logging.ERROR)
    return llama_cpp


def check_version(version: str) -> None:
    if version not in SUPPORTED_VERSIONS:
        raise ModelLoadError(
            f"llama-cpp-python {version} is not one this engine was tested with "
            f"({', '.join(SUPPORTED_VERSIONS)}); install one of those or update client_bot/engine/native.py"
        )


def supports_gpu_offload() -> bool:
    return bool(_bindings().llama_supports_gpu_offload())


@dataclass(frozen=True, slots=True)
class ContextOptions:
    n_ctx_per_seq: int
    n_seq: int
    n_batch: int
    n_threads: int
    n_gpu_layers: int | None  # None: every layer when the build can offload, else none
    flash_attn: bool | None  # None: llama.cpp decides


@dataclass(frozen=True, slots=True)
class SamplingOptions:
    temperature: float
    top_p: float
    min_p: float
    top_k: int
    repeat_penalty: float
    seed: int | None


@dataclass(slots=True)
class BatchEntry:
    token: int
    pos: int
    seq: int
    logits: bool


class Sampler:
    """A llama.cpp sampler chain for one sequence; `free()` it when the sequence ends."""

    def __init__(self, lib: Any, handle: Any) -> None:
        self._lib = lib
        self._handle = handle

    def accept(self, tokens: Sequence[int]) -> None:
        """Feed context tokens (the prompt's tail) so the repeat penalty sees them."""
        for token in tokens:
            self._lib.llama_sampler_accept(self._handle, token)

    def sample(self, ctx: Any, index: int) -> int:
        return int(self._lib.llama_sampler_sample(self._handle, ctx, index))

    def free(self) -> None:
        if self._handle is not None:
            self._lib.llama_sampler_free(self._handle)
            self._handle = None


class NativeModel:
    """A model, one context with `n_seq` sequences in a unified KV cache, and one reusable batch."""

    def __init__(self, path: Path, options: ContextOptions) -> None:
        lib = _bindings()
        check_version(lib.__version__)
        self._lib = lib
        self.options = options
        lib.llama_backend_init()
        model_params = lib.llama_model_default_params()
        if options.n_gpu_layers is not None:
            model_params.n_gpu_layers = options.n_gpu_layers
        elif lib.llama_supports_gpu_offload():
            model_params.n_gpu_layers = -1
        self._model = lib.llama_model_load_from_file(str(path).encode(), model_params)
        if not self._model:
            raise ModelLoadError(f"llama.cpp could not load {path}")
        params = lib.llama_context_default_params()
        params.n_ctx = options.n_ctx_per_seq * options.n_seq
        params.n_seq_max = options.n_seq
        params.n_batch = options.n_batch
        params.n_ubatch = options.n_batch
        params.n_threads = options.n_threads
        params.n_threads_batch = options.n_threads
        params.kv_unified = False  # a KV stream per sequence: see the module docstring
        params.no_perf = True
        if options.flash_attn is not None:
            enabled, disabled = lib.LLAMA_FLASH_ATTN_TYPE_ENABLED, lib.LLAMA_FLASH_ATTN_TYPE_DISABLED
            params.flash_attn_type = enabled if options.flash_attn else disabled
        self._ctx = lib.llama_init_from_model(self._model, params)
        if not self._ctx:
            lib.llama_model_free(self._model)
            raise ModelLoadError(f"llama.cpp could not create a context for {path} ({options})")
        self._vocab = lib.llama_model_get_vocab(self._model)
        self._memory = lib.llama_get_memory(self._ctx)
        self.n_vocab = int(lib.llama_vocab_n_tokens(self._vocab))
        self._batch = lib.llama_batch_init(options.n_batch, 0, 1)
        self._piece = ctypes.create_string_buffer(256)
        _register(id(self), options.n_threads)

    # Model facts.

    def metadata(self, key: str) -> str | None:
        size = 1 << 16
        buffer = ctypes.create_string_buffer(size)
        length = self._lib.llama_model_meta_val_str(self._model, key.encode(), buffer, size)
        if length < 0:
            return None
        return buffer.value.decode("utf-8", errors="replace")

    def bos(self) -> int:
        return int(self._lib.llama_vocab_bos(self._vocab))

    def eos(self) -> int:
        return int(self._lib.llama_vocab_eos(self._vocab))

    def is_end_of_generation(self, token: int) -> bool:
        return bool(self._lib.llama_vocab_is_eog(self._vocab, token))

    def tokenize(self, text: str) -> list[int]:
        """Tokens of already templated text (special tokens parsed, no BOS added)."""
        data = text.encode("utf-8")
        capacity = len(data) + 8
        buffer = (self._lib.llama_token * capacity)()
        count = self._lib.llama_tokenize(self._vocab, data, len(data), buffer, capacity, False, True)
        if count < 0:  # cannot happen with one token per byte at most, but be exact
            capacity = -count
            buffer = (self._lib.llama_token * capacity)()
            count = self._lib.llama_tokenize(self._vocab, data, len(data), buffer, capacity, False, True)
        return list(buffer[:count])

    def piece(self, token: int, *, special: bool = False) -> bytes:
        length = self._lib.llama_token_to_piece(self._vocab, token, self._piece, 256, 0, special)
        if length < 0:
            buffer = ctypes.create_string_buffer(-length)
            length = self._lib.llama_token_to_piece(self._vocab, token, buffer, -length, 0, special)
            return buffer.raw[:length]
        return self._piece.raw[:length]

    # Decoding.

    def decode(self, entries: Sequence[BatchEntry]) -> None:
        """One `llama_decode` of up to n_batch tokens; raises `GenerationFailed` if llama.cpp refuses."""
        batch = self._batch
        for i, entry in enumerate(entries):
            batch.token[i] = entry.token
            batch.pos[i] = entry.pos
            batch.n_seq_id[i] = 1
            batch.seq_id[i][0] = entry.seq
            batch.logits[i] = entry.logits
        batch.n_tokens = len(entries)
        status = self._lib.llama_decode(self._ctx, batch)
        if status != 0:
            raise GenerationFailed(f"llama_decode returned {status} for a batch of {len(entries)} tokens")

    def new_sampler(self, options: SamplingOptions) -> Sampler:
        lib = self._lib
        chain = lib.llama_sampler_chain_init(lib.llama_sampler_chain_default_params())
        if options.repeat_penalty != 1.0:
            penalties = lib.llama_sampler_init_penalties(
                self.n_vocab, PENALTY_LAST_N, options.repeat_penalty, 0.0, 0.0
            )
            lib.llama_sampler_chain_add(chain, penalties)
        if options.temperature <= 0:
            lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_greedy())
        else:
            if options.top_k > 0:
                lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_top_k(options.top_k))
            lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_top_p(options.top_p, 1))
            if options.min_p > 0:
                lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_min_p(options.min_p, 1))
            lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_temp(options.temperature))
            seed = lib.LLAMA_DEFAULT_SEED if options.seed is None else options.seed & 0xFFFFFFFF
            lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_dist(seed))
        return Sampler(lib, chain)

    def sample(self, sampler: Sampler, index: int) -> int:
        return sampler.sample(self._ctx, index)

    def forget(self, seq: int, from_pos: int = 0) -> None:
        """Drop sequence `seq`'s cache from position `from_pos` on."""
        self._lib.llama_memory_seq_rm(self._memory, seq, from_pos, -1)

    def close(self) -> None:
        if self._ctx:
            self._lib.llama_batch_free(self._batch)
            self._lib.llama_free(self._ctx)
            self._lib.llama_model_free(self._model)
            self._ctx = None
            _unregister(id(self))
