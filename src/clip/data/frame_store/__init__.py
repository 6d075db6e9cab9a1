"""The decoded-frame store (`dataset.frame_store`): every frame of each video decoded once, shrunk to a short side
and kept as JPEG, so a training sample decodes only its own frames' JPEGs instead of seeking and decoding video.
For the methods whose image tower carries prompts (dual_coop, stt, vilt, vita), which need pixels every epoch and so
cannot use the frozen-feature cache; any method can use it.

    entry.py   one video's entry file: header + JPEG bytes; EntryFile reads frames like an open VideoReader
    build.py   decoding a video into an entry (the video reader's frames, resized, JPEG-encoded)
    store.py   FrameStore: the namespace folder, entry paths and keys, building and opening entries
    fill.py    building many entries up front (each DDP rank / torchrun process its share), the read-mode check

How datasets choose between the video and the store: src/clip/data/frame_source.py. Pre-building:
data_tools/cache_frames.py. Pixels differ from the video path only by the resize to the short side (then the
transform's own resize) and JPEG: mean |diff| and figures in docs/performance.md.
"""
