#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Reads hesp's results from Python through GObject introspection.

Runs  VIDEO -> hespfacecrop -> hespclipbatch -> hespinfer -> fakesink  and, from a pad probe on
the sink, prints every face of every frame with its expression and every clip that completes on
the frame (track id, frames, the pixel array's shape). Uses the GstHespMeta typelib of the meta
library (libgsthespmeta-1.0) and PyGObject; numpy, when present, turns a clip's pixels into an
array.

    python3 docs/examples/print_expressions.py [VIDEO] [--max-frames N] [--model PACK]

VIDEO defaults to the demo video the setup script makes ($HESP_CACHE_DIR or ~/.cache/hesp, file
demo/demo.mp4). From a build tree (docs/install.md):

    GI_TYPELIB_PATH=build/gst/meta LD_LIBRARY_PATH=build/gst GST_PLUGIN_PATH=build/gst \\
        python3 docs/examples/print_expressions.py --max-frames 100

Output lines:
    face frame=12 pts=0.480 track=1 box=412,96,88x88 expression=happy confidence=0.91 unknown=no
    clip frame=16 pts=0.640 track=1 frames=16 real=16 pixels=(16, 112, 112, 3) mean=118.4
"""
import argparse
import os
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstHespMeta", "1.0")
from gi.repository import GLib, Gst, GstHespMeta  # noqa: E402

try:
    import numpy
except ImportError:  # the example works without it, printing the shape only
    numpy = None


def default_video():
    cache = os.environ.get("HESP_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "hesp")
    return os.path.join(cache, "demo", "demo.mp4")


def describe_face(face):
    box = f"{face.x},{face.y},{face.width}x{face.height}"
    if not face.has_expression:
        return f"track={face.track_id} box={box} expression=(none yet)"
    return (f"track={face.track_id} box={box} expression={face.label} "
            f"confidence={face.confidence:.2f} unknown={'yes' if face.is_unknown else 'no'}")


def describe_clip(clip):
    # frames is n_frames x crop_size x crop_size x 3 bytes of RGB, shared with the buffer.
    data = clip.get_frames().get_data()
    shape = (clip.n_frames, clip.crop_size, clip.crop_size, 3)
    text = (f"track={clip.track_id} frames={clip.n_frames} real={clip.n_real_frames} "
            f"pixels={shape}")
    if numpy is not None:
        pixels = numpy.frombuffer(data, dtype=numpy.uint8).reshape(shape)
        text += f" mean={pixels.mean():.1f}"
    else:
        text += f" bytes={len(data)}"
    return text


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", nargs="?", default=default_video())
    parser.add_argument("--max-frames", type=int, default=0, help="stop after N frames (0: all)")
    parser.add_argument("--model", help="model pack for hespinfer (default: its own default)")
    args = parser.parse_args()

    Gst.init(None)
    if not os.path.exists(args.video):
        sys.exit(f"{args.video} not found (scripts/setup.sh makes the demo video)")
    pipeline = Gst.parse_launch(
        "filesrc name=src ! decodebin ! videoconvert ! hespfacecrop ! hespclipbatch ! "
        "hespinfer name=infer ! fakesink name=sink sync=false")
    pipeline.get_by_name("src").set_property("location", args.video)
    if args.model:
        pipeline.get_by_name("infer").set_property("model", args.model)

    loop = GLib.MainLoop()
    frames = 0

    def on_buffer(_pad, info):
        nonlocal frames
        buffer = info.get_buffer()
        pts = buffer.pts / Gst.SECOND if buffer.pts != Gst.CLOCK_TIME_NONE else -1.0
        for face in GstHespMeta.buffer_get_faces(buffer):
            print(f"face frame={frames} pts={pts:.3f} {describe_face(face)}", flush=True)
        for i in range(GstHespMeta.buffer_get_n_clips(buffer)):
            clip = GstHespMeta.buffer_get_nth_clip(buffer, i)
            print(f"clip frame={frames} pts={pts:.3f} {describe_clip(clip)}", flush=True)
        frames += 1
        if args.max_frames and frames == args.max_frames:
            # End the stream from the main loop, not from the streaming thread.
            GLib.idle_add(lambda: pipeline.send_event(Gst.Event.new_eos()) and False)
        return Gst.PadProbeReturn.OK

    pipeline.get_by_name("sink").get_static_pad("sink").add_probe(
        Gst.PadProbeType.BUFFER, on_buffer)

    failed = []

    def on_message(_bus, message):
        if message.type == Gst.MessageType.ERROR:
            error, debug = message.parse_error()
            failed.append(f"{error.message} ({debug})")
            loop.quit()
        elif message.type == Gst.MessageType.EOS:
            loop.quit()

    bus = pipeline.get_bus()
    bus.add_signal_watch()
    bus.connect("message", on_message)
    pipeline.set_state(Gst.State.PLAYING)
    try:
        loop.run()
    finally:
        pipeline.set_state(Gst.State.NULL)
        bus.remove_signal_watch()
    if failed:
        sys.exit("pipeline error: " + failed[0])
    print(f"{frames} frames", flush=True)


if __name__ == "__main__":
    main()
