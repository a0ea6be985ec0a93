"""Synthetic identifiers: RPPS-like and FINESS-like professional ids (with a Luhn key) and
pseudonymised DMP numbers."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa

_MASK40 = np.uint64((1 << 40) - 1)
_DMP_PREFIX = b"DMP"
_DMP_DIGITS = 13  # 2**40 < 10**13


def _luhn_key(payload: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(payload)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def _coprime_multiplier(rng: np.random.Generator, modulus_digits: int) -> int:
    a = int(rng.integers(10 ** (modulus_digits - 1), 10**modulus_digits))
    while math.gcd(a, 10) != 1:
        a += 1
    return a


def rpps_ids(n: int, rng: np.random.Generator) -> list[str]:
    """n distinct RPPS-like ids: "10" + 8 digits + Luhn key (11 digits)."""
    a, b = _coprime_multiplier(rng, 8), int(rng.integers(0, 10**8))
    serial = (np.arange(n, dtype=np.int64) * a + b) % 10**8
    out = []
    for s in serial.tolist():
        payload = f"10{s:08d}"
        out.append(payload + _luhn_key(payload))
    return out


def _finess_prefix(departement: str) -> str:
    # Real FINESS numbers use 2A/2B and 9A..9F; the project keeps all-digit ids (brief).
    if departement in ("2A", "2B"):
        return "20"
    return departement


def finess_ids(departements: list[str], rng: np.random.Generator) -> list[str]:
    """FINESS-like ids: département code + serial + Luhn key (9 digits)."""
    a5, a6 = _coprime_multiplier(rng, 5), _coprime_multiplier(rng, 6)
    b = int(rng.integers(0, 10**5))
    out = []
    for i, dep in enumerate(departements):
        prefix = _finess_prefix(dep)
        width = 8 - len(prefix)
        mult = a5 if width == 5 else a6
        payload = f"{prefix}{(i * mult + b) % 10**width:0{width}d}"
        out.append(payload + _luhn_key(payload))
    return out


def _mix40(x: np.ndarray, keys: tuple[int, int, int]) -> np.ndarray:
    """A bijection of [0, 2**40): pseudonymises pool positions into DMP numbers."""
    k1, k2, k3 = (np.uint64(k) for k in keys)
    y = x.astype(np.uint64) ^ k3
    y = (y * k1) & _MASK40
    y ^= y >> np.uint64(19)
    y = (y * k2) & _MASK40
    y ^= y >> np.uint64(23)
    return y


def _fixed_width_strings(prefix: bytes, numbers: np.ndarray, digits: int) -> pa.Array:
    """prefix + zero-padded decimal numbers, built in one buffer (no Python loop per row)."""
    n = len(numbers)
    width = len(prefix) + digits
    buf = np.empty((n, width), dtype=np.uint8)
    buf[:, : len(prefix)] = np.frombuffer(prefix, dtype=np.uint8)
    x = numbers.astype(np.uint64, copy=True)
    ten = np.uint64(10)
    for j in range(width - 1, len(prefix) - 1, -1):
        buf[:, j] = (x % ten).astype(np.uint8) + 48
        x //= ten
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(buf)])



def dmp_ids(positions: np.ndarray, keys: tuple[int, int, int]) -> pa.Array:
    """DMP identifiers (« DMP » + 13 digits) of pool positions, pseudonymised by ``keys``."""
    return _fixed_width_strings(_DMP_PREFIX, _mix40(positions, keys), _DMP_DIGITS)
