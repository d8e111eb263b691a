# SPDX-License-Identifier: LGPL-2.1-or-later
"""A plain PyTorch CLIP (ViT image tower + text transformer) for the benchmark's baseline.

Built the way OpenAI's reference model is (sequence-first nn.MultiheadAttention, pre-LN residual
blocks, QuickGELU, the same parameter names), so loading an OpenAI-format checkpoint into it and
timing it measures what "PyTorch eager" means for CLIP. Used by make_vit_b32_checkpoint.py to
lay out the random checkpoint and by bench_clip.py as the baseline.
"""

from collections import OrderedDict

import torch
from torch import nn


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class ResidualAttentionBlock(nn.Module):
    def __init__(self, width, heads, attn_mask=None):
        super().__init__()
        self.attn = nn.MultiheadAttention(width, heads)
        self.ln_1 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(OrderedDict([
            ("c_fc", nn.Linear(width, width * 4)),
            ("gelu", QuickGELU()),
            ("c_proj", nn.Linear(width * 4, width)),
        ]))
        self.ln_2 = nn.LayerNorm(width)
        self.attn_mask = attn_mask

    def forward(self, x):  # [L, N, W]
        mask = self.attn_mask.to(x.dtype) if self.attn_mask is not None else None
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, need_weights=False, attn_mask=mask)[0]
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, width, layers, heads, attn_mask=None):
        super().__init__()
        self.resblocks = nn.Sequential(
            *[ResidualAttentionBlock(width, heads, attn_mask) for _ in range(layers)])

    def forward(self, x):
        return self.resblocks(x)


class VisionTransformer(nn.Module):
    def __init__(self, image_size, patch_size, width, layers, embed_dim):
        super().__init__()
        scale = width ** -0.5
        grid = image_size // patch_size
        self.conv1 = nn.Conv2d(3, width, kernel_size=patch_size, stride=patch_size, bias=False)
        self.class_embedding = nn.Parameter(scale * torch.randn(width))
        self.positional_embedding = nn.Parameter(scale * torch.randn(grid * grid + 1, width))
        self.ln_pre = nn.LayerNorm(width)
        self.transformer = Transformer(width, layers, width // 64)
        self.ln_post = nn.LayerNorm(width)
        self.proj = nn.Parameter(scale * torch.randn(width, embed_dim))

    def forward(self, x):  # [N, 3, S, S] -> [N, E]
        x = self.conv1(x)
        x = x.reshape(x.shape[0], x.shape[1], -1).permute(0, 2, 1)  # [N, g*g, W]
        cls = self.class_embedding.to(x.dtype) + torch.zeros(
            x.shape[0], 1, x.shape[-1], dtype=x.dtype, device=x.device)
        x = torch.cat([cls, x], dim=1) + self.positional_embedding.to(x.dtype)
        x = self.ln_pre(x).permute(1, 0, 2)
        x = self.transformer(x).permute(1, 0, 2)
        return self.ln_post(x[:, 0, :]) @ self.proj


class CLIP(nn.Module):
    def __init__(self, embed_dim=512, image_size=224, vision_layers=12, vision_width=768,
                 patch_size=32, context_length=77, vocab_size=49408, text_width=512,
                 text_layers=12):
        super().__init__()
        self.context_length = context_length
        self.visual = VisionTransformer(image_size, patch_size, vision_width, vision_layers,
                                        embed_dim)
        mask = torch.full((context_length, context_length), float("-inf")).triu_(1)
        self.transformer = Transformer(text_width, text_layers, text_width // 64, mask)
        self.token_embedding = nn.Embedding(vocab_size, text_width)
        self.positional_embedding = nn.Parameter(torch.empty(context_length, text_width))
        self.ln_final = nn.LayerNorm(text_width)
        self.text_projection = nn.Parameter(torch.empty(text_width, embed_dim))
        self.logit_scale = nn.Parameter(torch.ones([]) * torch.log(torch.tensor(1 / 0.07)))
        self._init(text_width, text_layers, vision_width, vision_layers)

    def _init(self, text_width, text_layers, vision_width, vision_layers):
        # Scaled normal initialisation so random-weight activations stay in a realistic range.
        nn.init.normal_(self.token_embedding.weight, std=0.02)
        nn.init.normal_(self.positional_embedding, std=0.01)
        for width, layers, tower in ((text_width, text_layers, self.transformer),
                                     (vision_width, vision_layers, self.visual.transformer)):
            proj_std = width ** -0.5 * (2 * layers) ** -0.5
            for block in tower.resblocks:
                nn.init.normal_(block.attn.in_proj_weight, std=width ** -0.5)
                nn.init.normal_(block.attn.out_proj.weight, std=proj_std)
                nn.init.normal_(block.mlp.c_fc.weight, std=(2 * width) ** -0.5)
                nn.init.normal_(block.mlp.c_proj.weight, std=proj_std)
        nn.init.normal_(self.text_projection, std=text_width ** -0.5)

    def encode_image(self, image):
        return self.visual(image)

    def encode_text(self, text):  # [N, 77] int64 -> [N, E]
        x = self.token_embedding(text) + self.positional_embedding
        x = self.transformer(x.permute(1, 0, 2)).permute(1, 0, 2)
        x = self.ln_final(x)
        return x[torch.arange(x.shape[0]), text.argmax(dim=-1)] @ self.text_projection

    def forward(self, image, text):
        return self.encode_image(image), self.encode_text(text)


# Tensors OpenAI's released files store in fp16; everything else (LayerNorm, class and
# positional embeddings, logit_scale) is fp32.
def stored_in_fp16(name):
    return (name.endswith(("conv1.weight", "in_proj_weight", "in_proj_bias", "c_fc.weight",
                           "c_fc.bias", "c_proj.weight", "c_proj.bias", "out_proj.weight",
                           "out_proj.bias", "token_embedding.weight"))
            or name in ("visual.proj", "text_projection"))
