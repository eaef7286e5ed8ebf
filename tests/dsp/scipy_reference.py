#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Reference values for tests/dsp/test_dsp.cpp, computed by SciPy (Debian's python3-scipy).

Writes, to the file named on the command line, a test signal, SciPy's second-order sections for a
set of Butterworth, Chebyshev, elliptic, Bessel and notch designs with `sosfilt` applied to the
signal (from rest, and from `sosfilt_zi` times the first sample) and `sosfiltfilt` (default padding
and none), `firwin` Kaiser taps, `tf2sos` of some transfer functions, and the orders and edges of
`buttord`, `cheb1ord`, `cheb2ord` and `ellipord`, NumPy's `fft` of parts of the signal and SciPy's
`welch` spectra, spectrograms and short-time transforms (and an inverse) of it, its `csd` and
`coherence` with a filtered copy, SciPy's windows (periodic and symmetric) and its Slepian tapers
(`dpss`), its `firwin`, `firwin2`, `firls` and `remez` designs and `minimum_phase`. Run at
configure time; nothing it writes is kept in git.
"""
import sys

import numpy as np
from scipy import signal
from scipy.signal import _fir_filter_design


def row(values):
    return " ".join(repr(float(v)) for v in np.ravel(values))


def main(path):
    rng = np.random.default_rng(20261130)
    n = 4001  # odd on purpose
    t = np.arange(n)
    # tones across the band, a step, drift and white noise
    x = (np.sin(2 * np.pi * 0.013 * t) + 0.5 * np.sin(2 * np.pi * 0.21 * t + 0.3)
         + 0.25 * np.sin(2 * np.pi * 0.0017 * t) + 0.3 * (t > 1500) + 0.1 * rng.standard_normal(n))
    # (kind, order, btype, edges, fs), then Chebyshev and elliptic designs with their ripples in
    # dB (rp or rs; ellip: rp and rs)
    designs = [
        ("butter", 4, "bandpass", (1.0, 40.0), 512.0),
        ("butter", 3, "highpass", (50.0,), 1000.0),
        ("butter", 5, "lowpass", (100.0,), 30000.0),
        ("butter", 2, "bandstop", (45.0, 55.0), 500.0),
        ("butter", 4, "bandpass", (300.0, 3000.0), 30000.0),
        ("butter", 7, "lowpass", (0.3 * 250.0,), 250.0),
        ("butter", 1, "highpass", (0.5,), 256.0),
        ("butter", 3, "highpass", (0.5,), 256.0),
        ("butter", 9, "highpass", (4000.0,), 16000.0),
        ("butter", 5, "bandstop", (45.0, 55.0), 1000.0),
        ("butter", 6, "lowpass", (3000.0,), 16000.0),
        ("butter", 3, "bandpass", (0.5, 45.0), 256.0),
        ("notch", 2, "notch", (50.0, 30.0), 512.0),
        ("notch", 2, "notch", (60.0, 35.0), 1000.0),
    ]
    designs = [(*d, 0.0, 0.0) for d in designs] + [(*d, 0.0) for d in [
        ("cheby1", 4, "bandpass", (1.0, 40.0), 512.0, 0.5),
        ("cheby1", 5, "lowpass", (100.0,), 30000.0, 1.0),
        ("cheby1", 2, "highpass", (0.5,), 256.0, 3.0),
        ("cheby1", 3, "bandstop", (45.0, 55.0), 1000.0, 0.1),
        ("cheby2", 4, "bandpass", (0.5, 45.0), 256.0, 40.0),
        ("cheby2", 7, "lowpass", (0.3 * 250.0,), 250.0, 60.0),
        ("cheby2", 6, "highpass", (300.0,), 30000.0, 50.0),
        ("cheby2", 3, "bandstop", (45.0, 55.0), 500.0, 30.0),
    ]] + [
        ("ellip", 4, "bandpass", (1.0, 40.0), 512.0, 0.5, 40.0),
        ("ellip", 5, "lowpass", (100.0,), 30000.0, 0.1, 60.0),
        ("ellip", 3, "highpass", (300.0,), 30000.0, 1.0, 50.0),
        ("ellip", 6, "bandstop", (45.0, 55.0), 1000.0, 0.5, 70.0),
        # Bessel, the norm in the kind
        ("bessel_phase", 4, "lowpass", (3000.0,), 30000.0, 0.0, 0.0),
        ("bessel_delay", 5, "highpass", (1.0,), 256.0, 0.0, 0.0),
        ("bessel_mag", 6, "bandpass", (300.0, 3000.0), 30000.0, 0.0, 0.0),
        ("bessel_phase", 8, "bandstop", (45.0, 55.0), 1000.0, 0.0, 0.0),
    ]
    with open(path, "w") as out:
        out.write(f"x {n}\n{row(x)}\n")
        for kind, order, btype, edges, fs, ripple, ripple2 in designs:
            wn = edges[0] if len(edges) == 1 else list(edges)
            if kind == "butter":
                sos = signal.butter(order, wn, btype=btype, fs=fs, output="sos")
            elif kind in ("cheby1", "cheby2"):
                design = getattr(signal, kind)
                sos = design(order, ripple, wn, btype=btype, fs=fs, output="sos")
            elif kind == "ellip":
                sos = signal.ellip(order, ripple, ripple2, wn, btype=btype, fs=fs, output="sos")
            elif kind.startswith("bessel_"):
                norm = kind[len("bessel_"):]
                sos = signal.bessel(order, wn, btype=btype, norm=norm, fs=fs, output="sos")
            else:
                b, a = signal.iirnotch(edges[0], edges[1], fs=fs)
                sos = np.concatenate([b, a])[None, :]
            y = signal.sosfilt(sos, x)
            # started in the steady state of a constant input x[0] (SOSFilter::prime)
            y_primed = signal.sosfilt(sos, x, zi=signal.sosfilt_zi(sos) * x[0])[0]
            # zero-phase, with the default padding and with none
            y_ff = signal.sosfiltfilt(sos, x)
            y_ff0 = signal.sosfiltfilt(sos, x, padlen=0)
            # the other extensions: even (with 37 samples), constant, none
            y_ffe = signal.sosfiltfilt(sos, x, padtype="even", padlen=37)
            y_ffc = signal.sosfiltfilt(sos, x, padtype="constant")
            y_ffn = signal.sosfiltfilt(sos, x, padtype=None)
            e2 = edges[1] if len(edges) > 1 else 0.0
            out.write(f"design {kind} {order} {btype} {edges[0]!r} {e2!r} {fs!r} {ripple!r} "
                      f"{ripple2!r} {sos.shape[0]}\n")
            for r in sos:
                out.write(row(r) + "\n")
            out.write(row(y) + "\n")
            out.write(row(y_primed) + "\n")
            out.write(row(y_ff) + "\n")
            out.write(row(y_ff0) + "\n")
            out.write(row(y_ffe) + "\n")
            out.write(row(y_ffc) + "\n")
            out.write(row(y_ffn) + "\n")
        for numtaps, fc, beta in [(101, 0.05, 7.857), (63, 0.2, 5.0), (257, 0.01, 10.0), (1, 0.25, 0.0)]:
            h = signal.firwin(numtaps, 2 * fc, window=("kaiser", beta))
            out.write(f"fir {numtaps} {fc!r} {beta!r}\n{row(h)}\n")
        # tf2sos on transfer functions with distinct roots, then on Butterworth designs, whose
        # repeated zeros are ill-conditioned (compared through the response only)
        tfs = [
            signal.ellip(4, 0.5, 40, [0.1, 0.3], btype="bandpass", output="ba"),
            signal.ellip(5, 1.0, 50, 0.2, output="ba"),
            signal.cheby2(6, 40, 0.35, btype="highpass", output="ba"),
            signal.cheby2(3, 30, [0.2, 0.5], btype="bandstop", output="ba"),
            signal.iirnotch(50.0, 30.0, fs=512.0),
            ([0.5, 0.3], [1.0, -0.9, 0.2]),  # a shorter numerator
            ([1.0, 0.5, -0.3, 0.2], [1.0]),  # FIR
            ([2.0, 0.4, 0.0], [4.0, -2.0, 0.24]),  # a trailing zero; a[0] != 1
            ([0.3], [1.0, -1.2, 0.5, -0.1]),  # a constant numerator, odd order
        ]
        # Butterworth designs as b, a: zeros repeated at z = -1, 1 or on the circle
        butters = [(n, "lowpass", 0.24) for n in range(1, 9)]
        butters += [(n, "highpass", 0.24) for n in range(1, 9)]
        butters += [(n, "bandpass", [0.16, 0.36]) for n in range(1, 6)]
        butters += [(n, "bandstop", [0.16, 0.36]) for n in range(1, 6)]
        cases = [(b, a, 1) for b, a in tfs]
        cases += [(*signal.butter(n, wn, btype=bt, output="ba"), 0) for n, bt, wn in butters]
        for b, a, distinct in cases:
            sos = signal.tf2sos(b, a)
            out.write(f"tf {len(b)} {len(a)} {sos.shape[0]} {distinct}\n{row(b)}\n{row(a)}\n")
            for r in sos:
                out.write(row(r) + "\n")
        # order selection: (pass edges, stop edges, gpass, gstop, fs) for every family
        specs = [
            ([40.0], [50.0], 1.0, 40.0, 1000.0),
            ([0.7], [0.3], 0.5, 30.0, 256.0),
            ([300.0, 3000.0], [150.0, 4500.0], 0.1, 60.0, 30000.0),
            ([45.0, 55.0], [48.0, 52.0], 3.0, 25.0, 1000.0),
            ([8.0, 13.0], [5.0, 17.0], 1.0, 50.0, 256.0),
            ([1.0, 120.0], [5.0, 60.0], 0.5, 45.0, 512.0),
            ([3000.0], [3500.0], 0.01, 80.0, 16000.0),
            ([7.0], [11.0], 2.0, 35.0, 100.0),
        ]
        selectors = [("butter", signal.buttord), ("cheby1", signal.cheb1ord),
                     ("cheby2", signal.cheb2ord), ("ellip", signal.ellipord)]
        for kind, select in selectors:
            for wp, ws, gpass, gstop, fs in specs:
                arg = (lambda v: v[0] if len(v) == 1 else v)
                n, wn = select(arg(wp), arg(ws), gpass, gstop, fs=fs)
                wn = np.sort(np.atleast_1d(wn))
                sos = signal.iirdesign(arg(wp), arg(ws), gpass, gstop, ftype=kind, output="sos",
                                       fs=fs)
                out.write(f"ord {kind} {len(wp)}\n{row(wp)}\n{row(ws)}\n"
                          f"{gpass!r} {gstop!r} {fs!r} {n} {len(wn)}\n{row(wn)}\n{sos.shape[0]}\n")
                for r in sos:
                    out.write(row(r) + "\n")
        # numpy's FFT of the signal's first n samples: a power of two and two other lengths
        for m in (1024, 1000, 4001):
            spectrum = np.fft.fft(x[:m])
            out.write(f"fft {m}\n{row(spectrum.real)}\n{row(spectrum.imag)}\n")
        # Welch spectra of the signal at 256 Hz: (nperseg, noverlap, nfft, window, detrend,
        # scaling, average); -1 for SciPy's default
        welches = [
            (256, -1, -1, "hann", "constant", "density", "mean"),
            (255, 100, 300, "hamming", "linear", "spectrum", "mean"),
            (512, 384, -1, "blackman", "constant", "density", "median"),
            (101, 0, -1, "boxcar", "none", "density", "median"),
            (1000, 1, 1001, "hann", "linear", "density", "mean"),
            (4001, -1, -1, "hann", "constant", "spectrum", "mean"),
        ]
        for nperseg, noverlap, nfft, window, detrend, scaling, average in welches:
            f, p = signal.welch(x, fs=256.0, window=window, nperseg=nperseg,
                                noverlap=None if noverlap < 0 else noverlap,
                                nfft=None if nfft < 0 else nfft,
                                detrend=False if detrend == "none" else detrend,
                                scaling=scaling, average=average)
            out.write(f"welch {nperseg} {noverlap} {nfft} {window} {detrend} {scaling} {average} "
                      f"{len(f)}\n{row(f)}\n{row(p)}\n")
        # cross spectra and coherence of the signal with a filtered, noisier copy of it
        y = signal.lfilter([0.5, 0.3], [1.0, -0.4], x) + 0.3 * rng.standard_normal(len(x))
        out.write(f"y {len(y)}\n{row(y)}\n")
        for nperseg, window, average in [(256, "hann", "mean"), (301, "hamming", "median")]:
            f, pxy = signal.csd(x, y, fs=256.0, window=window, nperseg=nperseg, average=average)
            out.write(f"csd {nperseg} {window} {average} {len(f)}\n{row(pxy.real)}\n"
                      f"{row(pxy.imag)}\n")
        for nperseg, window in [(256, "hann"), (500, "blackman")]:
            f, cxy = signal.coherence(x, y, fs=256.0, window=window, nperseg=nperseg)
            out.write(f"coherence {nperseg} {window} {len(f)}\n{row(cxy)}\n")
        # SciPy's periodic windows
        for name, alpha in [("hann", 0), ("hamming", 0), ("blackman", 0), ("boxcar", 0),
                            ("tukey", 0.25), ("tukey", 0.5), ("tukey", 0.0), ("tukey", 1.0)]:
            for m in (1, 2, 7, 100, 101):
                w = signal.get_window((name, alpha) if name == "tukey" else name, m)
                out.write(f"window {name} {alpha!r} {m}\n{row(w)}\n")
        # spectrograms: SciPy's defaults (Tukey 0.25, noverlap nperseg // 8), then other options
        sxx = [signal.spectrogram(x, fs=256.0),
               signal.spectrogram(x, fs=256.0, window="hann", nperseg=128, noverlap=100, nfft=150,
                                  detrend="linear", scaling="spectrum")]
        for (f, t, s), (nperseg, noverlap, nfft) in zip(sxx, [(256, -1, -1), (128, 100, 150)]):
            out.write(f"spectrogram {nperseg} {noverlap} {nfft} {len(f)} {len(t)}\n{row(t)}\n")
            for r in s:
                out.write(row(r) + "\n")
        # short-time Fourier transforms: SciPy's defaults, then a Hamming window of odd length,
        # zero-padded transforms, 'psd' scaling, no boundary and no padding, then each of the
        # other boundary extensions
        stfts = [(256, -1, -1, "hann", "spectrum", "zeros", True),
                 (255, 200, 300, "hamming", "psd", "none", False),
                 (128, 96, -1, "hann", "spectrum", "even", True),
                 (101, 50, 128, "hamming", "psd", "odd", True),
                 (64, 16, -1, "hann", "spectrum", "constant", False)]
        for nperseg, noverlap, nfft, window, scaling, boundary, padded in stfts:
            f, t, z = signal.stft(x, fs=256.0, window=window, nperseg=nperseg,
                                  noverlap=None if noverlap < 0 else noverlap,
                                  nfft=None if nfft < 0 else nfft, scaling=scaling,
                                  boundary=None if boundary == "none" else boundary,
                                  padded=padded)
            out.write(f"stft {nperseg} {noverlap} {nfft} {window} {scaling} {boundary} "
                      f"{int(padded)} {z.shape[0]} {z.shape[1]}\n{row(t)}\n{row(z.real)}\n"
                      f"{row(z.imag)}\n")
        # the inverse of the default STFT with its bins below the median magnitude zeroed (no
        # longer the STFT of any signal: the least-squares estimate)
        f, t, z = signal.stft(x, fs=256.0)
        keep = np.abs(z) >= np.median(np.abs(z))
        _, xr = signal.istft(np.where(keep, z, 0), fs=256.0)
        out.write(f"istft {z.shape[0]} {z.shape[1]} {len(xr)}\n{row(keep)}\n{row(xr)}\n")
        # Slepian tapers and their concentration ratios: symmetric and periodic, odd and even
        # lengths
        for m, nw, k, sym in [(7, 1.5, 3, True), (64, 2.5, 4, True), (101, 4.0, 8, True),
                              (100, 4.0, 8, False), (257, 3.0, 6, False), (1000, 4.0, 7, True)]:
            v, ratios = signal.windows.dpss(m, nw, k, sym=sym, return_ratios=True)
            out.write(f"dpss {m} {nw!r} {k} {int(sym)}\n{row(v)}\n{row(ratios)}\n")
        # symmetric windows (fftbins=False) and Kaiser's, both kinds
        for name, shape in [("hann", 0), ("hamming", 0), ("blackman", 0), ("tukey", 0.3),
                            ("kaiser", 8.6), ("kaiser", 0.5)]:
            for m in (1, 2, 7, 100, 101):
                for sym in (True, False):
                    spec = (name, shape) if name in ("tukey", "kaiser") else name
                    w = signal.get_window(spec, m, fftbins=not sym)
                    out.write(f"window2 {name} {shape!r} {int(sym)} {m}\n{row(w)}\n")
        # firwin: (taps, cut-offs, window, shape, pass_zero, scale, fs)
        firwins = [(31, [0.3], "hamming", 0, True, True, 2.0),
                   (30, [0.3], "hann", 0, True, True, 2.0),
                   (31, [0.3], "blackman", 0, False, True, 2.0),
                   (51, [0.2, 0.5], "hann", 0, False, True, 2.0),
                   (51, [0.2, 0.5], "boxcar", 0, True, False, 2.0),
                   (61, [0.1, 0.3, 0.5, 0.7], "hamming", 0, True, True, 2.0),
                   (61, [0.1, 0.3, 0.5, 0.7], "kaiser", 5.0, False, True, 2.0),
                   (101, [300.0, 6000.0], "kaiser", 8.6, False, True, 30000.0),
                   (64, [0.2, 0.4], "tukey", 0.5, False, True, 2.0),
                   (1, [0.5], "hamming", 0, True, True, 2.0),
                   (255, [40.0], "hamming", 0, True, True, 1000.0)]
        firwins += [(45, [0.25], "width", 0.1, True, True, 2.0),  # Kaiser, for a width
                    (101, [300.0, 6000.0], "width", 250.0, False, True, 30000.0)]
        for taps, cutoff, window, shape, pass_zero, scale, fs in firwins:
            spec = (window, shape) if window in ("tukey", "kaiser") else window
            width = shape if window == "width" else None
            h = signal.firwin(taps, cutoff, width=width,
                              window=spec if width is None else "hamming",
                              pass_zero=pass_zero, scale=scale, fs=fs)
            out.write(f"firwin {taps} {window} {shape!r} {int(pass_zero)} {int(scale)} {fs!r} "
                      f"{len(cutoff)}\n{row(cutoff)}\n{row(h)}\n")
        # kaiserord: (ripple dB, width relative to Nyquist) -> taps, beta
        for ripple, width in [(8.0, 0.5), (21.0, 0.1), (35.0, 0.05), (50.0, 0.02), (65.0, 0.2),
                              (96.3, 0.013)]:
            taps, beta = signal.kaiserord(ripple, width)
            out.write(f"kaiserord {ripple!r} {width!r} {taps} {beta!r}\n")
        # firls: (taps, bands, desired at each edge, weight, fs), well conditioned
        firlses = [(11, [0, 0.2, 0.3, 1], [1, 1, 0, 0], [1, 1], 2.0),
                   (31, [0, 0.3, 0.4, 1], [1, 1, 0, 0], [1, 10], 2.0),
                   (73, [0, 0.1, 0.2, 0.5, 0.6, 1], [0, 0, 1, 1, 0, 0], [1, 1, 1], 2.0),
                   (101, [0, 50, 60, 250, 270, 500], [0, 0, 1, 1, 0, 0], [3, 1, 3], 1000.0),
                   (21, [0, 0.9], [0, 0.9], [1], 2.0),
                   (51, [0, 0.3, 0.35, 0.6, 0.7, 1], [1, 1, 0, 0, 0.5, 0.5], [1, 2, 1], 2.0),
                   (3, [0, 0.3, 0.6, 1], [1, 1, 0, 0], [1, 1], 2.0),
                   (255, [0, 0.1, 0.12, 1], [1, 1, 0, 0], [1, 1], 2.0)]
        for taps, bands, desired, weight, fs in firlses:
            h = signal.firls(taps, bands, desired, weight=weight, fs=fs)
            out.write(f"firls {taps} {fs!r} {len(weight)}\n{row(bands)}\n{row(desired)}\n"
                      f"{row(weight)}\n{row(h)}\n")
        # remez: (taps, bands, desired, weight, type, fs)
        remezes = [(11, [0, 0.2, 0.3, 0.5], [1, 0], [1, 1], "bandpass", 1.0),
                   (10, [0, 0.2, 0.3, 0.5], [1, 0], [1, 1], "bandpass", 1.0),
                   (31, [0, 0.2, 0.25, 0.5], [1, 0], [1, 10], "bandpass", 1.0),
                   (73, [0, 0.1, 0.15, 0.25, 0.3, 0.5], [0, 1, 0], [10, 1, 10], "bandpass", 1.0),
                   (101, [0, 50, 60, 250, 270, 500], [0, 1, 0], [1, 1, 1], "bandpass", 1000.0),
                   (255, [0, 0.1, 0.12, 0.5], [1, 0], [1, 1], "bandpass", 1.0),
                   (51, [0, 0.3, 0.35, 0.5], [0, 1], [1, 1], "bandpass", 1.0),
                   (11, [0.05, 0.45], [1], [1], "hilbert", 1.0),
                   (10, [0.05, 0.5], [1], [1], "hilbert", 1.0),
                   (11, [0.0, 0.4], [1], [1], "differentiator", 1.0),
                   (40, [0.0, 0.3, 0.35, 0.5], [1, 0], [1, 1], "differentiator", 1.0),
                   (3, [0.1, 0.4], [1], [1], "hilbert", 1.0),
                   (401, [0, 0.2, 0.22, 0.5], [1, 0], [1, 1], "bandpass", 1.0)]
        for taps, bands, desired, weight, kind, fs in remezes:
            h = signal.remez(taps, bands, desired, weight=weight, type=kind, fs=fs)
            out.write(f"remez {taps} {kind} {fs!r} {len(desired)}\n{row(bands)}\n"
                      f"{row(desired)}\n{row(weight)}\n{row(h)}\n")
        # firwin2: (taps, freq, gain, window, shape, nfreqs or 0, antisymmetric, fs)
        firwin2s = [(150, [0, 0.5, 1], [1, 1, 0], "hamming", 0, 0, False, 2.0),
                    (31, [0, 0.3, 0.3, 1], [1, 1, 0, 0], "hamming", 0, 0, False, 2.0),
                    (30, [0, 1], [0, 1], "boxcar", 0, 0, True, 2.0),
                    (33, [0, 100, 200, 200, 500], [0, 1, 1, 0.5, 0], "kaiser", 5.0, 100, True,
                     1000.0),
                    (101, [0, 0.1, 0.2, 0.4, 0.5, 1], [0, 0, 1, 1, 0, 0], "hann", 0, 0, False,
                     2.0),
                    (7, [0, 0.25, 0.5, 0.5, 1], [1, 0.5, 0.5, 0.2, 0.2], "blackman", 0, 0, False,
                     2.0),
                    (1, [0, 1], [1, 1], "hamming", 0, 0, False, 2.0),
                    (64, [0, 0.2, 0.2, 0.6, 0.6, 1], [0, 0, 1, 1, 0.3, 0], "tukey", 0.5, 0, False,
                     2.0),
                    (255, [0, 40, 60, 500], [1, 1, 0, 0], "hamming", 0, 0, False, 1000.0)]
        for taps, freq, gain, window, shape, nfreqs, anti, fs in firwin2s:
            spec = (window, shape) if window in ("tukey", "kaiser") else window
            h = signal.firwin2(taps, freq, gain, nfreqs=nfreqs or None, window=spec,
                               antisymmetric=anti, fs=fs)
            out.write(f"firwin2 {taps} {window} {shape!r} {nfreqs} {int(anti)} {fs!r} "
                      f"{len(freq)}\n{row(freq)}\n{row(gain)}\n{row(h)}\n")
        # minimum_phase of SciPy's designs: (input, method, n_fft or 0). The Hilbert method's
        # taps move with the rounding of its amplitude A[k], which is even in k: its least value,
        # whose square root is floored at 1e-10, sits at two mirrored bins, and rounding decides
        # whether both reach the floor (SciPy's taps move by up to 7e-4 of the peak under
        # relative changes of 1e-15 in h). Its reference is therefore SciPy's `_dhtm`, the
        # method's discrete Hilbert transform, of SciPy's amplitude made exactly even
        inputs = [signal.remez(41, [0, 0.1, 0.2, 0.5], [1, 0]),
                  signal.firwin(40, 0.3),
                  signal.remez(61, [0, 0.1, 0.15, 0.3, 0.35, 0.5], [0, 1, 0]),
                  signal.firwin2(33, [0, 0.4, 0.6, 1], [1, 1, 0.1, 0.1]),
                  signal.remez(7, [0, 0.1, 0.3, 0.5], [1, 0])]
        cases = [(0, "homomorphic", 0), (1, "homomorphic", 333), (2, "homomorphic", 0),
                 (3, "homomorphic", 1000), (4, "homomorphic", 0), (0, "hilbert", 0),
                 (2, "hilbert", 4096), (4, "hilbert", 0), (3, "hilbert", 999)]
        for which, method, n_fft in cases:
            h = inputs[which]
            if method == "homomorphic":
                m = signal.minimum_phase(h, method, n_fft or None)
            else:
                length = n_fft or 2 ** int(np.ceil(np.log2(2 * (len(h) - 1) / 0.01)))
                w = np.arange(length) * (2 * np.pi / length * (len(h) // 2))
                a = np.real(np.fft.fft(h, length) * np.exp(1j * w))
                a[length - np.arange(1, (length + 1) // 2)] = a[1:(length + 1) // 2]
                dp, ds = a.max() - 1, -a.min()
                a = np.sqrt((a + ds) * 4 / (np.sqrt(1 + dp + ds) + np.sqrt(1 - dp + ds)) ** 2)
                m = _fir_filter_design._dhtm(a + 1e-10)[:len(h) // 2 + len(h) % 2]
            out.write(f"minimum_phase {method} {n_fft} {len(h)} {len(m)}\n{row(h)}\n"
                      f"{row(m)}\n")
        # the periodogram: welch with one boxcar segment of the whole signal
        f, p = signal.periodogram(x, fs=256.0)
        out.write(f"welch {len(x)} 0 -1 periodogram constant density mean {len(f)}\n{row(f)}\n"
                  f"{row(p)}\n")


if __name__ == "__main__":
    main(sys.argv[1])
