"""CLIP's BPE tokenizer, built with Hugging Face ``tokenizers`` from CLIP's merges file.

Faithful to open_clip's ``SimpleTokenizer``: the vocabulary is the 256 byte symbols, the same
with ``</w>``, one entry per merge (the first 48,894 merges of ``bpe_simple_vocab_16e6.txt.gz``),
then ``<start_of_text>`` and ``<end_of_text>``. Text is HTML-unescaped, whitespace-collapsed,
lower-cased, split with CLIP's regex, byte-encoded, BPE-merged; sequences are
``[sot] + tokens + [eot]`` truncated to the context length (last kept token set to eot) and padded
with 0. open_clip also runs ``ftfy.fix_text`` (repairs mis-decoded Unicode); that is left out.
"""

from __future__ import annotations

import gzip
import html
from pathlib import Path

import numpy as np
import numpy.typing as npt
from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers

# open_clip: merges[1 : 49152 - 256 - 2 + 1]
MAX_MERGES = 49152 - 256 - 2
SOT = "<start_of_text>"
EOT = "<end_of_text>"
# CLIP's split pattern (applied after lower-casing, so open_clip's IGNORECASE changes nothing).
_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""

IntArray = npt.NDArray[np.int64]


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2/CLIP's reversible byte -> printable character table."""
    printable = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    chars = printable[:]
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return {b: chr(c) for b, c in zip(printable, chars, strict=True)}


def read_merges(path: Path) -> list[tuple[str, str]]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        lines = fh.read().split("\n")
    merges: list[tuple[str, str]] = []
    for line in lines[1 : MAX_MERGES + 1]:  # line 0 is a version comment
        parts = line.split()
        if len(parts) == 2:
            merges.append((parts[0], parts[1]))
    return merges


class ClipTokenizer:
    def __init__(self, merges: list[tuple[str, str]], context_length: int = 77) -> None:
        if context_length < 2:
            raise ValueError("context_length must leave room for the start and end tokens")
        symbols = list(bytes_to_unicode().values())
        vocab_list = symbols + [s + "</w>" for s in symbols] + ["".join(m) for m in merges]
        vocab_list += [SOT, EOT]
        vocab = {token: i for i, token in enumerate(vocab_list)}
        self.sot_id = vocab[SOT]
        self.eot_id = vocab[EOT]
        self.vocab_size = len(vocab)
        self.context_length = context_length
        tok = Tokenizer(
            models.BPE(
                vocab=vocab,
                merges=merges,
                continuing_subword_prefix="",
                end_of_word_suffix="</w>",
                unk_token=None,
            )
        )
        tok.normalizer = normalizers.Sequence(
            [normalizers.NFC(), normalizers.Replace(Regex(r"\s+"), " "), normalizers.Lowercase()]
        )
        tok.pre_tokenizer = pre_tokenizers.Sequence(
            [
                pre_tokenizers.Split(Regex(_PATTERN), behavior="removed", invert=True),
                pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
            ]
        )
        self._tok = tok

    @classmethod
    def from_file(cls, path: Path, context_length: int = 77) -> ClipTokenizer:
        return cls(read_merges(path), context_length)

    def encode_ids(self, text: str) -> list[int]:
        """BPE token ids of ``text`` without start/end tokens or padding."""
        cleaned = html.unescape(html.unescape(text)).strip()
        return list(self._tok.encode(cleaned, add_special_tokens=False).ids)

    def __call__(self, text: str) -> IntArray:
        """``[context_length] int64``: sot, tokens, eot, zero padding (open_clip's layout)."""
        ids = [self.sot_id, *self.encode_ids(text), self.eot_id]
        if len(ids) > self.context_length:
            ids = ids[: self.context_length]
            ids[-1] = self.eot_id
        out = np.zeros(self.context_length, dtype=np.int64)
        out[: len(ids)] = ids
        return out
