"""CLIP text: tokenizer faithful to open_clip, spec validation, runner on a tiny ONNX."""

from __future__ import annotations

import html
import re
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from cl_server.errors import PluginUnavailableError
from cl_server.plugins.clip_text_embedding.runner import ClipTextRunner
from cl_server.plugins.clip_text_embedding.spec import (
    MAX_TEXT_CHARS,
    ClipTextEmbeddingParams,
    ClipTextEmbeddingSpec,
)
from cl_server.plugins.clip_text_embedding.tokenizer import (
    ClipTokenizer,
    bytes_to_unicode,
    read_merges,
)
from tests.unit.plugins.ml_support import (
    TINY_MERGES,
    job,
    make_text_encoder,
    make_vocab,
)

TEXTS = [
    "a photo of a cat",
    "A PHOTO of  dogs\tand cats!",
    "photos of 42 cats, 7 dogs &amp; an otter's toy",
    "naïve café — über",
    "catcatdog dogs'photo",
    "   ",
]


class ReferenceTokenizer:
    """open_clip's SimpleTokenizer.bpe/encode, transcribed (Python ``re`` in place of ``regex``;
    the test texts avoid the few characters where ``\\p{L}``/``\\p{N}`` and ``re`` differ)."""

    def __init__(self, merges: list[tuple[str, str]]) -> None:
        self.byte_encoder = bytes_to_unicode()
        vocab = list(self.byte_encoder.values())
        vocab = vocab + [v + "</w>" for v in vocab] + ["".join(m) for m in merges]
        vocab += ["<start_of_text>", "<end_of_text>"]
        self.encoder = {t: i for i, t in enumerate(vocab)}
        self.ranks = {m: i for i, m in enumerate(merges)}
        self.pat = re.compile(r"'s|'t|'re|'ve|'m|'ll|'d|[^\W\d_]+|\d|[^\s\w]+|_+")

    def bpe(self, token: str) -> list[str]:
        word = [*token[:-1], token[-1] + "</w>"]
        while len(word) > 1:
            pairs = {(word[i], word[i + 1]) for i in range(len(word) - 1)}
            best = min(pairs, key=lambda p: self.ranks.get(p, float("inf")))
            if best not in self.ranks:
                break
            merged: list[str] = []
            i = 0
            while i < len(word):
                if i < len(word) - 1 and (word[i], word[i + 1]) == best:
                    merged.append(word[i] + word[i + 1])
                    i += 2
                else:
                    merged.append(word[i])
                    i += 1
            word = merged
        return word

    def encode(self, text: str) -> list[int]:
        text = html.unescape(html.unescape(text)).strip()
        text = re.sub(r"\s+", " ", text).strip().lower()
        ids: list[int] = []
        for token in self.pat.findall(text):
            chars = "".join(self.byte_encoder[b] for b in token.encode("utf-8"))
            ids.extend(self.encoder[t] for t in self.bpe(chars))
        return ids


@pytest.fixture
def vocab(tmp_path: Path) -> Path:
    return make_vocab(tmp_path / "vocab.txt.gz")


def test_vocab_layout_matches_open_clip(vocab: Path) -> None:
    tok = ClipTokenizer.from_file(vocab)
    assert tok.vocab_size == 512 + len(TINY_MERGES) + 2
    assert (tok.sot_id, tok.eot_id) == (tok.vocab_size - 2, tok.vocab_size - 1)
    assert read_merges(vocab) == TINY_MERGES


@pytest.mark.parametrize("text", TEXTS)
def test_token_ids_match_reference_bpe(vocab: Path, text: str) -> None:
    tok = ClipTokenizer.from_file(vocab)
    assert tok.encode_ids(text) == ReferenceTokenizer(TINY_MERGES).encode(text)


def test_merges_are_applied(vocab: Path) -> None:
    tok = ClipTokenizer.from_file(vocab)
    ref = ReferenceTokenizer(TINY_MERGES)
    assert tok.encode_ids("cat photo") == [ref.encoder["cat</w>"], ref.encoder["photo</w>"]]


def test_sequence_layout_truncation_and_padding(vocab: Path) -> None:
    tok = ClipTokenizer.from_file(vocab, context_length=8)
    short = tok("cat")
    assert short.dtype == np.int64 and short.shape == (8,)
    assert list(short[:3]) == [tok.sot_id, tok.encode_ids("cat")[0], tok.eot_id]
    assert not short[3:].any()
    long = tok("cat " * 20)
    assert long[0] == tok.sot_id and long[-1] == tok.eot_id and len(long) == 8


REAL_VOCAB = Path(__file__).resolve().parents[2] / "data" / "clip" / "bpe_simple_vocab_16e6.txt.gz"


def test_real_vocab_gives_clips_known_ids() -> None:
    tok = ClipTokenizer.from_file(REAL_VOCAB)
    assert tok.vocab_size == 49408
    assert (tok.sot_id, tok.eot_id) == (49406, 49407)
    assert list(tok("a photo of a cat")[:7]) == [49406, 320, 1125, 539, 320, 2368, 49407]


@pytest.mark.parametrize(
    "text", [*TEXTS, "The quick brown fox jumps over the lazy dog.", "e-mail: foo@bar.com (2024)"]
)
def test_real_vocab_matches_reference_bpe(text: str) -> None:
    tok = ClipTokenizer.from_file(REAL_VOCAB)
    assert tok.encode_ids(text) == ReferenceTokenizer(read_merges(REAL_VOCAB)).encode(text)


@pytest.mark.parametrize("bad", ["", "   ", "x" * (MAX_TEXT_CHARS + 1)])
def test_text_must_be_non_empty_and_bounded(bad: str) -> None:
    with pytest.raises(ValidationError):
        ClipTextEmbeddingParams.model_validate({"text": bad})


def test_spec_contract() -> None:
    spec = ClipTextEmbeddingSpec()
    params = ClipTextEmbeddingParams.model_validate({"text": "a dog", "normalize": "off"})
    assert spec.task_type == "clip_text_embedding" and spec.requires_file is False
    assert spec.output_path(params, None) == "output/clip_text_embedding.npy"
    assert spec.stored_params(params) == {"text": "a dog", "normalize": False}


def test_missing_model_makes_plugin_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CL_SERVER_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CL_MODELS_DIR", raising=False)
    with pytest.raises(PluginUnavailableError, match="cl-server models pull mobileclip-s2"):
        ClipTextEmbeddingSpec().load(tmp_path / "models")


def tiny_text_model(tmp_path: Path) -> tuple[Path, np.ndarray]:
    root = tmp_path / "models"
    make_vocab(root / "mobileclip-s2" / "bpe_simple_vocab_16e6.txt.gz")
    weight = make_text_encoder(root / "mobileclip-s2" / "text_model.onnx", context_length=77)
    return root, weight


def test_runner_embeds_text_and_batches_identically(tmp_path: Path) -> None:
    root, weight = tiny_text_model(tmp_path)
    runner = ClipTextEmbeddingSpec().load(root)
    assert isinstance(runner, ClipTextRunner) and runner.max_batch_size > 1
    texts = ["a photo of a cat", "dogs", "an otter"]
    singles = []
    for i, text in enumerate(texts):
        out = runner.run(job(tmp_path, f"s{i}", None, text=text, normalize=True))
        assert out == {"embedding_dim": 8, "normalized": True}
        vec = np.load(tmp_path / "jobs" / f"s{i}" / "output/clip_text_embedding.npy")
        expected = runner.tokenizer(text).astype(np.float32) @ weight
        np.testing.assert_allclose(vec, expected / np.linalg.norm(expected), rtol=1e-5)
        singles.append(vec)
    contexts = [job(tmp_path, f"b{i}", None, text=t, normalize=True) for i, t in enumerate(texts)]
    results = runner.run_batch(contexts)
    assert all(isinstance(r, dict) for r in results)
    for i, single in enumerate(singles):
        batched = np.load(tmp_path / "jobs" / f"b{i}" / "output/clip_text_embedding.npy")
        np.testing.assert_allclose(batched, single, atol=1e-5)


def test_runner_rejects_blank_text_for_that_job_only(tmp_path: Path) -> None:
    root, _ = tiny_text_model(tmp_path)
    runner = ClipTextEmbeddingSpec().load(root)
    results = runner.run_batch(
        [job(tmp_path, "ok", None, text="cat"), job(tmp_path, "bad", None, text="  ")]
    )
    assert isinstance(results[0], dict)
    assert isinstance(results[1], Exception) and "non-empty" in str(results[1])
