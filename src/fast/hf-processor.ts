/**
 * `processing_action_tokenizer.py`, written beside a FAST artifact's `processor_config.json` (whose `auto_map`
 * names it) so that `AutoProcessor.from_pretrained(folder, trust_remote_code=True)` — how LeRobot and openpi load
 * `--policy.action_tokenizer_name` — loads the folder. Our own implementation of the reference processor's
 * behaviour (REFERENCE §1): DCT-II ortho along time, round half to even, frequency-major flatten, shift by
 * `min_token` with clamping at 0, one code point per value, byte-level BPE; decode inverts it and returns all
 * zeros (with a warning) for a malformed sequence, as the reference does.
 */
export const PROCESSOR_MODULE_FILE = "processing_action_tokenizer.py";

export const PROCESSOR_MODULE_SOURCE = `"""FAST action tokenizer (DCT + byte-level BPE) for transformers' AutoProcessor, written by pi0fast_ros.

AutoProcessor.from_pretrained(folder, trust_remote_code=True) loads it; it encodes and decodes action chunks as
the FAST reference processor (UniversalActionProcessor) does.
"""

import logging

import numpy as np
from scipy.fft import dct, idct
from transformers.processing_utils import ProcessorMixin

logger = logging.getLogger(__name__)


class UniversalActionProcessor(ProcessorMixin):
    attributes = ["tokenizer"]
    tokenizer_class = "AutoTokenizer"

    def __init__(self, tokenizer, scale=10, vocab_size=1024, min_token=0, action_dim=None, time_horizon=None):
        self.scale = scale
        self.vocab_size = vocab_size
        self.min_token = min_token
        # decode() needs the chunk shape: its arguments first, then these (positional parameters, so AutoProcessor
        # passes them from processor_config.json), then the last encoded chunk's.
        self.time_horizon = time_horizon
        self.action_dim = action_dim
        self.called_time_horizon = time_horizon
        self.called_action_dim = action_dim
        super().__init__(tokenizer)
        self.bpe_tokenizer = self.tokenizer

    def __call__(self, action_chunk):
        chunks = np.asarray(action_chunk, dtype=np.float64)
        if chunks.ndim == 2:
            chunks = chunks[None, ...]
        if chunks.ndim != 3:
            raise ValueError(f"action_chunk: expected [timesteps, action_dim] or [batch, timesteps, action_dim], got shape {chunks.shape}")
        self.called_time_horizon = chunks.shape[1]
        self.called_action_dim = chunks.shape[2]
        quantized = np.around(dct(chunks, axis=1, norm="ortho") * self.scale)
        token_ids = []
        for chunk in quantized:
            values = np.maximum(chunk.reshape(-1) - self.min_token, 0).astype(int)
            token_ids.append(self.bpe_tokenizer("".join(chr(v) for v in values))["input_ids"])
        return token_ids

    def decode(self, tokens, *, time_horizon=None, action_dim=None):
        self.time_horizon = time_horizon or self.time_horizon or self.called_time_horizon
        self.action_dim = action_dim or self.action_dim or self.called_action_dim
        self.called_time_horizon = self.time_horizon
        self.called_action_dim = self.action_dim
        if self.time_horizon is None or self.action_dim is None:
            raise ValueError("decode: the chunk shape is unknown; pass time_horizon and action_dim, or encode a chunk first")
        chunks = []
        for sequence in tokens:
            try:
                text = self.bpe_tokenizer.decode(sequence)
                coefficients = np.array([ord(char) for char in text]) + self.min_token
                if coefficients.shape[0] != self.time_horizon * self.action_dim:
                    raise ValueError(f"{coefficients.shape[0]} coefficients, expected {self.time_horizon} x {self.action_dim}")
                coefficients = coefficients.reshape(self.time_horizon, self.action_dim)
            except Exception as error:
                logger.warning("Error decoding tokens %s: %s", sequence, error)
                coefficients = np.zeros((self.time_horizon, self.action_dim))
            chunks.append(idct(coefficients / self.scale, axis=0, norm="ortho"))
        return np.stack(chunks)
`;
