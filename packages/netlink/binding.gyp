{
  "targets": [
    {
      "target_name": "minicni_netlink",
      "sources": ["native/netlink.c"],
      "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Werror"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
