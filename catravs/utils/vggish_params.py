"""VGGish's input format (``vggish_params.py`` of the released model), defined once.

A log-mel example is ``float32[1, 96, 64]``: 96 frames of 10 ms (0.96 s) by 64 mel
bins, computed from mono audio at 16 kHz. The transforms that compute examples, the
audio encoders that read them and the tools that make synthetic inputs all use
these names.
"""

VGGISH_SAMPLE_RATE = 16000   # Hz
VGGISH_WINDOW = 400          # 25 ms at 16 kHz
VGGISH_HOP = 160             # 10 ms at 16 kHz
VGGISH_FFT = 512             # next power of two >= window
VGGISH_MEL_BINS = 64
VGGISH_MEL_MIN_HZ = 125.0
VGGISH_MEL_MAX_HZ = 7500.0
VGGISH_LOG_OFFSET = 0.01
VGGISH_EXAMPLE_FRAMES = 96   # 0.96 s of 10 ms frames
#: one log-mel example: (channel, time frames, mel bins)
VGGISH_EXAMPLE_SHAPE = (1, VGGISH_EXAMPLE_FRAMES, VGGISH_MEL_BINS)
