"""Each pipeline built with random weights and saved as a folder the engine loads.

``tiny`` sizes (a few MB, seconds on a CPU) let the tests and the CPU benchmark run the real
classes and the real loading code without downloading weights; ``full`` builds the published
architecture (the diffusers classes' default configs, which are the released checkpoints',
plus the text encoders those checkpoints ship) so a benchmark measures the real speed and
memory: random weights compute as fast as trained ones. Tokenizers are built in memory:
nothing here touches a hub.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import diffusers
import torch
from transformers import (
    GemmaTokenizer,
    Qwen2Tokenizer,
    Qwen3Config,
    Qwen3ForCausalLM,
    Qwen3Model,
    T5Config,
    T5EncoderModel,
    T5GemmaConfig,
    T5GemmaEncoderModel,
    T5Tokenizer,
)
from transformers.convert_slow_tokenizer import bytes_to_unicode
from transformers.models.t5gemma.configuration_t5gemma import T5GemmaModuleConfig

SIZES = ("tiny", "full")
QWEN_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|caption_start|>",
                 "<|caption_end|>", "<|lyrics_start|>", "<|lyrics_end|>", "<|audio_start|>"]
#: MiniMax Music 3's encoders hard-code token ids up to its audio codes' end.
MINIMAX_VOCAB = 168059


def build(pipeline: str, folder: Path, size: str = "tiny", seed: int = 0) -> Path:
    """Build ``pipeline`` at ``size`` with random weights and save it to ``folder``."""
    if size not in SIZES:
        raise ValueError(f"size must be one of {SIZES}")
    torch.manual_seed(seed)
    builders: dict[str, Callable[[bool], Any]] = {
        "stable-audio-3": stable_audio_3, "ace-step-1.5": ace_step,
        "minimax-music-3": minimax_music_3, "stable-audio-open": stable_audio_open}
    pipe = builders[pipeline](size == "tiny")
    folder.mkdir(parents=True, exist_ok=True)
    pipe.save_pretrained(str(folder))
    return folder


# -- tokenizers ------------------------------------------------------------------------------
def qwen_tokenizer() -> Qwen2Tokenizer:
    """A byte-level Qwen2 tokenizer: every byte a token, plus the chat and music specials."""
    vocab = {char: i for i, char in enumerate(bytes_to_unicode().values())}
    tokenizer = Qwen2Tokenizer(vocab=vocab, merges=[], unk_token=None)  # type: ignore[arg-type]
    tokenizer.add_tokens(QWEN_SPECIALS, special_tokens=True)
    tokenizer.pad_token = tokenizer.eos_token = "<|endoftext|>"
    return tokenizer


def gemma_tokenizer() -> GemmaTokenizer:
    """A Gemma tokenizer of bytes and letters."""
    vocab = {name: i for i, name in enumerate(["<pad>", "<eos>", "<bos>", "<unk>", "<mask>", "▁"])}
    for byte in range(256):
        vocab[f"<0x{byte:02X}>"] = len(vocab)
    for char in "abcdefghijklmnopqrstuvwxyz0123456789,.'-":
        vocab.setdefault(char, len(vocab))
    return GemmaTokenizer(vocab=vocab, merges=[])


# -- the pipelines ---------------------------------------------------------------------------
def stable_audio_3(tiny: bool) -> Any:
    tokenizer = gemma_tokenizer()
    if tiny:
        module = T5GemmaModuleConfig(vocab_size=len(tokenizer), hidden_size=16,
                                     intermediate_size=32, num_hidden_layers=2,
                                     num_attention_heads=2, num_key_value_heads=1, head_dim=8,
                                     layer_types=["full_attention"] * 2)
        dit = diffusers.StableAudio3DiTModel(
            io_channels=8, embed_dim=32, depth=2, num_heads=4, cond_token_dim=16,
            global_cond_dim=16, local_add_cond_dim=9, timestep_features_dim=16,
            num_memory_tokens=3, use_differential_attention=False)
        vae = diffusers.AutoencoderSAME(
            patch_size=2, encoder_channels=8, encoder_c_mults=(2,), encoder_strides=(2,),
            encoder_transformer_depths=(1,), latent_dim=8, use_differential_attention=False,
            dim_heads=4, ff_mult=2, sampling_rate=16)
        durations = diffusers.StableAudio3DurationEmbedder(output_dim=16, fourier_dim=16)
        # Some layers start at zero, and the tiny VAE would then decode every latent alike.
        _wake_zero_weights(vae)
        _wake_zero_weights(dit)
    else:
        module = T5GemmaModuleConfig(hidden_size=768, intermediate_size=2048,
                                     num_hidden_layers=12, num_attention_heads=12,
                                     num_key_value_heads=12, head_dim=64)
        dit, vae = diffusers.StableAudio3DiTModel(), diffusers.AutoencoderSAME()
        durations = diffusers.StableAudio3DurationEmbedder()
    encoder = T5GemmaEncoderModel(T5GemmaConfig(encoder=module, decoder=module,
                                                is_encoder_decoder=False))
    return diffusers.StableAudio3Pipeline(
        vae=vae, text_encoder=encoder, tokenizer=tokenizer, duration_embedder=durations,
        transformer=dit, scheduler=diffusers.FlowMatchEulerDiscreteScheduler(
            stochastic_sampling=True))


def stable_audio_open(tiny: bool) -> Any:
    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -2.0)]
    vocab += [(char, -3.0) for char in "abcdefghijklmnopqrstuvwxyz0123456789,.'-"]
    tokenizer = T5Tokenizer(vocab=vocab, extra_ids=0, model_max_length=128)
    if tiny:
        text = T5Config(vocab_size=len(vocab), d_model=16, d_kv=4, d_ff=32, num_layers=2,
                        num_heads=4)
        # The longest output is sample_size latents: 384 make 48 s at this VAE's 8 latents/s,
        # like the published model's 47.55 s (diffusers' own test's 4 make 0.5 s).
        dit = diffusers.StableAudioDiTModel(
            sample_size=384, in_channels=3, num_layers=2, attention_head_dim=4,
            num_key_value_attention_heads=2, out_channels=3, cross_attention_dim=4,
            time_proj_dim=8, global_states_input_dim=8, cross_attention_input_dim=4)
        vae = diffusers.AutoencoderOobleck(
            encoder_hidden_size=6, downsampling_ratios=[1, 2], decoder_input_channels=3,
            channel_multiples=[2, 4], audio_channels=2, sampling_rate=16)
        projection = diffusers.StableAudioProjectionModel(
            text_encoder_dim=16, conditioning_dim=4, min_value=0, max_value=32)
    else:
        text = T5Config(vocab_size=32128, d_model=768, d_kv=64, d_ff=3072, num_layers=12,
                        num_heads=12)
        dit, vae = diffusers.StableAudioDiTModel(), diffusers.AutoencoderOobleck()
        projection = diffusers.StableAudioProjectionModel(
            text_encoder_dim=768, conditioning_dim=768, min_value=0, max_value=512)
    return diffusers.StableAudioPipeline(
        vae=vae, text_encoder=T5EncoderModel(text), projection_model=projection,
        tokenizer=tokenizer, transformer=dit,
        scheduler=diffusers.CosineDPMSolverMultistepScheduler())


def ace_step(tiny: bool) -> Any:
    tokenizer = qwen_tokenizer()
    if tiny:
        shared: dict[str, Any] = {"hidden_size": 32, "intermediate_size": 64,
                                  "num_attention_heads": 2, "num_key_value_heads": 1,
                                  "head_dim": 16, "sliding_window": 16}
        text = Qwen3Config(vocab_size=len(tokenizer), num_hidden_layers=2,
                           **{k: v for k, v in shared.items() if k != "sliding_window"})
        dit = diffusers.AceStepTransformer1DModel(
            num_hidden_layers=2, in_channels=24, audio_acoustic_hidden_dim=8, patch_size=2,
            **shared)
        conditions = diffusers.AceStepConditionEncoder(
            text_hidden_dim=32, timbre_hidden_dim=8, num_lyric_encoder_hidden_layers=2,
            num_timbre_encoder_hidden_layers=2, **shared)
        vae = diffusers.AutoencoderOobleck(encoder_hidden_size=16, decoder_input_channels=8,
                                           downsampling_ratios=[2, 2], channel_multiples=[1, 2],
                                           decoder_channels=16, sampling_rate=100)
    else:
        text = Qwen3Config(vocab_size=len(tokenizer), hidden_size=1024, intermediate_size=3072,
                           num_hidden_layers=28, num_attention_heads=16,
                           num_key_value_heads=8, head_dim=128)
        dit, conditions = diffusers.AceStepTransformer1DModel(), \
            diffusers.AceStepConditionEncoder()
        vae = diffusers.AutoencoderOobleck(downsampling_ratios=[2, 4, 4, 6, 10],
                                           decoder_input_channels=64, sampling_rate=48000)
    return diffusers.AceStepPipeline(
        vae=vae, text_encoder=Qwen3Model(text), tokenizer=tokenizer, transformer=dit,
        condition_encoder=conditions,
        scheduler=diffusers.FlowMatchEulerDiscreteScheduler(num_train_timesteps=1, shift=1.0))


def minimax_music_3(tiny: bool) -> Any:
    from diffusers.guiders import ClassifierFreeGuidance

    if tiny:
        lm = Qwen3Config(vocab_size=MINIMAX_VOCAB, hidden_size=16, intermediate_size=32,
                         num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1,
                         head_dim=8, tie_word_embeddings=True)
        parts = {
            "rvq_depth_decoder": diffusers.MiniMaxMusic3RVQDepthDecoder(
                hidden_size=16, num_layers=1, num_attention_heads=2, intermediate_size=32,
                audio_vocab_size=64, num_codebooks=8),
            "condition_encoder": diffusers.MiniMaxMusic3ConditionEncoder(
                condition_hidden_dim=16, num_condition_layers=8, out_dim=16),
            "transformer": diffusers.MiniMaxMusic3Transformer1DModel(
                in_channels=8, condition_dim=16, num_layers=2, num_attention_heads=2,
                attention_head_dim=8, ff_inner_dim=32, rotary_dim=4, fourier_embedding_dim=16),
            "vocoder": diffusers.MiniMaxMusic3Vocoder(
                latent_channels=8, decoder_input_dim=16, decoder_hidden_dim=32,
                upsampling_ratios=(8, 8, 8)),
        }
    else:
        lm = Qwen3Config(vocab_size=MINIMAX_VOCAB, hidden_size=4096, intermediate_size=12288,
                         num_hidden_layers=36, num_attention_heads=32, num_key_value_heads=8,
                         head_dim=128, tie_word_embeddings=False)
        parts = {"rvq_depth_decoder": diffusers.MiniMaxMusic3RVQDepthDecoder(),
                 "condition_encoder": diffusers.MiniMaxMusic3ConditionEncoder(),
                 "transformer": diffusers.MiniMaxMusic3Transformer1DModel(),
                 "vocoder": diffusers.MiniMaxMusic3Vocoder()}
    blocks: Any = diffusers.MiniMaxMusic3Blocks()
    pipe = blocks.init_pipeline()
    pipe.update_components(tokenizer=qwen_tokenizer(), language_model=Qwen3ForCausalLM(lm),
                           scheduler=diffusers.FlowMatchEulerDiscreteScheduler(),
                           guider=ClassifierFreeGuidance(guidance_scale=1.7), **parts)
    return pipe


@torch.no_grad()
def _wake_zero_weights(model: Any, scale: float = 0.05) -> None:
    """Give the all-zero weight tensors of a random model small random values."""
    for name, param in model.named_parameters():
        if name.endswith("weight") and param.numel() > 1 and not param.any():
            param.normal_(0.0, scale)
