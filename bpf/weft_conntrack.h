/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * weft_conntrack.h: the flow of an IPv4 packet (weft_flow_parse) and Weft's own connection
 * table (weft_conntrack, layouts in weft_maps.h): weft_track.c records what leaves through
 * the overlay, weft_pod_out.c what pods send, weft_pod_in.c what it admits to them under
 * egress enforcement; weft_overlay.c, weft_pod_in.c and weft_pod_out.c let replies back.
 * BPF only: include after weft_maps.h.
 *
 * Why a table of Weft's own and not the kernel's conntrack (bpf_skb_ct_lookup): the
 * filters run at tc, before netfilter, in namespaces where nf_conntrack may not be loaded
 * or hooked at all (no rule needs it); the kfunc needs the kernel's BTF, which these
 * CO-RE-free objects do not use; and one table gives both kernels (Debian's 6.1, the
 * host's 6.18) the same code path and the same test.
 */
#ifndef WEFT_CONNTRACK_H
#define WEFT_CONNTRACK_H

#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_endian.h>

#define WEFT_IP_OFFSET 0x1fff /* fragment offset bits of iphdr.frag_off (host order) */
#define WEFT_ICMP_ECHOREPLY 0
#define WEFT_ICMP_ECHO 8
#define WEFT_ICMP_DEST_UNREACH 3 /* with 11 (time exceeded) and 12 (parameter problem): */
#define WEFT_ICMP_TIME_EXCEEDED 11 /* the errors that quote the packet they answer */
#define WEFT_ICMP_PARAMETERPROB 12
#define WEFT_TCP_FIN 0x01 /* byte 13 of the TCP header */
#define WEFT_TCP_SYN 0x02
#define WEFT_TCP_RST 0x04
#define WEFT_TCP_ACK 0x10
#define WEFT_NS 1000000000ull

struct weft_flow {
	struct weft_ct_key key; /* as the packet goes: saddr/daddr, ports (ICMP echo: the id) */
	__u16 policy_port_be;   /* what weft_policy keys on: TCP/UDP/SCTP dport, 0 otherwise */
	__u8 tcp_flags;
	__u8 tracked;           /* TCP, UDP, SCTP or ICMP echo: weft_conntrack can hold it */
	__u8 echo_reply;        /* ICMP echo reply: only a request starts, only a reply answers */
	__u8 error;             /* an ICMP error: `quoted` is the flow of the packet it quotes */
	struct weft_ct_key quoted;
};

enum weft_parse {
	WEFT_PARSE_OK = 0,
	WEFT_PARSE_MALFORMED = 1, /* an L4 header too short for what is read from it */
	WEFT_PARSE_FRAGMENT = 2,  /* a non-first fragment: no L4 header at all */
};

/* The flow of the packet an ICMP error at `l4` quotes (its IPv4 header and first 8 bytes),
 * as that packet went: an error about what this node sent quotes this node's own tuple,
 * with the error's destination as its source. Not an error one can read: left 0. */
static __always_inline void weft_flow_quoted(struct __sk_buff *skb, const struct iphdr *ip, __u32 l4, struct weft_flow *f)
{
	struct iphdr inner;
	__u8 ports[6];
	__u32 at;

	if (bpf_skb_load_bytes(skb, l4 + 8, &inner, sizeof(inner)) < 0 || inner.version != 4 || inner.ihl < 5)
		return;
	if (inner.saddr != ip->daddr || (inner.frag_off & bpf_htons(WEFT_IP_OFFSET)))
		return;
	at = l4 + 8 + inner.ihl * 4;
	if (bpf_skb_load_bytes(skb, at, ports, 6) < 0)
		return;
	f->quoted.saddr_be = inner.saddr;
	f->quoted.daddr_be = inner.daddr;
	f->quoted.proto = inner.protocol;
	switch (inner.protocol) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
	case IPPROTO_SCTP:
		__builtin_memcpy(&f->quoted.sport_be, &ports[0], 2);
		__builtin_memcpy(&f->quoted.dport_be, &ports[2], 2);
		break;
	case IPPROTO_ICMP:
		if (ports[0] != WEFT_ICMP_ECHO)
			return;
		__builtin_memcpy(&f->quoted.sport_be, &ports[4], 2);
		break;
	default:
		return;
	}
	f->error = 1;
	f->tracked = 1;
}

/* The flow of the IPv4 packet whose header `ip` sits at ETH_HLEN (ihl covers options). */
static __always_inline int weft_flow_parse(struct __sk_buff *skb, const struct iphdr *ip, struct weft_flow *f)
{
	__u32 l4 = ETH_HLEN + ip->ihl * 4;
	__u8 hdr[14]; /* enough for the TCP flags byte (13) */

	__builtin_memset(f, 0, sizeof(*f));
	f->key.saddr_be = ip->saddr;
	f->key.daddr_be = ip->daddr;
	f->key.proto = ip->protocol;
	if (ip->frag_off & bpf_htons(WEFT_IP_OFFSET))
		return WEFT_PARSE_FRAGMENT;
	switch (ip->protocol) {
	case IPPROTO_TCP:
		if (bpf_skb_load_bytes(skb, l4, hdr, 14) < 0)
			return WEFT_PARSE_MALFORMED;
		f->tcp_flags = hdr[13];
		break;
	case IPPROTO_UDP:
	case IPPROTO_SCTP: /* ports first, as UDP's (RFC 9260 3.1) */
		if (bpf_skb_load_bytes(skb, l4, hdr, 4) < 0)
			return WEFT_PARSE_MALFORMED;
		break;
	case IPPROTO_ICMP:
		if (bpf_skb_load_bytes(skb, l4, hdr, 1) < 0)
			return WEFT_PARSE_MALFORMED;
		if (hdr[0] == WEFT_ICMP_DEST_UNREACH || hdr[0] == WEFT_ICMP_TIME_EXCEEDED || hdr[0] == WEFT_ICMP_PARAMETERPROB) {
			weft_flow_quoted(skb, ip, l4, f);
			return WEFT_PARSE_OK;
		}
		if (hdr[0] != WEFT_ICMP_ECHO && hdr[0] != WEFT_ICMP_ECHOREPLY)
			return WEFT_PARSE_OK; /* the rest: not tracked */
		if (bpf_skb_load_bytes(skb, l4 + 4, &f->key.sport_be, 2) < 0)
			return WEFT_PARSE_MALFORMED;
		if (hdr[0] == WEFT_ICMP_ECHOREPLY) {
			f->key.dport_be = f->key.sport_be;
			f->key.sport_be = 0;
			f->echo_reply = 1;
		}
		f->tracked = 1;
		return WEFT_PARSE_OK;
	default:
		return WEFT_PARSE_OK;
	}
	__builtin_memcpy(&f->key.sport_be, &hdr[0], 2);
	__builtin_memcpy(&f->key.dport_be, &hdr[2], 2);
	f->policy_port_be = f->key.dport_be;
	f->tracked = 1;
	return WEFT_PARSE_OK;
}

static __always_inline __u64 weft_ct_timeout_ns(__u8 proto, __u32 flags)
{
	if (proto != IPPROTO_TCP)
		return WEFT_CT_OTHER_S * WEFT_NS;
	if ((flags & WEFT_CT_RST) || ((flags & WEFT_CT_FIN_OUT) && (flags & WEFT_CT_FIN_IN)))
		return WEFT_CT_TCP_CLOSING_S * WEFT_NS;
	if (flags & WEFT_CT_REPLIED)
		return WEFT_CT_TCP_ESTABLISHED_S * WEFT_NS;
	return WEFT_CT_TCP_OPENING_S * WEFT_NS;
}

/* `now` was read before the entry: another CPU may have stamped it later since, and that
 * is a live entry, not one 2^64 ns old (unsigned wrap-around would call it expired). */
static __always_inline int weft_ct_expired(const struct weft_ct_entry *e, __u8 proto, __u64 now)
{
	__u64 seen = e->last_seen_ns;

	return now > seen && now - seen > weft_ct_timeout_ns(proto, e->flags);
}

static __always_inline __u32 weft_ct_tcp_flags(__u8 tcp, __u32 fin)
{
	return (tcp & WEFT_TCP_RST ? WEFT_CT_RST : 0) | (tcp & WEFT_TCP_FIN ? fin : 0);
}

/* A packet that passed (leaving through the overlay, sent by a pod, or admitted to a pod
 * whose node enforces egress): start or refresh its connection, keyed as the packet went.
 * A SYN without ACK, or any packet of an expired entry, starts the connection afresh; a
 * lone RST, an echo reply and an ICMP error start none. */
static __always_inline void weft_ct_track(const struct weft_flow *f)
{
	struct weft_ct_entry *e = bpf_map_lookup_elem(&weft_conntrack, &f->key);
	__u64 now = bpf_ktime_get_ns();
	__u32 flags = weft_ct_tcp_flags(f->tcp_flags, WEFT_CT_FIN_OUT);
	struct weft_ct_entry fresh = { .last_seen_ns = now, .flags = flags };
	__u8 syn = (f->tcp_flags & (WEFT_TCP_SYN | WEFT_TCP_ACK)) == WEFT_TCP_SYN;

	if (f->key.proto == IPPROTO_ICMP && (f->echo_reply || f->error))
		return; /* answering a ping, or an error about a packet, starts nothing */
	if (e && !syn && !weft_ct_expired(e, f->key.proto, now)) {
		e->last_seen_ns = now; /* racy with other CPUs, harmlessly: a timestamp and bits */
		e->flags |= flags;
		return;
	}
	if (f->key.proto == IPPROTO_TCP && (f->tcp_flags & WEFT_TCP_RST))
		return;
	bpf_map_update_elem(&weft_conntrack, &f->key, &fresh, BPF_ANY);
}

/* An ICMP error about a packet of a live connection this node started (PMTU's "need to
 * frag", "port unreachable"): related to it, so it passes; the entry is left as it is. */
static __always_inline int weft_ct_is_related(const struct weft_flow *f)
{
	struct weft_ct_entry *e = bpf_map_lookup_elem(&weft_conntrack, &f->quoted);

	return e && !weft_ct_expired(e, f->quoted.proto, bpf_ktime_get_ns());
}

/* Is this packet a reply of a live connection (one its destination sent, as recorded by
 * weft_ct_track), or an ICMP error about one? Refreshes the entry of a reply; forgets an
 * expired one. */
static __always_inline int weft_ct_is_reply(const struct weft_flow *f)
{
	if (f->error)
		return weft_ct_is_related(f);
	struct weft_ct_key back = {
		.saddr_be = f->key.daddr_be, .daddr_be = f->key.saddr_be,
		.sport_be = f->key.dport_be, .dport_be = f->key.sport_be, .proto = f->key.proto,
	};
	struct weft_ct_entry *e = bpf_map_lookup_elem(&weft_conntrack, &back);
	__u64 now = bpf_ktime_get_ns();

	if (!e || (back.proto == IPPROTO_ICMP && !f->echo_reply))
		return 0;
	if (weft_ct_expired(e, back.proto, now)) {
		bpf_map_delete_elem(&weft_conntrack, &back);
		return 0;
	}
	e->last_seen_ns = now;
	e->flags |= WEFT_CT_REPLIED | weft_ct_tcp_flags(f->tcp_flags, WEFT_CT_FIN_IN);
	return 1;
}

#endif /* WEFT_CONNTRACK_H */
