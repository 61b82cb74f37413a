"""Install the `local` extra (llama-cpp-python's server) with a portable llama.cpp build: `make install-local`.

llama-cpp-python is an sdist: pip compiles llama.cpp, by default with ``-march=native`` (and AVX-512/AMX where the
build machine has them). Such a wheel crashes on any CPU without those instructions, and inside VMs whose kernel
does not grant AMX's tile state (a general protection fault in libggml-cpu.so on the first multi-token batch),
and pip's wheel cache hands it back to every later install, on this machine or any machine sharing the cache.

So the wheel is built here with fixed flags (``PORTABLE_CMAKE_ARGS``: no native tuning, the x86-64-v3 baseline
AVX2/FMA/F16C/BMI2 that every x86-64 CPU since 2013-2015 has; AVX-512 and AMX off), with pip's cache off, into a
folder of our own keyed by the version, the flags, the Python tag and the machine
(``~/.cache/retool-data/wheels/llama-cpp-python/<key>/``, or ``$RETOOL_WHEEL_CACHE``); installs take the wheel from
that folder only. ``RETOOL_LLAMACPP_CMAKE_ARGS`` replaces the flags (another key, another wheel). llama.cpp's runtime
CPU dispatch (GGML_BACKEND_DL + GGML_CPU_ALL_VARIANTS) is not used: llama-cpp-python neither installs the variant
libraries nor loads them (no ggml_backend_load_all), so the build would have no CPU backend at all.

Usage: python scripts/install_llamacpp.py [--print-key]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "llama-cpp-python"
X86_FLAGS = (
    "-DGGML_SSE42=ON -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_BMI2=ON -DGGML_FMA=ON -DGGML_F16C=ON "
    "-DGGML_AVX_VNNI=OFF -DGGML_AVX512=OFF -DGGML_AVX512_VBMI=OFF -DGGML_AVX512_VNNI=OFF -DGGML_AVX512_BF16=OFF "
    "-DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
)
# LLAVA_BUILD=OFF: the multimodal library (mtmd) is not used by the text server and is a third of the compile.
COMMON_FLAGS = "-DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF"


def portable_cmake_args(machine: str | None = None) -> str:
    machine = (machine or platform.machine()).lower()
    if machine in ("x86_64", "amd64"):
        return f"{COMMON_FLAGS} {X86_FLAGS}"
    return COMMON_FLAGS  # e.g. aarch64: GGML_NATIVE=OFF builds for the architecture's baseline


def local_requirements(pyproject: Path = REPO_ROOT / "pyproject.toml") -> list[str]:
    with open(pyproject, "rb") as f:
        return list(tomllib.load(f)["project"]["optional-dependencies"]["local"])


def pinned_version(requirements: list[str]) -> tuple[str, str]:
    """(extras, version) of the llama-cpp-python requirement, which must be pinned (``==``): the key names it."""
    for req in requirements:
        m = re.fullmatch(r"llama[-_]cpp[-_]python\s*(\[[^\]]*\])?\s*==\s*([\w.]+)", req.strip())
        if m:
            return m.group(1) or "", m.group(2)
    raise SystemExit(f"pyproject's `local` extra must pin {PACKAGE}==<version>; it has {requirements}")


def build_key(
    version: str, cmake_args: str, python_tag: str | None = None, machine: str | None = None
) -> str:
    """Everything that makes two builds differ; a wheel is reused only under the same key."""
    fields = {
        "package": PACKAGE,
        "version": version,
        "cmake_args": " ".join(cmake_args.split()),
        "python": python_tag or sys.implementation.cache_tag,
        "machine": (machine or platform.machine()).lower(),
        "platform": sys.platform,
    }
    digest = hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:16]
    return f"{version}-{digest}"


def wheel_cache() -> Path:
    if os.environ.get("RETOOL_WHEEL_CACHE"):
        return Path(os.environ["RETOOL_WHEEL_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "retool-data" / "wheels" / PACKAGE


def pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", *args], check=True)


def build_wheel(version: str, cmake_args: str, folder: Path) -> Path:
    """Compile once into ``folder`` (atomically: a killed build leaves no folder behind)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder.parent, prefix=".build-") as tmp:
        env = {**os.environ, "CMAKE_ARGS": cmake_args}
        print(f"building {PACKAGE}=={version} (minutes) with CMAKE_ARGS={cmake_args}", file=sys.stderr)
        subprocess.run(
            # --no-cache-dir: pip neither reuses nor stores a wheel; --no-binary: never a prebuilt one
            [sys.executable, "-m", "pip", "wheel", "--no-cache-dir", "--no-deps", "--no-binary", PACKAGE,
             f"{PACKAGE}=={version}", "-w", tmp],
            check=True, env=env,
        )  # fmt: skip
        info = {"package": PACKAGE, "version": version, "cmake_args": cmake_args, "python": sys.version}
        Path(tmp, "BUILD_INFO.json").write_text(json.dumps(info, indent=1) + "\n")
        # TemporaryDirectory makes it private; a shared RETOOL_WHEEL_CACHE needs it readable
        os.chmod(tmp, 0o755)
        os.rename(tmp, folder)
        os.mkdir(tmp)  # TemporaryDirectory removes its folder on exit
    return folder


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--print-key", action="store_true", help="print the wheel folder and exit")
    args = ap.parse_args(argv)
    requirements = local_requirements()
    extras, version = pinned_version(requirements)
    cmake_args = os.environ.get("RETOOL_LLAMACPP_CMAKE_ARGS") or portable_cmake_args()
    folder = wheel_cache() / build_key(version, cmake_args)
    if args.print_key:
        print(folder)
        return 0
    wheels = sorted(folder.glob("*.whl")) if folder.is_dir() else []
    if not wheels:
        shutil.rmtree(folder, ignore_errors=True)
        wheels = sorted(build_wheel(version, cmake_args, folder).glob("*.whl"))
    wheel = wheels[-1]
    print(f"installing {wheel}", file=sys.stderr)
    # the wheel itself replaces whatever llama-cpp-python is installed (same version, other flags included)
    pip("install", "-q", "--force-reinstall", "--no-deps", str(wheel))
    pip("install", "-q", f"{wheel}{extras}")  # its dependencies (the server's fastapi, sse-starlette...)
    others = [r for r in requirements if not re.match(r"llama[-_]cpp[-_]python\b", r.strip())]
    if others:
        pip("install", "-q", *others)
    return 0


if __name__ == "__main__":
    sys.exit(main())
