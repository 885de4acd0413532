{
  "targets": [
    {
      "target_name": "crosstalk",
      "sources": [
        "src/addon.cc",
        "../../bpf/crosstalk.c",
        "../../bpf/probes.c",
        "../../bpf/window.c",
        "../../bpf/events.c",
        "../../bpf/buffer.c",
        "../../bpf/tombstones.c",
        "../../bpf/kernel.c",
        "../../bpf/errors.c",
        "../../bpf/cpu.c",
        "../../bpf/io.c",
        "../../bpf/memory.c",
        "../../bpf/cache.c",
        "../../bpf/lifecycle.c",
        "../../bpf/kmod.c"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "../../bpf",
        "../../bpf/.output",
        "../../kmod"
      ],
      "defines": ["NAPI_VERSION=9", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags": ["-Wall", "-Wextra", "-Wno-missing-field-initializers"],
      "cflags_cc": ["-std=c++20"],
      "libraries": ["-lbpf", "-lelf", "-lz"]
    }
  ]
}
