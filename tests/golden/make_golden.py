#!/usr/bin/python3
"""Golden references for SwinScope from torchvision's SwinTransformer (v1).

For each small config this builds torchvision.models.swin_transformer.SwinTransformer,
randomizes every parameter so that every path of the network moves the logits (non-zero
biases, non-trivial LayerNorm affine, a large relative position bias), runs it in eval
mode in float32 and writes, under tests/golden/models/:

  <name>.safetensors       weights under torchvision's state_dict names + swinscope metadata
  <name>.io.safetensors    input (B,C,H,W), logits (B,classes), features (B,num_features)

and, for tiny3 only, the same weights in three foreign layouts without metadata:

  tiny3.timm.safetensors   current timm layout (downsample at the start of stage N >= 1)
  tiny3.hf.safetensors     Hugging Face transformers SwinForImageClassification layout
  tiny3.ms.safetensors     original Microsoft layout (downsample at the end of stage N)

Nothing here trusts torchvision alone: an independent float64 re-implementation that reads
timm names (window clamping and PatchMerging as timm does them) must reproduce torchvision's
logits, each foreign file is read back, mapped to timm names with the inverse of the table
in README.md and run through the same re-implementation, and every file written is read
back and compared bit for bit. Any mismatch raises, so a run that finishes is a checked run.

Run: /usr/bin/python3 tests/golden/make_golden.py [--out DIR]. Output is byte-identical
from run to run (fixed seeds, one thread, sorted headers).
"""
import argparse
import hashlib
import json
import math
import os
import re
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
import torchvision.models.swin_transformer as tvswin

FORMAT_VERSION = "1"
LAYER_NORM_EPS = 1e-5

# Stage resolutions are kept multiples of the window, and the last stage's resolution equals
# the window (or is a multiple of it): torchvision pads a feature map smaller than the window
# while timm and the SwinScope engine clamp the window to it, and only under this condition
# do the two rules give the same network.
CONFIGS = [
    dict(name="tiny3", seed=1, batch=2, img_size=32, patch_size=2, in_chans=3, num_classes=10,
         embed_dim=16, depths=[2, 2, 2], num_heads=[1, 2, 4], window_size=4, mlp_ratio=4.0,
         relu_blocks=[]),
    dict(name="gray1", seed=2, batch=3, img_size=28, patch_size=2, in_chans=1, num_classes=10,
         embed_dim=24, depths=[2, 2], num_heads=[2, 4], window_size=7, mlp_ratio=4.0,
         relu_blocks=[]),
    dict(name="relu_mixed", seed=3, batch=1, img_size=56, patch_size=4, in_chans=3, num_classes=7,
         embed_dim=32, depths=[2, 4], num_heads=[2, 4], window_size=7, mlp_ratio=2.0,
         relu_blocks=[1, 3]),
    dict(name="batch4", seed=4, batch=4, img_size=32, patch_size=2, in_chans=3, num_classes=5,
         embed_dim=16, depths=[2, 2, 2], num_heads=[2, 2, 4], window_size=2, mlp_ratio=4.0,
         relu_blocks=[]),
]
FOREIGN_LAYOUT_CONFIG = "tiny3"

# Tolerances of the self-checks (float64 against float64 differs only by summation order).
TOL_FP64 = 1e-9
# Foreign layouts hold the same float32 numbers, so the fp64 re-run must agree to fp64 noise
# with the fp64 torchvision run, and to float32 rounding with the stored float32 logits.
TOL_FP32_VS_FP64 = 1e-3


# ----------------------------------------------------------------------------- safetensors

_DTYPES = {torch.float32: ("F32", 4), torch.float64: ("F64", 8), torch.int64: ("I64", 8),
           torch.int32: ("I32", 4), torch.int8: ("I8", 1), torch.uint8: ("U8", 1),
           torch.float16: ("F16", 2)}
_DTYPE_BY_NAME = {v[0]: (k, v[1]) for k, v in _DTYPES.items()}


def safetensors_bytes(tensors, metadata=None):
    """Serialize {name: tensor} as safetensors: u64 LE header length, JSON header sorted by
    name, padded with spaces so the data starts 8-aligned, then the tensors' raw LE bytes in
    name order."""
    if sys.byteorder != "little":
        raise RuntimeError("raw tensor bytes are written as the host stores them; need little endian")
    header = {}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        if t.dtype not in _DTYPES:
            raise ValueError(f"{name}: dtype {t.dtype} not supported")
        data = t.numpy().tobytes()
        header[name] = {"dtype": _DTYPES[t.dtype][0], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if metadata:
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
            raise ValueError("safetensors metadata must map strings to strings")
        header["__metadata__"] = dict(sorted(metadata.items()))
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - (8 + len(text)) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def read_safetensors(path):
    """Minimal strict reader: returns (tensors, metadata). Checks that the header fits, that
    offsets are in bounds, contiguous from 0, and match dtype x shape."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError(f"{path}: shorter than the 8-byte header length")
    (n,) = struct.unpack("<Q", raw[:8])
    if 8 + n > len(raw):
        raise ValueError(f"{path}: header length {n} runs past the file size {len(raw)}")
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", {})
    data = raw[8 + n:]
    tensors = {}
    expected_start = 0
    for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        dtype, size = _DTYPE_BY_NAME[info["dtype"]]
        start, end = info["data_offsets"]
        count = math.prod(info["shape"])
        if start != expected_start or end - start != count * size or end > len(data):
            raise ValueError(f"{path}: tensor {name} has offsets {start}..{end}, expected "
                             f"{expected_start}..{expected_start + count * size} within {len(data)}")
        expected_start = end
        t = torch.frombuffer(bytearray(data[start:end]), dtype=dtype) if count else \
            torch.empty(0, dtype=dtype)
        tensors[name] = t.reshape(info["shape"]).clone()
    if expected_start != len(data):
        raise ValueError(f"{path}: {len(data) - expected_start} trailing bytes after the last tensor")
    return tensors, metadata


def write_checked(path, tensors, metadata=None):
    """Write, then read back and insist on bit-identical tensors and identical metadata."""
    blob = safetensors_bytes(tensors, metadata)
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(blob)
    os.replace(tmp, path)
    back, back_meta = read_safetensors(path)
    if set(back) != set(tensors):
        raise AssertionError(f"{path}: names changed on round trip")
    for name, t in tensors.items():
        a = t.detach().contiguous().cpu()
        if back[name].dtype != a.dtype or back[name].shape != a.shape or \
                back[name].numpy().tobytes() != a.numpy().tobytes():
            raise AssertionError(f"{path}: tensor {name} differs after round trip")
    if back_meta != (metadata or {}):
        raise AssertionError(f"{path}: metadata differs after round trip")
    return hashlib.sha256(blob).hexdigest(), len(blob)


# ----------------------------------------------------------------------------- model

def config_json(cfg):
    # Key order is the one SwinConfig::to_json documents; json keeps insertion order.
    return {"name": cfg["name"], "img_size": cfg["img_size"], "patch_size": cfg["patch_size"],
            "in_chans": cfg["in_chans"], "num_classes": cfg["num_classes"],
            "embed_dim": cfg["embed_dim"], "depths": cfg["depths"], "num_heads": cfg["num_heads"],
            "window_size": cfg["window_size"], "mlp_ratio": cfg["mlp_ratio"],
            "layer_norm_eps": LAYER_NORM_EPS}


def activations_of(cfg):
    return ["relu" if i in cfg["relu_blocks"] else "gelu" for i in range(sum(cfg["depths"]))]


def blocks_of(model):
    """torchvision blocks in global order: features[1], [3], [5], ... hold the stages."""
    out = []
    for s in range(len(model.features) // 2):
        out.extend(model.features[2 * s + 1])
    return out


def build_torchvision(cfg):
    p, w = cfg["patch_size"], cfg["window_size"]
    model = tvswin.SwinTransformer(
        patch_size=[p, p], embed_dim=cfg["embed_dim"], depths=cfg["depths"],
        num_heads=cfg["num_heads"], window_size=[w, w], mlp_ratio=cfg["mlp_ratio"],
        dropout=0.0, attention_dropout=0.0, stochastic_depth_prob=0.0,
        num_classes=cfg["num_classes"], block=tvswin.SwinTransformerBlock)
    if cfg["in_chans"] != 3:
        # torchvision hard-codes 3 input channels in the patch embedding.
        model.features[0][0] = nn.Conv2d(cfg["in_chans"], cfg["embed_dim"], kernel_size=(p, p),
                                         stride=(p, p))
    for i, block in enumerate(blocks_of(model)):
        # torchvision's MLP is Sequential(Linear, GELU, Dropout, Linear, Dropout).
        mlp = block.mlp
        assert [type(m) for m in mlp] == [nn.Linear, nn.GELU, nn.Dropout, nn.Linear, nn.Dropout], mlp
        assert mlp[1].approximate == "none", "golden GELU must be the exact erf form"
        if i in cfg["relu_blocks"]:
            mlp[1] = nn.ReLU()
    randomize(model, torch.Generator().manual_seed(cfg["seed"]))
    return model.eval()


@torch.no_grad()
def randomize(model, gen):
    """Fill every parameter so that no path is neutral. Modules are visited in
    named_modules() order, which is fixed for a given config, so the draw is reproducible."""
    def normal(shape, std):
        return torch.randn(shape, generator=gen, dtype=torch.float32) * std

    seen = set()
    for _, m in model.named_modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            fan_in = m.weight[0].numel()
            m.weight.copy_(normal(m.weight.shape, 1.0 / math.sqrt(fan_in)))
            seen.add(id(m.weight))
            if m.bias is not None:
                m.bias.copy_(normal(m.bias.shape, 0.1))
                seen.add(id(m.bias))
        elif isinstance(m, nn.LayerNorm):
            m.weight.copy_(1.0 + normal(m.weight.shape, 0.1))
            m.bias.copy_(normal(m.bias.shape, 0.1))
            seen.update((id(m.weight), id(m.bias)))
        elif isinstance(m, tvswin.ShiftedWindowAttention):
            t = m.relative_position_bias_table
            t.copy_(normal(t.shape, 0.5))
            seen.add(id(t))
    missed = [n for n, p in model.named_parameters() if id(p) not in seen]
    if missed:
        raise AssertionError(f"parameters left at their default init: {missed}")


def torchvision_state(model):
    """Parameters only: buffers (relative_position_index) are derived from the window size."""
    params = dict(model.named_parameters())
    sd = model.state_dict()
    dropped = sorted(set(sd) - set(params))
    assert all(n.endswith("relative_position_index") for n in dropped), dropped
    return {n: sd[n].detach().clone() for n in sorted(params)}


def expected_geometry(cfg):
    """Per block: (stage, resolution, window, shift) under timm's / SwinScope's rule:
    a window at least as large as the resolution is clamped to it and not shifted."""
    res = cfg["img_size"] // cfg["patch_size"]
    out = []
    for s, depth in enumerate(cfg["depths"]):
        r = res >> s
        win = min(cfg["window_size"], r)
        for j in range(depth):
            shift = 0 if (r <= cfg["window_size"] or j % 2 == 0) else cfg["window_size"] // 2
            out.append((s, r, win, shift))
    return out


class ShiftRecorder:
    """Wraps torchvision's module-level shifted_window_attention (ShiftedWindowAttention
    looks it up by global name on every call) to record the feature size each block saw and
    the shift torchvision really applied, using the rule from that very function."""

    def __init__(self):
        self.calls = []
        self._orig = tvswin.shifted_window_attention

    def __enter__(self):
        orig = self._orig

        def wrapped(input, qkv_weight, proj_weight, relative_position_bias, window_size,
                    num_heads, shift_size, *args, **kwargs):
            _, h, w, _ = input.shape
            pad_h = h + (window_size[0] - h % window_size[0]) % window_size[0]
            pad_w = w + (window_size[1] - w % window_size[1]) % window_size[1]
            applied = [0 if window_size[0] >= pad_h else shift_size[0],
                       0 if window_size[1] >= pad_w else shift_size[1]]
            self.calls.append((h, w, list(window_size), applied, (pad_h, pad_w)))
            return orig(input, qkv_weight, proj_weight, relative_position_bias, window_size,
                        num_heads, shift_size, *args, **kwargs)

        tvswin.shifted_window_attention = wrapped
        return self

    def __exit__(self, *exc):
        tvswin.shifted_window_attention = self._orig
        return False


# ----------------------------------------------------------------------------- layouts

def tv_to_timm(sd, num_stages):
    """torchvision -> current timm names (see README.md). Pure renames: no tensor changes."""
    out = {}
    for name, t in sd.items():
        m = re.fullmatch(r"features\.0\.0\.(weight|bias)", name)
        if m:
            out[f"patch_embed.proj.{m[1]}"] = t
            continue
        m = re.fullmatch(r"features\.0\.2\.(weight|bias)", name)
        if m:
            out[f"patch_embed.norm.{m[1]}"] = t
            continue
        m = re.fullmatch(r"features\.(\d+)\.(\d+)\.(.+)", name)
        if m and int(m[1]) % 2 == 1:
            stage, block, rest = (int(m[1]) - 1) // 2, int(m[2]), m[3]
            rest = rest.replace("mlp.0.", "mlp.fc1.").replace("mlp.3.", "mlp.fc2.")
            out[f"layers.{stage}.blocks.{block}.{rest}"] = t
            continue
        m = re.fullmatch(r"features\.(\d+)\.(norm|reduction)\.(weight|bias)", name)
        if m and int(m[1]) % 2 == 0:
            after_stage = int(m[1]) // 2 - 1
            assert after_stage < num_stages - 1
            out[f"layers.{after_stage + 1}.downsample.{m[2]}.{m[3]}"] = t
            continue
        m = re.fullmatch(r"(norm|head)\.(weight|bias)", name)
        if m:
            out[f"norm.{m[2]}" if m[1] == "norm" else f"head.fc.{m[2]}"] = t
            continue
        raise KeyError(f"no timm name for torchvision tensor {name}")
    assert len(out) == len(sd)
    return out


def timm_to_ms(sd):
    out = {}
    for name, t in sd.items():
        m = re.fullmatch(r"layers\.(\d+)\.downsample\.(.+)", name)
        if m:
            name = f"layers.{int(m[1]) - 1}.downsample.{m[2]}"
        elif name.startswith("head.fc."):
            name = "head." + name[len("head.fc."):]
        out[name] = t
    return out


def ms_to_timm(sd):
    out = {}
    for name, t in sd.items():
        m = re.fullmatch(r"layers\.(\d+)\.downsample\.(.+)", name)
        if m:
            name = f"layers.{int(m[1]) + 1}.downsample.{m[2]}"
        elif re.fullmatch(r"head\.(weight|bias)", name):
            name = "head.fc." + name[len("head."):]
        out[name] = t
    return out


_HF_BLOCK = [("norm1.", "layernorm_before."), ("attn.relative_position_bias_table",
             "attention.self.relative_position_bias_table"), ("attn.proj.", "attention.output.dense."),
             ("norm2.", "layernorm_after."), ("mlp.fc1.", "intermediate.dense."),
             ("mlp.fc2.", "output.dense.")]


def timm_to_hf(sd):
    out = {}
    for name, t in sd.items():
        if name.startswith("patch_embed.proj."):
            out["swin.embeddings.patch_embeddings.projection." + name.split(".")[-1]] = t
        elif name.startswith("patch_embed.norm."):
            out["swin.embeddings.norm." + name.split(".")[-1]] = t
        elif name.startswith("norm."):
            out["swin.layernorm." + name.split(".")[-1]] = t
        elif name.startswith("head.fc."):
            out["classifier." + name.split(".")[-1]] = t
        elif (m := re.fullmatch(r"layers\.(\d+)\.downsample\.(.+)", name)):
            out[f"swin.encoder.layers.{int(m[1]) - 1}.downsample.{m[2]}"] = t
        elif (m := re.fullmatch(r"layers\.(\d+)\.blocks\.(\d+)\.(.+)", name)):
            prefix, rest = f"swin.encoder.layers.{m[1]}.blocks.{m[2]}.", m[3]
            if rest.startswith("attn.qkv."):
                # qkv rows are [q; k; v], each (C, C) or (C,): HF keeps them as three Linears.
                kind = rest.split(".")[-1]
                for part, chunk in zip(("query", "key", "value"), t.chunk(3, dim=0)):
                    out[f"{prefix}attention.self.{part}.{kind}"] = chunk.clone()
                continue
            for a, b in _HF_BLOCK:
                if rest.startswith(a):
                    out[prefix + b + rest[len(a):]] = t
                    break
            else:
                raise KeyError(f"no HF name for timm tensor {name}")
        else:
            raise KeyError(f"no HF name for timm tensor {name}")
    return out


def hf_to_timm(sd):
    out = {}
    qkv = {}
    for name, t in sd.items():
        if name.startswith("swin.embeddings.patch_embeddings.projection."):
            out["patch_embed.proj." + name.split(".")[-1]] = t
        elif name.startswith("swin.embeddings.norm."):
            out["patch_embed.norm." + name.split(".")[-1]] = t
        elif name.startswith("swin.layernorm."):
            out["norm." + name.split(".")[-1]] = t
        elif name.startswith("classifier."):
            out["head.fc." + name.split(".")[-1]] = t
        elif (m := re.fullmatch(r"swin\.encoder\.layers\.(\d+)\.downsample\.(.+)", name)):
            out[f"layers.{int(m[1]) + 1}.downsample.{m[2]}"] = t
        elif (m := re.fullmatch(r"swin\.encoder\.layers\.(\d+)\.blocks\.(\d+)\.(.+)", name)):
            prefix, rest = f"layers.{m[1]}.blocks.{m[2]}.", m[3]
            if (q := re.fullmatch(r"attention\.self\.(query|key|value)\.(weight|bias)", rest)):
                qkv.setdefault(prefix + "attn.qkv." + q[2], {})[q[1]] = t
                continue
            for a, b in _HF_BLOCK:
                if rest.startswith(b):
                    out[prefix + a + rest[len(b):]] = t
                    break
            else:
                raise KeyError(f"no timm name for HF tensor {name}")
        else:
            raise KeyError(f"no timm name for HF tensor {name}")
    for name, parts in qkv.items():
        out[name] = torch.cat([parts["query"], parts["key"], parts["value"]], dim=0)
    return out


# ----------------------------------------------------------------------------- reference

def timm_merge(x):
    """timm's PatchMerging gather: (B,H,W,C) -> (B,H/2,W/2,4C)."""
    b, h, w, c = x.shape
    return x.reshape(b, h // 2, 2, w // 2, 2, c).permute(0, 1, 3, 4, 2, 5).flatten(3)


def relative_position_index(win):
    coords = torch.stack(torch.meshgrid(torch.arange(win), torch.arange(win), indexing="ij")).flatten(1)
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0)
    return (rel[..., 0] + win - 1) * (2 * win - 1) + (rel[..., 1] + win - 1)  # (N, N)


def shift_mask(res, win, shift):
    """0 / -100 additive mask, (num_windows, N, N), from the region labels of the rolled map."""
    label = torch.zeros(res, res)
    cuts = (slice(0, -win), slice(-win, -shift), slice(-shift, None))
    n = 0
    for hs in cuts:
        for ws in cuts:
            label[hs, ws] = n
            n += 1
    lw = label.reshape(res // win, win, res // win, win).permute(0, 2, 1, 3).reshape(-1, win * win)
    diff = lw[:, None, :] - lw[:, :, None]
    return torch.where(diff != 0, torch.tensor(-100.0), torch.tensor(0.0)).double()


def reference_forward(sd, cfg, x, activations, disable_shift=False):
    """Independent float64 SWIN v1 forward on timm-named weights, following timm's rules
    (window clamped to the resolution, no shift then). Returns (logits, pooled features)."""
    W = {k: v.double() for k, v in sd.items()}
    eps = LAYER_NORM_EPS
    x = F.conv2d(x.double(), W["patch_embed.proj.weight"], W["patch_embed.proj.bias"],
                 stride=cfg["patch_size"]).permute(0, 2, 3, 1)
    x = F.layer_norm(x, (x.shape[-1],), W["patch_embed.norm.weight"], W["patch_embed.norm.bias"], eps)
    g = 0
    for s, depth in enumerate(cfg["depths"]):
        if s > 0:
            p = f"layers.{s}.downsample."
            x = timm_merge(x)
            x = F.layer_norm(x, (x.shape[-1],), W[p + "norm.weight"], W[p + "norm.bias"], eps)
            x = F.linear(x, W[p + "reduction.weight"])
        b, res, _, c = x.shape
        heads = cfg["num_heads"][s]
        hd = c // heads
        win = min(cfg["window_size"], res)
        rpi = relative_position_index(win)
        for j in range(depth):
            p = f"layers.{s}.blocks.{j}."
            shift = 0 if (res <= cfg["window_size"] or j % 2 == 0 or disable_shift) \
                else cfg["window_size"] // 2
            h = F.layer_norm(x, (c,), W[p + "norm1.weight"], W[p + "norm1.bias"], eps)
            if shift:
                h = torch.roll(h, (-shift, -shift), (1, 2))
            nw = res // win
            h = h.reshape(b, nw, win, nw, win, c).permute(0, 1, 3, 2, 4, 5).reshape(b * nw * nw, win * win, c)
            qkv = F.linear(h, W[p + "attn.qkv.weight"], W[p + "attn.qkv.bias"])
            qkv = qkv.reshape(h.shape[0], win * win, 3, heads, hd).permute(2, 0, 3, 1, 4)
            q, k, v = qkv[0] * hd ** -0.5, qkv[1], qkv[2]
            attn = q @ k.transpose(-2, -1)
            table = W[p + "attn.relative_position_bias_table"]
            attn = attn + table[rpi.reshape(-1)].reshape(win * win, win * win, heads).permute(2, 0, 1)
            if shift:
                attn = attn.reshape(b, nw * nw, heads, win * win, win * win) + \
                    shift_mask(res, win, shift)[None, :, None]
                attn = attn.reshape(-1, heads, win * win, win * win)
            h = (attn.softmax(-1) @ v).transpose(1, 2).reshape(-1, win * win, c)
            h = F.linear(h, W[p + "attn.proj.weight"], W[p + "attn.proj.bias"])
            h = h.reshape(b, nw, nw, win, win, c).permute(0, 1, 3, 2, 4, 5).reshape(b, res, res, c)
            if shift:
                h = torch.roll(h, (shift, shift), (1, 2))
            x = x + h
            h = F.layer_norm(x, (c,), W[p + "norm2.weight"], W[p + "norm2.bias"], eps)
            h = F.linear(h, W[p + "mlp.fc1.weight"], W[p + "mlp.fc1.bias"])
            h = F.relu(h) if activations[g] == "relu" else F.gelu(h)
            x = x + F.linear(h, W[p + "mlp.fc2.weight"], W[p + "mlp.fc2.bias"])
            g += 1
    x = F.layer_norm(x, (x.shape[-1],), W["norm.weight"], W["norm.bias"], eps)
    feats = x.mean(dim=(1, 2))
    return F.linear(feats, W["head.fc.weight"], W["head.fc.bias"]), feats


def check_merge_order():
    """torchvision/Microsoft/HF gather cat([x0,x1,x2,x3]) with x0=(0::2,0::2), x1=(1::2,0::2),
    x2=(0::2,1::2), x3=(1::2,1::2) (row, column); timm reshapes (B,H/2,2,W/2,2,C) and permutes
    to (..., col-offset, row-offset, C), i.e. index 2*col_off + row_off: the same order."""
    x = torch.randn(2, 6, 8, 5, generator=torch.Generator().manual_seed(0))
    if not torch.equal(tvswin._patch_merging_pad(x), timm_merge(x)):
        raise AssertionError("timm and torchvision PatchMerging channel orders differ")


# ----------------------------------------------------------------------------- main

def max_abs(a, b):
    return (a.double() - b.double()).abs().max().item()


def make(cfg, out_dir):
    name = cfg["name"]
    acts = activations_of(cfg)
    model = build_torchvision(cfg)
    sd = torchvision_state(model)
    x = torch.randn(cfg["batch"], cfg["in_chans"], cfg["img_size"], cfg["img_size"],
                    generator=torch.Generator().manual_seed(1000 + cfg["seed"]))

    with torch.no_grad(), ShiftRecorder() as rec:
        feats = model.flatten(model.avgpool(model.permute(model.norm(model.features(x)))))
        logits = model.head(feats)
    with torch.no_grad():
        if not torch.equal(logits, model(x)):
            raise AssertionError(f"{name}: split forward differs from model(x)")

    # The shift torchvision applied, per block, must be the one the engine's rule gives.
    geometry = expected_geometry(cfg)
    if len(rec.calls) != len(geometry):
        raise AssertionError(f"{name}: {len(rec.calls)} attention calls, expected {len(geometry)}")
    for g, ((h, w, win, applied, pad), (s, r, ewin, eshift)) in enumerate(zip(rec.calls, geometry)):
        # No padding means torchvision's window equals the clamped one and tiles the map.
        if (h, w) != (r, r) or pad != (r, r) or applied != [eshift, eshift] or win != [ewin, ewin]:
            raise AssertionError(f"{name} block {g}: torchvision saw {h}x{w} (padded {pad}), window "
                                 f"{win}, shift {applied}; expected {r}x{r}, window {ewin}, shift {eshift}")

    # Independent float64 re-implementation on timm names must reproduce torchvision (run in
    # float64 too, so only summation order differs), and the shift must matter.
    timm_sd = tv_to_timm(sd, len(cfg["depths"]))
    with torch.no_grad():
        tv64 = build_torchvision(cfg).double()
        ref_logits, ref_feats = reference_forward(timm_sd, cfg, x, acts)
        tv64_logits = tv64(x.double())
        d_ref = max_abs(ref_logits, tv64_logits)
        d_fp32 = max_abs(logits, tv64_logits)
        if d_ref > TOL_FP64 or max_abs(ref_feats, feats) > TOL_FP32_VS_FP64:
            raise AssertionError(f"{name}: reference differs from torchvision by {d_ref}")
        if d_fp32 > TOL_FP32_VS_FP64:
            raise AssertionError(f"{name}: float32 logits off float64 by {d_fp32}")
        d_noshift = max_abs(reference_forward(timm_sd, cfg, x, acts, disable_shift=True)[0], tv64_logits)
        if any(e[3] for e in geometry) and d_noshift < 1e-3:
            raise AssertionError(f"{name}: disabling the shift does not change the logits")
        swapped = ["gelu" if a == "relu" else "relu" for a in acts] if cfg["relu_blocks"] else None
        d_act = max_abs(reference_forward(timm_sd, cfg, x, swapped)[0], tv64_logits) if swapped else None

    meta = {"swinscope.format": FORMAT_VERSION,
            "swinscope.config": json.dumps(config_json(cfg), separators=(",", ":")),
            "swinscope.activation": "gelu" if all(a == "gelu" for a in acts) else
            json.dumps(acts, separators=(",", ":")),
            "swinscope.precision": "fp32"}
    files = {f"{name}.safetensors": write_checked(os.path.join(out_dir, f"{name}.safetensors"), sd, meta)}
    io_meta = {"swinscope.format": FORMAT_VERSION,
               "swinscope.golden.model": f"{name}.safetensors",
               "swinscope.golden.reference": f"torchvision {torchvision.__version__.split('+')[0]} "
                                             "SwinTransformer v1, float32, eval",
               "swinscope.golden.fp32_vs_fp64_max_abs": f"{d_fp32:.3e}"}
    files[f"{name}.io.safetensors"] = write_checked(
        os.path.join(out_dir, f"{name}.io.safetensors"),
        {"input": x, "logits": logits, "features": feats}, io_meta)

    if name == FOREIGN_LAYOUT_CONFIG:
        check_merge_order()
        layouts = {"timm": (timm_sd, lambda d: d),
                   "hf": (timm_to_hf(timm_sd), hf_to_timm),
                   "ms": (timm_to_ms(timm_sd), ms_to_timm)}
        for layout, (tensors, back_to_timm) in layouts.items():
            path = os.path.join(out_dir, f"{name}.{layout}.safetensors")
            files[os.path.basename(path)] = write_checked(path, tensors)
            loaded, loaded_meta = read_safetensors(path)
            assert not loaded_meta
            mapped = back_to_timm(loaded)
            if set(mapped) != set(timm_sd) or any(not torch.equal(mapped[k], timm_sd[k]) for k in timm_sd):
                raise AssertionError(f"{path}: inverse mapping does not give back the timm tensors")
            with torch.no_grad():
                d = max_abs(reference_forward(mapped, cfg, x, acts)[0], tv64_logits)
            if d > TOL_FP64:
                raise AssertionError(f"{path}: logits off by {d}")

    res = [cfg["img_size"] // cfg["patch_size"] >> s for s in range(len(cfg["depths"]))]
    print(f"{name}: batch {cfg['batch']}, stage resolutions {res}, "
          f"windows {[min(cfg['window_size'], r) for r in res]}")
    print(f"  shift per block (torchvision applied): {[c[3][0] for c in rec.calls]}")
    print(f"  activations: {acts}")
    print(f"  max |logit| {logits.abs().max().item():.4f}, max |feature| {feats.abs().max().item():.4f}")
    print(f"  fp32 vs fp64 torchvision: {d_fp32:.2e}; independent fp64 reference vs torchvision fp64: "
          f"{d_ref:.2e}; same without shifts: {d_noshift:.2e}"
          + (f"; with GELU/ReLU swapped: {d_act:.2e}" if d_act is not None else ""))
    return files


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "models"))
    args = ap.parse_args()
    # One thread: summation order, and so every float32 bit, is then the same on every run.
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    os.makedirs(args.out, exist_ok=True)
    print(f"torch {torch.__version__}, torchvision {torchvision.__version__}")
    total = 0
    for cfg in CONFIGS:
        for fname, (digest, size) in make(cfg, args.out).items():
            print(f"  wrote {fname:32s} {size:8d} bytes  sha256 {digest[:16]}")
            total += size
    print(f"total {total} bytes in {args.out}")


if __name__ == "__main__":
    main()
