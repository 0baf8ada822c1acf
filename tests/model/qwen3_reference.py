#!/usr/bin/env python3
"""Independent reference for the C++ Qwen3 encoder tests (python3 + python3-torch only).

Two commands:

  make  --out DIR [--seed S] [--vocab V] [--dtype f32|bf16|f16] [--shards N] [--prefix model.|none]
        Writes a tiny random Qwen3 checkpoint folder: config.json and
        model.safetensors (or N shards + model.safetensors.index.json), with a
        hand-written safetensors writer. Sizes: 2 layers, hidden 64, 4 query
        heads, 2 key/value heads, head_dim 16, intermediate 128.

  embed --model DIR --ids FILE [--dims 0,8,...] [--hidden]
        Reads the checkpoint with its own safetensors reader and prints JSON
        {"embeddings": {"<dim>": [[...], ...]}, "hidden": [...]} for the id
        sequences in FILE (a JSON list of lists). Each sequence is run alone
        (no batching, no padding) in float64, written from the published
        architecture (Hugging Face modeling_qwen3.py / the Qwen3 report):
        RMSNorm, q/k per-head RMSNorm before RoPE, rotate_half RoPE, GQA with
        kv head = q head // (heads / kv_heads), causal softmax attention,
        SwiGLU MLP, final norm, last-token pooling, L2 normalisation,
        Matryoshka truncation = first dims renormalised.

No transformers, no numpy-only tricks shared with the C++ code.
"""
import argparse
import json
import math
import os
import struct
import sys

import torch

TINY = dict(
    hidden_size=64,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    head_dim=16,
    intermediate_size=128,
    rms_norm_eps=1e-6,
    rope_theta=10000.0,
    max_position_embeddings=4096,
)

DTYPES = {
    "f32": ("F32", torch.float32),
    "bf16": ("BF16", torch.bfloat16),
    "f16": ("F16", torch.float16),
}
FROM_NAME = {"F32": torch.float32, "BF16": torch.bfloat16, "F16": torch.float16}


# ----------------------------------------------------------------------------
# safetensors, by hand


def tensor_bytes(t):
    """Little-endian raw bytes of a CPU tensor (bf16 through an int16 view)."""
    t = t.contiguous()
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16)
    return t.numpy().tobytes()


def write_safetensors(path, tensors, dtype_name):
    header = {}
    blobs = []
    offset = 0
    for name, t in tensors:
        data = tensor_bytes(t)
        header[name] = {"dtype": dtype_name, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - (8 + len(text)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
    return offset


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        b, en = e["data_offsets"]
        buf = bytearray(raw[8 + n + b : 8 + n + en])
        dt = FROM_NAME[e["dtype"]]
        t = torch.frombuffer(buf, dtype=dt) if len(buf) else torch.empty(0, dtype=dt)
        out[name] = t.reshape(e["shape"]).to(torch.float64)
    return out


def read_checkpoint(folder):
    index = os.path.join(folder, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    tensors = {}
    for name in files:
        tensors.update(read_safetensors(os.path.join(folder, name)))
    # accept names with or without the "model." prefix
    return {(k[len("model.") :] if k.startswith("model.") else k): v for k, v in tensors.items()}


# ----------------------------------------------------------------------------
# checkpoint writer


def make(args):
    cfg = dict(TINY)
    cfg.update(
        model_type="qwen3",
        architectures=["Qwen3ForCausalLM"],
        vocab_size=args.vocab,
        tie_word_embeddings=True,
        attention_bias=False,
        hidden_act="silu",
        rope_scaling=None,
        use_sliding_window=False,
        torch_dtype={"f32": "float32", "bf16": "bfloat16", "f16": "float16"}[args.dtype],
        eos_token_id=args.vocab - 1 if args.vocab < 151643 else 151643,
    )
    g = torch.Generator().manual_seed(args.seed)
    h, d = cfg["hidden_size"], cfg["head_dim"]
    nh, nkv, inter = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["intermediate_size"]

    def mat(rows, cols):  # std 1/sqrt(cols) keeps activations O(1) so every part matters
        return torch.randn(rows, cols, generator=g, dtype=torch.float64) / math.sqrt(cols)

    def norm_w(n):
        return 0.5 + torch.rand(n, generator=g, dtype=torch.float64)

    w = [("embed_tokens.weight", torch.randn(args.vocab, h, generator=g, dtype=torch.float64))]
    for i in range(cfg["num_hidden_layers"]):
        p = f"layers.{i}."
        w += [
            (p + "input_layernorm.weight", norm_w(h)),
            (p + "self_attn.q_proj.weight", mat(nh * d, h)),
            (p + "self_attn.k_proj.weight", mat(nkv * d, h)),
            (p + "self_attn.v_proj.weight", mat(nkv * d, h)),
            (p + "self_attn.o_proj.weight", mat(h, nh * d)),
            (p + "self_attn.q_norm.weight", norm_w(d)),
            (p + "self_attn.k_norm.weight", norm_w(d)),
            (p + "post_attention_layernorm.weight", norm_w(h)),
            (p + "mlp.gate_proj.weight", mat(inter, h)),
            (p + "mlp.up_proj.weight", mat(inter, h)),
            (p + "mlp.down_proj.weight", mat(h, inter)),
        ]
    w.append(("norm.weight", norm_w(h)))
    prefix = "" if args.prefix == "none" else args.prefix
    dtype_name, dtype = DTYPES[args.dtype]
    tensors = [(prefix + name, t.to(dtype)) for name, t in w]
    if prefix:  # a causal-LM checkpoint also carries lm_head, which the encoder ignores
        tensors.append(("lm_head.weight", w[0][1].to(dtype)))

    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    if args.shards <= 1:
        write_safetensors(os.path.join(args.out, "model.safetensors"), tensors, dtype_name)
    else:
        per = (len(tensors) + args.shards - 1) // args.shards
        weight_map, total = {}, 0
        for s in range(args.shards):
            part = tensors[s * per : (s + 1) * per]
            fname = f"model-{s + 1:05d}-of-{args.shards:05d}.safetensors"
            total += write_safetensors(os.path.join(args.out, fname), part, dtype_name)
            for name, _ in part:
                weight_map[name] = fname
        with open(os.path.join(args.out, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)


# ----------------------------------------------------------------------------
# reference forward pass (float64, one sequence at a time)


def rms_norm(x, weight, eps):
    return weight * (x / torch.sqrt((x * x).mean(dim=-1, keepdim=True) + eps))


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


def forward(W, cfg, ids):
    eps, d = cfg["rms_norm_eps"], cfg["head_dim"]
    nh, nkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    s = len(ids)
    x = W["embed_tokens.weight"][torch.tensor(ids, dtype=torch.long)]  # [s, hidden]
    inv_freq = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, d, 2, dtype=torch.float64) / d))
    angles = torch.arange(s, dtype=torch.float64)[:, None] * inv_freq[None, :]  # [s, d/2]
    cos = torch.cat([angles.cos(), angles.cos()], dim=-1)  # [s, d]
    sin = torch.cat([angles.sin(), angles.sin()], dim=-1)
    causal = torch.ones(s, s, dtype=torch.bool).tril()
    for i in range(cfg["num_hidden_layers"]):
        p = f"layers.{i}."
        h = rms_norm(x, W[p + "input_layernorm.weight"], eps)
        q = (h @ W[p + "self_attn.q_proj.weight"].T).reshape(s, nh, d)
        k = (h @ W[p + "self_attn.k_proj.weight"].T).reshape(s, nkv, d)
        v = (h @ W[p + "self_attn.v_proj.weight"].T).reshape(s, nkv, d)
        q = rms_norm(q, W[p + "self_attn.q_norm.weight"], eps)
        k = rms_norm(k, W[p + "self_attn.k_norm.weight"], eps)
        q = q * cos[:, None, :] + rotate_half(q) * sin[:, None, :]
        k = k * cos[:, None, :] + rotate_half(k) * sin[:, None, :]
        heads = []
        for head in range(nh):
            kv = head // (nh // nkv)
            scores = (q[:, head, :] @ k[:, kv, :].T) / math.sqrt(d)  # [s, s]
            scores = scores.masked_fill(~causal, float("-inf"))
            heads.append(torch.softmax(scores, dim=-1) @ v[:, kv, :])  # [s, d]
        x = x + torch.cat(heads, dim=-1) @ W[p + "self_attn.o_proj.weight"].T
        h = rms_norm(x, W[p + "post_attention_layernorm.weight"], eps)
        gate = h @ W[p + "mlp.gate_proj.weight"].T
        up = h @ W[p + "mlp.up_proj.weight"].T
        x = x + (torch.nn.functional.silu(gate) * up) @ W[p + "mlp.down_proj.weight"].T
    return rms_norm(x, W["norm.weight"], eps)  # [s, hidden]


def embed(args):
    with open(os.path.join(args.model, "config.json")) as f:
        cfg = json.load(f)
    W = read_checkpoint(args.model)
    with open(args.ids) as f:
        batch = json.load(f)
    dims = [int(v) for v in args.dims.split(",")] if args.dims else [0]
    out = {"embeddings": {str(dim): [] for dim in dims}}
    if args.hidden:
        out["hidden"] = []
    for ids in batch:
        states = forward(W, cfg, ids)
        last = states[-1]
        for dim in dims:
            v = last[:dim] if dim > 0 else last
            out["embeddings"][str(dim)].append((v / v.norm()).tolist())
        if args.hidden:
            out["hidden"].append(states.tolist())
    json.dump(out, sys.stdout)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make")
    m.add_argument("--out", required=True)
    m.add_argument("--seed", type=int, default=1)
    m.add_argument("--vocab", type=int, default=300)
    m.add_argument("--dtype", choices=sorted(DTYPES), default="f32")
    m.add_argument("--shards", type=int, default=1)
    m.add_argument("--prefix", default="model.")
    e = sub.add_parser("embed")
    e.add_argument("--model", required=True)
    e.add_argument("--ids", required=True)
    e.add_argument("--dims", default="")
    e.add_argument("--hidden", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    make(args) if args.cmd == "make" else embed(args)


if __name__ == "__main__":
    main()
