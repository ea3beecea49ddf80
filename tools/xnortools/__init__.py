"""What the project's Python tools share, written once.

The scripts in tools/ are run as `python tools/NAME.py`; Python puts a script's own folder
first on sys.path, so `import xnortools` finds this package with no path patching.

    paths     the repository root, the fixture folders, llama.cpp's folder and binaries, the
              SmolLM2 GGUF that tools/setup installs
    report    the pass/fail reporter: one "PASS ..." / "FAIL ...: why" line per check and a
              final "N passed, N failed"
    cli       running the xnor CLI with a timeout; strict JSON parsing of its output
    arrays    .npy writing that reruns byte for byte; safetensors read and written as bytes
    numerics  DESIGN.md's binarized numerics on unpacked codes and on packed bit-planes
    compare   the one relative-error criterion (the same as the Swift side's) and cosine
    onnxrt    onnxruntime with graph optimizations off, on the CPU
    gguf_llama  a numpy forward pass of a llama GGUF (SmolLM2): the float path, and llama.cpp's
              CPU numerics (Q8_1/Q8_0 activations, float16 KV cache) to compare with it

Nothing here imports torch or transformers; onnx and onnxruntime are imported only by the
modules that need them.
"""
