/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * weft_maps.h: what Weft's tc programs (weft_uplink.c, weft_overlay.c, weft_track.c,
 * weft_pod_out.c, weft_pod_in.c) share with each other and with the agent's loader: map
 * layouts, flag bits, verdict reasons.
 * bpf/README.md documents the same layouts byte by byte; keep the two in step.
 *
 * Every map is declared here with LIBBPF_PIN_BY_NAME, so every object declares all thirteen
 * maps: whichever object is loaded first creates and pins them, the others find the
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
#define WEFT_CFG_ALLOW_REPLIES  (1u << 1) /* replies of connections in weft_conntrack pass */
#define WEFT_CFG_ENFORCE_EGRESS (1u << 2) /* set: pods send only what weft_egress allows */

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

/* ---- weft_pod_cidrs (value node_index), weft_ipcache (value identity), weft_cidrs (value
 * CIDR identity: the policies' ipBlock prefixes, pods' addresses among them): LPM_TRIE ---- */

struct weft_lpm_v4 {
	__u32 prefixlen; /* host order, 0..32 */
	__u32 addr_be;   /* network order */
};

/* ---- weft_quarantine: HASH, key __u32 node_index, value __u8 (1 = quarantined) ---------- */

/* ---- weft_policy: LPM_TRIE, key struct weft_policy_key, value __u8 (1 = allow) ---------- */

/* src_identity of a rule that admits every sender (known or not) to dst_identity */
#define WEFT_IDENTITY_ANY 0xffffffffu
/* the node itself: the agent maps the node's own addresses to it in weft_ipcache; the pods'
 * filters always admit it (NetworkPolicy never isolates a pod from its node: probes) */
#define WEFT_IDENTITY_HOST 0xfffffffeu

/* An allow rule: both identities always match whole; then the protocol (or any), then the
 * destination port's leading bits, so that one entry covers an aligned block of ports and
 * a range is a handful of entries. Allow-only: any match admits, and the longest-prefix
 * lookup finds one exactly when some entry covers the packet. */
struct weft_policy_key {
	__u32 prefixlen;    /* host order: WEFT_POLICY_PREFIX_ANY, _PROTO, or _PROTO + port bits */
	__u32 src_identity;
	__u32 dst_identity;
	__u8 proto;         /* IPPROTO_*; 0 when prefixlen is WEFT_POLICY_PREFIX_ANY */
	__u8 pad;           /* must be zero */
	__u16 dport_be;     /* network order; bits past the prefix zero (always 0 for ICMP) */
};

#define WEFT_POLICY_PREFIX_ANY   64 /* the two identities: any protocol, any port */
#define WEFT_POLICY_PREFIX_PROTO 80 /* ... and proto (with pad): any port of it */
#define WEFT_POLICY_PREFIX_FULL  96 /* ... and all 16 port bits: one port (lookups use it) */

/* ---- weft_conntrack: LRU_HASH, key struct weft_ct_key, value struct weft_ct_entry ------- */

/* A connection as it left this node through the overlay (weft_track.c), in that
 * direction: saddr is the local end. For ICMP echo the identifier stands in for a port:
 * an echo request is {sport = id, dport = 0}, an echo reply {sport = 0, dport = id}, so
 * that reversing the reply's tuple finds the request's entry. */
struct weft_ct_key {
	__u32 saddr_be;
	__u32 daddr_be;
	__u16 sport_be;
	__u16 dport_be;
	__u8 proto;    /* IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP, IPPROTO_ICMP */
	__u8 pad[3];   /* must be zero */
};

#define WEFT_CT_REPLIED (1u << 0) /* a reply came back: TCP counts as established */
#define WEFT_CT_FIN_OUT (1u << 1) /* TCP FIN sent by the local end */
#define WEFT_CT_FIN_IN  (1u << 2) /* TCP FIN from the remote end */
#define WEFT_CT_RST     (1u << 3) /* TCP RST either way */

struct weft_ct_entry {
	__u64 last_seen_ns; /* bpf_ktime_get_ns() of the last packet either way */
	__u32 flags;        /* WEFT_CT_* */
	__u32 pad;
};

/* Idle timeouts, in seconds (bpf/README.md, "Connection tracking"). */
#define WEFT_CT_TCP_OPENING_S     60    /* SYN sent, nothing back yet */
#define WEFT_CT_TCP_ESTABLISHED_S 21600 /* replied, not closing: 6 h, like Cilium's */
#define WEFT_CT_TCP_CLOSING_S     10    /* RST seen, or FIN both ways */
#define WEFT_CT_OTHER_S           60    /* UDP, SCTP (heartbeats every 30 s), ICMP echo */

/* ---- weft_endpoints: HASH, key __u32 ifindex of a pod veth's node end ------------------ */

#define WEFT_ENDPOINT_CHECK_MAC (1u << 0) /* mac is the pod end's: frames from others drop */

struct weft_endpoint {
	__u32 addr_be; /* the pod's address (network order): its only source */
	__u8 mac[6];   /* the pod end's MAC */
	__u16 flags;   /* WEFT_ENDPOINT_* */
};

/* ---- weft_egress: LPM_TRIE, key struct weft_policy_key, value __u8 (1 = allow) ---------
 * What a local pod (src_identity) may send to dst_identity (WEFT_IDENTITY_ANY: anyone):
 * the same layout and wildcards as weft_policy, with the wildcard on the other side. */

/* ---- weft_counters: PERCPU_ARRAY[WEFT_COUNTER_SLOTS], key __u32 reason ---------------- */

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
	WEFT_PASS_REPLY = 9,
	WEFT_PASS_POD_OUT = 10,
	WEFT_PASS_POD_IN = 11,
	WEFT_DROP_UNSUPPORTED = 12, /* a pod's frame of a kind Weft carries for no pod (IPv6) */
	WEFT_DROP_POLICY_EGRESS = 13, /* the sending pod's egress policy */
	WEFT_REASON_MAX = 14,
};

/* Slots in weft_counters: room for reasons to come, so a new reason does not change the
 * map's definition (a pinned map with another max_entries cannot be reused). */
#define WEFT_COUNTER_SLOTS 16
_Static_assert(WEFT_REASON_MAX <= WEFT_COUNTER_SLOTS, "weft_counters has a slot per reason");

struct weft_counter {
	__u64 packets; /* skbs: GRO may have merged several wire packets into one */
	__u64 bytes;   /* skb->len at tc ingress (from the Ethernet header on) */
};

/* ---- weft_pod_counters: HASH, key __u32 ifindex of a pod veth's node end ---------------
 * The same counters per pod: the agent creates each entry (zeroed) with the pod's
 * weft_endpoints entry and deletes it with the pod; the pods' programs only add to it,
 * atomically (one entry is shared by every CPU). */
struct weft_pod_counters {
	struct weft_counter reason[WEFT_COUNTER_SLOTS];
};

#define WEFT_MARK_NODE_MASK 0xffffu /* node index in the low 16 bits of the SA output-mark */

/* The loader relies on these sizes; fail the build, not the map reuse, if they change. */
_Static_assert(sizeof(struct weft_config) == 16, "weft_config layout");
_Static_assert(sizeof(struct weft_peer) == 8, "weft_peer layout");
_Static_assert(sizeof(struct weft_mac) == 8, "weft_mac layout");
_Static_assert(sizeof(struct weft_lpm_v4) == 8, "weft_lpm_v4 layout");
_Static_assert(sizeof(struct weft_policy_key) == 16, "weft_policy_key layout");
_Static_assert(sizeof(struct weft_counter) == 16, "weft_counter layout");
_Static_assert(sizeof(struct weft_ct_key) == 16, "weft_ct_key layout");
_Static_assert(sizeof(struct weft_ct_entry) == 16, "weft_ct_entry layout");
_Static_assert(sizeof(struct weft_endpoint) == 12, "weft_endpoint layout");
_Static_assert(sizeof(struct weft_pod_counters) == 16 * WEFT_COUNTER_SLOTS, "weft_pod_counters layout");

#ifdef __bpf__

#include <linux/bpf.h>
#include <linux/pkt_cls.h>
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
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct weft_lpm_v4);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} weft_cidrs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} weft_quarantine SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 262144);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct weft_policy_key);
	__type(value, __u8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} weft_policy SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 262144);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct weft_policy_key);
	__type(value, __u8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} weft_egress SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct weft_endpoint);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} weft_endpoints SEC(".maps");

/* Preallocated LRU: when full, the least recently used connections are forgotten (their
 * next reply is judged by policy alone). 65536 x (16 + 16 B + the kernel's ~50 B). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct weft_ct_key);
	__type(value, struct weft_ct_entry);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} weft_conntrack SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct weft_pod_counters);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} weft_pod_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, WEFT_COUNTER_SLOTS);
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

/* Counts the frame under `reason` and returns its fate: TC_ACT_OK for a WEFT_PASS_*
 * reason, TC_ACT_SHOT for the rest. For the programs that count every frame. */
static __always_inline int weft_verdict(struct __sk_buff *skb, __u32 reason)
{
	weft_count(skb, reason);
	switch (reason) {
	case WEFT_PASS_UPLINK:
	case WEFT_PASS_OVERLAY:
	case WEFT_PASS_REPLY:
	case WEFT_PASS_POD_OUT:
	case WEFT_PASS_POD_IN:
		return TC_ACT_OK;
	default:
		return TC_ACT_SHOT;
	}
}

/* weft_verdict for the pods' programs: counted for the pod too (skb->ifindex is its veth's
 * node end at tc ingress and at tc egress alike). */
static __always_inline int weft_pod_verdict(struct __sk_buff *skb, __u32 reason)
{
	__u32 ifindex = skb->ifindex;
	struct weft_pod_counters *pod = bpf_map_lookup_elem(&weft_pod_counters, &ifindex);

	if (pod && reason < WEFT_COUNTER_SLOTS) {
		__sync_fetch_and_add(&pod->reason[reason].packets, 1);
		__sync_fetch_and_add(&pod->reason[reason].bytes, skb->len);
	}
	return weft_verdict(skb, reason);
}

static __always_inline struct weft_config *weft_get_config(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&weft_config, &zero);
}

#endif /* __bpf__ */
#endif /* WEFT_MAPS_H */
