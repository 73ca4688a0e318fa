{
  "targets": [
    {
      "target_name": "minicni_netlink",
      "sources": ["netlink.c"],
      "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Werror"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
