"""What this CPU offers the model's matrix work (AMX, AVX512-BF16, AVX512, AVX2) and which bf16 path that gives."""

from __future__ import annotations

import os
import platform
from functools import lru_cache
from pathlib import Path

CPUINFO = Path("/proc/cpuinfo")


@lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """The feature flags of the first CPU in /proc/cpuinfo (empty where there is none, e.g. macOS)."""
    try:
        text = CPUINFO.read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith(("flags", "Features")):
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()


def cpu_model_name() -> str:
    try:
        for line in CPUINFO.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def bf16_path(flags: frozenset[str] | None = None) -> str:
    """'AMX-BF16' (tile matmul, ~6x fp32), 'AVX512-BF16' (dot-product instructions, ~2x), or 'none' (emulated)."""
    flags = cpu_flags() if flags is None else flags
    if "amx_bf16" in flags:
        return "AMX-BF16"
    if "avx512_bf16" in flags:
        return "AVX512-BF16"
    return "none"


def cpu_has_fast_bf16(flags: frozenset[str] | None = None) -> bool:
    """True on CPUs with AMX or AVX512-BF16, where bf16 autocast pays off; elsewhere bf16 is slower than fp32."""
    return bf16_path(flags) != "none"


def describe_cpu() -> str:
    """One line for a benchmark: the CPU, its cores, torch's kernel level and the bf16 path it has."""
    import torch

    flags = cpu_flags()
    simd = [name for name, flag in (("AVX2", "avx2"), ("AVX512F", "avx512f"), ("AVX512-VNNI", "avx512_vnni"))
            if flag in flags]
    return (f"CPU: {cpu_model_name()}, {os.cpu_count()} cores; torch kernels {torch.backends.cpu.get_cpu_capability()}"
            f"; SIMD {' '.join(simd) or 'none listed'}; bf16 path: {bf16_path(flags)}"
            f" (AMX-BF16 {'yes' if 'amx_bf16' in flags else 'no'}, AVX512-BF16 "
            f"{'yes' if 'avx512_bf16' in flags else 'no'})")
