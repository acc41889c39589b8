/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * weft_maps.h: what Weft's two tc programs (weft_uplink.c, weft_overlay.c) share with
 * each other and with the agent's loader: map layouts, flag bits, verdict reasons.
 * bpf/README.md documents the same layouts byte by byte; keep the two in step.
 *
 * Every map is declared here with LIBBPF_PIN_BY_NAME, so both objects declare all eight
 * maps: whichever object is loaded first creates and pins them, the second one finds the
 * pins (same name, type, key/value size, max_entries, flags) and reuses them. One set of
 * maps per bpffs pin directory, i.e. per node.
 *
 * The part above "#ifdef __bpf__" is plain C (types only) so a userspace C target can
 * include it; the map definitions below it need clang -target bpf and libbpf's headers.
 */
#ifndef WEFT_MAPS_H
#define WEFT_MAPS_H

#include <linux/types.h>

/* ---- weft_config: ARRAY[1], key __u32 0 ----------------------------------------------- */

#define WEFT_VXLAN_PORT_DEFAULT 4789 /* used when weft_config.vxlan_port_be is 0 */

#define WEFT_CFG_ENFORCE_POLICY (1u << 0) /* clear: skip the weft_policy check on weft0 */
#define WEFT_CFG_ALLOW_REPLIES  (1u << 1) /* stateless reply rule, see weft_overlay.c */

struct weft_config {
	__u16 vxlan_port_be; /* network byte order; 0 = 4789 */
	__u16 pad;
	__u32 mark_tag;  /* e.g. 0x57000000 */
	__u32 mark_mask; /* e.g. 0xff000000; 0 = never trust skb->mark */
	__u32 flags;     /* WEFT_CFG_* */
};

/* ---- weft_peers: HASH, key __u32 underlay IPv4 (network order) -------------------------- */

#define WEFT_PEER_MUST_ENCRYPT (1u << 0)
#define WEFT_PEER_QUARANTINED  (1u << 1)

struct weft_peer {
	__u32 node_index;
	__u32 flags; /* WEFT_PEER_* */
};

/* ---- weft_vtep_macs: HASH, key struct weft_mac, value __u32 node_index ------------------- */

struct weft_mac {
	__u8 addr[6];
	__u16 pad; /* must be zero */
};

/* ---- weft_pod_cidrs (value node_index), weft_ipcache (value identity): LPM_TRIE --------- */

struct weft_lpm_v4 {
	__u32 prefixlen; /* host order, 0..32 */
	__u32 addr_be;   /* network order */
};

/* ---- weft_quarantine: HASH, key __u32 node_index, value __u8 (1 = quarantined) ---------- */

/* ---- weft_policy: HASH, key struct weft_policy_key, value __u8 (1 = allow) -------------- */

/* src_identity of a rule that admits every sender (known or not) to dst_identity */
#define WEFT_IDENTITY_ANY 0xffffffffu

struct weft_policy_key {
	__u32 src_identity;
	__u32 dst_identity;
	__u8 proto;    /* IPPROTO_*; 0 = any protocol (then dport_be is 0 too) */
	__u8 pad;      /* must be zero */
	__u16 dport_be; /* network order; 0 = any port (and always 0 for ICMP) */
};

/* ---- weft_counters: PERCPU_ARRAY[WEFT_REASON_MAX], key __u32 reason ------------------- */

enum weft_reason {
	WEFT_PASS_UPLINK = 0,
	WEFT_PASS_OVERLAY = 1,
	WEFT_DROP_UNKNOWN_SOURCE = 2,
	WEFT_DROP_QUARANTINED = 3,
	WEFT_DROP_PLAINTEXT = 4,
	WEFT_DROP_SPOOFED_SOURCE = 5,
	WEFT_DROP_POLICY = 6,
	WEFT_DROP_UNKNOWN_SENDER = 7,
	WEFT_DROP_MALFORMED = 8,
	WEFT_REASON_MAX = 9,
};

struct weft_counter {
	__u64 packets; /* skbs: GRO may have merged several wire packets into one */
	__u64 bytes;   /* skb->len at tc ingress (from the Ethernet header on) */
};

#define WEFT_MARK_NODE_MASK 0xffffu /* node index in the low 16 bits of the SA output-mark */

/* The loader relies on these sizes; fail the build, not the map reuse, if they change. */
_Static_assert(sizeof(struct weft_config) == 16, "weft_config layout");
_Static_assert(sizeof(struct weft_peer) == 8, "weft_peer layout");
_Static_assert(sizeof(struct weft_mac) == 8, "weft_mac layout");
_Static_assert(sizeof(struct weft_lpm_v4) == 8, "weft_lpm_v4 layout");
_Static_assert(sizeof(struct weft_policy_key) == 12, "weft_policy_key layout");
_Static_assert(sizeof(struct weft_counter) == 16, "weft_counter layout");

#ifdef __bpf__

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct weft_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} weft_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct weft_peer);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} weft_peers SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct weft_mac);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} weft_vtep_macs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct weft_lpm_v4);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} weft_pod_cidrs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 262144);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct weft_lpm_v4);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} weft_ipcache SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} weft_quarantine SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 262144);
	__type(key, struct weft_policy_key);
	__type(value, __u8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} weft_policy SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, WEFT_REASON_MAX);
	__type(key, __u32);
	__type(value, struct weft_counter);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} weft_counters SEC(".maps");

/* ---- helpers shared by both programs ---------------------------------------------------- */

static __always_inline void weft_count(struct __sk_buff *skb, __u32 reason)
{
	struct weft_counter *c = bpf_map_lookup_elem(&weft_counters, &reason);

	if (c) { /* per-CPU slot, tc runs with migration disabled: no atomics needed */
		c->packets += 1;
		c->bytes += skb->len;
	}
}

static __always_inline struct weft_config *weft_get_config(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&weft_config, &zero);
}

#endif /* __bpf__ */
#endif /* WEFT_MAPS_H */
