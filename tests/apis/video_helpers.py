"""Write small test videos with PyAV (lossless or H.264 + AAC), with or without sound."""
from __future__ import annotations

from fractions import Fraction

import numpy as np


def write_video(path: str, frames: list[np.ndarray], fps: int | Fraction,
                audio: tuple[np.ndarray, int] | None = None, lossless: bool = False) -> str:
    """Frames: RGB ``uint8[H, W, 3]`` at ``fps`` (an int, or a ``Fraction`` such as NTSC's
    ``Fraction(30000, 1001)``); audio: ``(float32[S] mono or float32[S, 2] stereo, rate)``.

    ``lossless``: FFV1 video (bgr0) and 16-bit PCM audio in Matroska: the decoded
    frames and samples are exactly the written ones (for int16-representable audio).
    Otherwise H.264 (yuv420p) + AAC in whatever container ``path`` names.
    """
    import av
    height, width = frames[0].shape[:2]
    fps = Fraction(fps)
    layout = 'stereo' if audio is not None and np.ndim(audio[0]) == 2 else 'mono'
    with av.open(path, 'w') as out:
        video = out.add_stream('ffv1' if lossless else 'libx264', rate=fps)
        video.width, video.height = width, height
        video.pix_fmt = 'bgr0' if lossless else 'yuv420p'
        astream = None
        if audio is not None:
            astream = out.add_stream('pcm_s16le' if lossless else 'aac', rate=audio[1],
                                     layout=layout)
        for i, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format='rgb24')
            frame.pts, frame.time_base = i, 1 / fps
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        if astream is not None:
            wave, rate = audio
            pcm = np.clip(np.round(wave * 32768.0), -32768, 32767).astype(np.int16)
            pcm = pcm.reshape(len(pcm), -1)  # [S, channels], interleaved as packed s16
            step = 1024
            for start in range(0, len(pcm), step):
                frame = av.AudioFrame.from_ndarray(
                    np.ascontiguousarray(pcm[start:start + step]).reshape(1, -1), format='s16',
                    layout=layout)
                frame.sample_rate = rate
                frame.pts = start
                frame.time_base = Fraction(1, rate)
                out.mux(astream.encode(frame))
            out.mux(astream.encode(None))
    return path
