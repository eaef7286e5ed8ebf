#!/usr/bin/python3
"""SciPy's sosfilt beside bench/dsp.cpp's SOSFilter figures: the same designs (a 50 Hz notch,
Q 30, over 64 channels; a 300-6000 Hz Butterworth band-pass of 4 sections over 384 channels;
30 kHz), channels x samples blocks of float32 and float64 (SciPy computes both in float64),
the state carried from block to block, one thread; then SciPy's welch on 64 channels x 60 000
samples of white noise (defaults, segments of 256 and 500 samples; BM_Welch64x60000), its
coherence with a copy (BM_Coherence64x60000), and its stft and istft (defaults;
BM_Stft64x60000, BM_Istft64x60000); SciPy's Slepian tapers (BM_Dpss60000x8) and, where MNE is
installed (Debian's python3-mne), its psd_array_multitaper on 64 x 1 000 and 64 x 60 000
(BM_MultitaperPsd64), and with adaptive weights on 64 x 1 000 (BM_MultitaperPsdAdaptive64), its
csd_array_multitaper per pair (BM_MultitaperCoherence64) and over 10 epochs of 64 channels
(BM_MultitaperCsdMatrices64x10), and its notch_filter(method='spectrum_fit')
(BM_RemoveLines64x10000); and SciPy's hilbert (BM_Hilbert64), lombscargle (BM_LombScargle) and
remez (BM_Remez):
    OMP_NUM_THREADS=1 /usr/bin/python3 bench/dsp_scipy.py
"""
import numpy as np
import scipy
import scipy.signal as ss
from pyutil import best_of

FS = 30000.0


def design(sections):
    if sections == 1:
        return ss.tf2sos(*ss.iirnotch(50.0, 30.0, FS))
    return ss.butter(sections // 2, [300.0, 6000.0], "bandpass", fs=FS, output="sos")


def lombscargle():
    """SciPy's lombscargle (one row per call) on BM_LombScargle's shapes: rows x n samples at
    uniform random times over 10 s, f angular frequencies from 0.1 to 2 pi 100 rad/s."""
    rng = np.random.default_rng(21)
    for rows, n, f in ((1, 10000, 1000), (64, 2000, 500)):
        t = rng.uniform(0.0, 10.0, n)
        y = rng.standard_normal((rows, n))
        w = np.linspace(0.1, 2 * np.pi * 100.0, f)
        best = best_of(lambda: [ss.lombscargle(t, y[r], w) for r in range(rows)], 3)
        print(f"scipy {scipy.__version__} lombscargle, {rows} x {n} samples, {f} frequencies: "
              f"{best * 1e3:.1f} ms best of 3")


def remez():
    """SciPy's remez on BM_Remez's two designs: 501 taps, bands 0-0.1 and 0.105-0.5; 301 taps,
    bands 0-0.05, 0.07-0.2 and 0.22-0.5, desired 0, 1, 0, weights 3, 1, 3 (fs 1)."""
    for taps, bands, desired, weight in ((501, [0, 0.1, 0.105, 0.5], [1, 0], [1, 1]),
                                         (301, [0, 0.05, 0.07, 0.2, 0.22, 0.5], [0, 1, 0],
                                          [3, 1, 3])):
        best = best_of(lambda: ss.remez(taps, bands, desired, weight=weight), 9)
        print(f"scipy {scipy.__version__} remez, {taps} taps, {len(desired)} bands: "
              f"{best * 1e3:.2f} ms best of 9")


def fir_fft():
    """SciPy's firwin2 and minimum_phase on BM_Firwin2's and BM_MinimumPhase's cases."""
    best = best_of(lambda: ss.firwin2(255, [0, 0.1, 0.2, 0.5, 0.5, 0.7, 1],
                                      [0, 0, 1, 1, 0.5, 0, 0]), 99)
    print(f"scipy {scipy.__version__} firwin2, 255 taps: {best * 1e6:.1f} us best of 99")
    h = ss.remez(101, [0, 0.1, 0.12, 0.5], [1, 0])
    for method in ("homomorphic", "hilbert"):
        best = best_of(lambda: ss.minimum_phase(h, method), 9)
        print(f"scipy {scipy.__version__} minimum_phase, 101 taps, {method}: "
              f"{best * 1e3:.2f} ms best of 9")


def real_fft():
    """numpy's rfft and irfft on BM_Rfft's and BM_Irfft's lengths (white noise)."""
    rng = np.random.default_rng(5)
    for n in (1000, 4096, 60000):
        x = rng.standard_normal(n)
        z = np.fft.rfft(x)
        forward = best_of(lambda: np.fft.rfft(x), 99)
        inverse = best_of(lambda: np.fft.irfft(z, n), 99)
        print(f"numpy {np.__version__} rfft, n {n}: {forward * 1e6:.1f} us, irfft "
              f"{inverse * 1e6:.1f} us, best of 99")


def main():
    rng = np.random.default_rng(3)
    for channels, sections in ((64, 1), (384, 4)):
        sos = design(sections)
        for block in (32, 30000):
            for dtype in (np.float32, np.float64):
                x = rng.standard_normal((channels, block)).astype(dtype)
                zi = np.zeros((sos.shape[0], channels, 2))
                calls = max(1, 300000 // block)

                def run():
                    nonlocal zi
                    for _ in range(calls):
                        _, zi = ss.sosfilt(sos, x, axis=1, zi=zi)

                t = best_of(run, 7) / calls
                print(f"scipy {scipy.__version__} sosfilt, {channels} channels, {sections} "
                      f"section(s), blocks of {block} {np.dtype(dtype).name}: "
                      f"{t / block * 1e9:.0f} ns per sample, "
                      f"{t / (channels * block) * 1e9:.2f} ns per channel-sample")
    x = np.random.default_rng(9).standard_normal((64, 60000))
    for nperseg in (256, 500):
        t = best_of(lambda: ss.welch(x, 1000.0, nperseg=nperseg, axis=-1), 9)
        print(f"scipy {scipy.__version__} welch, 64 x 60000, nperseg {nperseg}: {t * 1e3:.1f} ms "
              f"best of 9")
    y = 0.5 * x + 1.0
    t = best_of(lambda: ss.coherence(x, y, 1000.0, nperseg=256, axis=-1), 9)
    print(f"scipy {scipy.__version__} coherence, 64 x 60000, nperseg 256: {t * 1e3:.1f} ms best of 9")
    t = best_of(lambda: ss.stft(x, 1000.0, axis=-1), 9)
    print(f"scipy {scipy.__version__} stft, 64 x 60000: {t * 1e3:.1f} ms best of 9")
    _, _, z = ss.stft(x, 1000.0, axis=-1)
    t = best_of(lambda: ss.istft(z, 1000.0), 9)
    print(f"scipy {scipy.__version__} istft, 64 x 60000: {t * 1e3:.1f} ms best of 9")
    t = best_of(lambda: ss.windows.dpss(60000, 4.0, 8, sym=False, return_ratios=True), 9)
    print(f"scipy {scipy.__version__} dpss 60000, NW 4, 8 tapers: {t * 1e3:.1f} ms best of 9")
    for n in (2000, 60000):
        t = best_of(lambda: ss.hilbert(x[:, :n], axis=-1), 9)
        print(f"scipy {scipy.__version__} hilbert, 64 x {n}: {t * 1e3:.2f} ms best of 9")
    lombscargle()
    remez()
    fir_fft()
    try:
        import mne
    except ImportError:
        print("MNE is not installed: no multitaper figures")
        return
    mne.set_log_level("ERROR")
    for n in (1000, 60000):
        xn = x[:, :n]
        t = best_of(lambda: mne.time_frequency.psd_array_multitaper(
            xn, 1000.0, normalization="full"), 5 if n > 1000 else 9)
        print(f"mne {mne.__version__} psd_array_multitaper, 64 x {n}: {t * 1e3:.1f} ms best of "
              f"{5 if n > 1000 else 9}")
    t = best_of(lambda: mne.time_frequency.psd_array_multitaper(
        x[:, :1000], 1000.0, normalization="full", adaptive=True), 9)
    print(f"mne {mne.__version__} psd_array_multitaper adaptive, 64 x 1000: {t * 1e3:.1f} ms "
          f"best of 9")
    xc, yc = x[:, :1000], 0.5 * x[:, :1000] + x[:, -1000:]

    def pairs():  # MNE's cross spectra of each pair of rows (the coherence from them is cheap)
        for r in range(64):
            mne.time_frequency.csd_array_multitaper(np.stack([xc[r], yc[r]])[None], 1000.0)
    t = best_of(pairs, 5)
    print(f"mne {mne.__version__} csd_array_multitaper, 64 pairs x 1000: {t * 1e3:.1f} ms best "
          f"of 5")
    epochs = np.stack([x[:, e * 1000:(e + 1) * 1000] for e in range(10)])
    t = best_of(lambda: mne.time_frequency.csd_array_multitaper(epochs, 1000.0, fmin=0.5,
                                                                 fmax=100.5), 5)
    print(f"mne {mne.__version__} csd_array_multitaper, 10 epochs x 64 x 1000, 1-100 Hz: "
          f"{t * 1e3:.1f} ms best of 5")
    tt = 2 * np.pi * np.arange(10000) / 1000.0
    lined = x[:, :10000] + 3.0 * np.cos(50.03 * tt) + np.sin(100.06 * tt)
    t = best_of(lambda: mne.filter.notch_filter(lined, 1000.0, None, method="spectrum_fit",
                                                filter_length=10000), 5)
    print(f"mne {mne.__version__} notch_filter spectrum_fit, 64 x 10000: {t * 1e3:.1f} ms "
          f"best of 5")


if __name__ == "__main__":
    main()
