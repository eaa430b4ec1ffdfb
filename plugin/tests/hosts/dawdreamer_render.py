"""Renders a stem through the COCOLA VST3 in DawDreamer with a sidechain.

usage: dawdreamer_render.py PLUGIN.vst3 STEM.npy CONDITION.npy OUT.npy RATE BLOCK

STEM/CONDITION are float32 [channels, frames]; OUT receives the plugin's main
output, same shape. The model comes from $COCOLA_MODEL, the scores go to the
plugin's log ($NICE_LOG). Driven by plugin/tests/real_hosts.rs.
"""
import gc
import sys
import time

import dawdreamer as daw
import numpy as np


def main():
    plugin_path, stem_path, cond_path, out_path = sys.argv[1:5]
    rate, block = int(sys.argv[5]), int(sys.argv[6])
    stem = np.load(stem_path).astype(np.float32)
    cond = np.load(cond_path).astype(np.float32)
    engine = daw.RenderEngine(rate, block)
    plugin = engine.make_plugin_processor("cocola", plugin_path)
    # The sidechain bus is off by default in DawDreamer.
    plugin.enable_all_buses()
    print("inputs:", plugin.get_num_input_channels(), "outputs:", plugin.get_num_output_channels(), flush=True)
    a = engine.make_playback_processor("stem", stem)
    b = engine.make_playback_processor("condition", cond)
    engine.load_graph([(a, []), (b, []), (plugin, ["stem", "condition"])])
    engine.render(stem.shape[1] / rate)
    out = np.asarray(engine.get_audio(), dtype=np.float32)
    np.save(out_path, out[:, : stem.shape[1]])
    # Releasing the engine deactivates the plugin: the worker then analyses
    # the end of the render and logs it before the process exits.
    del plugin, a, b, engine
    gc.collect()
    time.sleep(0.5)


if __name__ == "__main__":
    main()
