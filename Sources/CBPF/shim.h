// C surface for the BPF target: libbpf's public API.
#ifndef WEFT_CBPF_SHIM_H
#define WEFT_CBPF_SHIM_H
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include <sys/vfs.h>  // statfs(2), to tell whether bpffs is mounted
#endif
