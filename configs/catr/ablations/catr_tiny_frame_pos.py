# Frame positions: video tokens of frame t and audio token t carry the sine embedding of
# t (fusion.frame_pos=True), so that attention can pair a frame with its own second of audio.
# Not in the released code, whose audio tokens have no position: on data whose sounding
# object changes every second (the demo's SynthAVS, AVSBench MS3 and AVSS), CATR with
# learned queries cannot otherwise tell which audio token belongs to which frame.
_base_ = ['./catr_tiny_full.py']

model = dict(fusion=dict(frame_pos=True))
