"""CPU features: the bf16 path is read from the CPU's flags, and benchmarks can say which path ran."""

from __future__ import annotations

import pytest

from tram_core.ml import cpu_features
from tram_core.ml.training_loop import use_bf16

AMX = frozenset("fpu sse avx2 avx512f avx512_bf16 amx_bf16 amx_tile".split())
AVX512_BF16 = frozenset("fpu sse avx2 avx512f avx512_vnni avx512_bf16".split())
PLAIN = frozenset("fpu sse avx2".split())


@pytest.mark.parametrize("flags, path, fast", [(AMX, "AMX-BF16", True), (AVX512_BF16, "AVX512-BF16", True),
                                               (PLAIN, "none", False), (frozenset(), "none", False)])
def test_the_bf16_path_follows_the_cpu_flags(flags, path, fast):
    assert cpu_features.bf16_path(flags) == path
    assert cpu_features.cpu_has_fast_bf16(flags) is fast


def test_flags_are_read_from_cpuinfo_and_auto_bf16_follows_them(tmp_path, monkeypatch):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: Test CPU 9000\nflags\t\t: fpu avx2 avx512f avx512_bf16\n\n"
                    "processor\t: 1\nflags\t\t: fpu avx2\n")
    monkeypatch.setattr(cpu_features, "CPUINFO", info)
    cpu_features.cpu_flags.cache_clear()
    try:
        assert cpu_features.cpu_flags() == {"fpu", "avx2", "avx512f", "avx512_bf16"}
        assert use_bf16("cpu", "auto") is True and use_bf16("cpu", "off") is False
        line = cpu_features.describe_cpu()
        assert "Test CPU 9000" in line and "bf16 path: AVX512-BF16" in line and "AMX-BF16 no" in line
        info.write_text("processor\t: 0\nflags\t\t: fpu avx2\n")
        cpu_features.cpu_flags.cache_clear()
        assert use_bf16("cpu", "auto") is False and use_bf16("cuda", "auto") is True
        assert "bf16 path: none" in cpu_features.describe_cpu()
    finally:
        cpu_features.cpu_flags.cache_clear()


def test_a_machine_without_cpuinfo_has_no_fast_bf16(tmp_path, monkeypatch):
    monkeypatch.setattr(cpu_features, "CPUINFO", tmp_path / "missing")
    cpu_features.cpu_flags.cache_clear()
    try:
        assert cpu_features.cpu_flags() == frozenset() and not cpu_features.cpu_has_fast_bf16()
    finally:
        cpu_features.cpu_flags.cache_clear()
