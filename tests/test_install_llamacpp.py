"""`make install-local` (scripts/install_llamacpp.py): the flags are portable, the wheel folder is keyed by
everything that changes a build, and the pinned version comes from the `local` extra. The build itself and the
installed server are tested by the `llamacpp` tests (tests/retool_data/cli/test_llamacpp_e2e.py)."""

from __future__ import annotations

import pytest

from scripts import install_llamacpp as build
from tests.conftest import REPO_ROOT


def test_the_x86_flags_turn_native_tuning_avx512_and_amx_off_and_keep_the_avx2_baseline():
    flags = dict(f.removeprefix("-D").split("=") for f in build.portable_cmake_args("x86_64").split())
    assert flags["GGML_NATIVE"] == "OFF" and flags["LLAVA_BUILD"] == "OFF"
    for on in ("GGML_AVX", "GGML_AVX2", "GGML_FMA", "GGML_F16C"):
        assert flags[on] == "ON"
    for off in ("GGML_AVX512", "GGML_AVX512_VNNI", "GGML_AVX512_BF16", "GGML_AMX_TILE", "GGML_AMX_INT8"):
        assert flags[off] == "OFF"
    assert "AVX" not in build.portable_cmake_args("aarch64")  # x86 options only on x86


def test_the_wheel_folder_key_changes_with_version_flags_python_and_machine():
    base = build.build_key("0.3.36", "-DGGML_NATIVE=OFF", "cpython-311", "x86_64")
    assert base.startswith("0.3.36-")
    assert build.build_key("0.3.36", " -DGGML_NATIVE=OFF ", "cpython-311", "x86_64") == base  # spacing only
    for other in (
        build.build_key("0.3.37", "-DGGML_NATIVE=OFF", "cpython-311", "x86_64"),
        build.build_key("0.3.36", "-DGGML_NATIVE=ON", "cpython-311", "x86_64"),
        build.build_key("0.3.36", "-DGGML_NATIVE=OFF", "cpython-312", "x86_64"),
        build.build_key("0.3.36", "-DGGML_NATIVE=OFF", "cpython-311", "aarch64"),
    ):
        assert other != base


def test_the_local_extra_pins_the_version_that_keys_the_wheel():
    extras, version = build.pinned_version(build.local_requirements(REPO_ROOT / "pyproject.toml"))
    assert extras == "[server]" and version.count(".") == 2
    with pytest.raises(SystemExit, match="must pin llama-cpp-python"):
        build.pinned_version(["llama-cpp-python[server]>=0.3"])


def test_the_wheel_cache_is_ours_not_pips(tmp_path, monkeypatch):
    monkeypatch.delenv("RETOOL_WHEEL_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert build.wheel_cache() == tmp_path / "retool-data" / "wheels" / "llama-cpp-python"
    monkeypatch.setenv("RETOOL_WHEEL_CACHE", str(tmp_path / "elsewhere"))
    assert build.wheel_cache() == tmp_path / "elsewhere"
